"""The role of ``temporalio.envconfig``: client configuration for ``Client.connect``.

Temporal's samples start with ``ClientConfig.load_client_connect_config()`` and pass the
result to ``Client.connect(**config)``. Here the Django database is the server, so the
configuration carries nothing ``connect`` needs: it is read (from ``TEMPORAL_ADDRESS`` and
``TEMPORAL_NAMESPACE``, as Temporal's is, so printing it shows the familiar keys) and then
ignored. A sample's ``main()`` runs unchanged but for its imports.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["ClientConfig", "ClientConfigProfile"]


class ClientConfigProfile:
    """One profile of client configuration (Temporal's shape; its values are ignored)."""

    def __init__(self, address: str | None = None, namespace: str | None = None) -> None:
        self.address = address
        self.namespace = namespace

    def to_client_connect_config(self) -> dict[str, Any]:
        """Keyword arguments for ``Client.connect`` (which accepts and ignores them)."""
        config: dict[str, Any] = {}
        if self.address:
            config["target_host"] = self.address
        if self.namespace:
            config["namespace"] = self.namespace
        return config


class ClientConfig:
    """Temporal's entry point for loading client configuration."""

    @staticmethod
    def load_client_connect_config(profile: str | None = None, **_ignored: Any) -> dict[str, Any]:
        """Keyword arguments for ``Client.connect``: the address and namespace from the
        environment, as Temporal reads them; ``Client.connect`` ignores them."""
        return ClientConfigProfile(
            address=os.environ.get("TEMPORAL_ADDRESS"),
            namespace=os.environ.get("TEMPORAL_NAMESPACE"),
        ).to_client_connect_config()
