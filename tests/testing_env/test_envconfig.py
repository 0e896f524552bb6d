"""envconfig: a Temporal sample's main() reads its client configuration and connects."""

from __future__ import annotations

import asyncio

import pytest

from durable_workflows.client import AsyncClient, Client
from durable_workflows.envconfig import ClientConfig


def test_a_samples_connect_config_connects_to_this_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
    config = ClientConfig.load_client_connect_config()
    assert config == {"target_host": "temporal.example:7233"}
    config.setdefault("target_host", "localhost:7233")  # what every sample does next
    client = asyncio.run(Client.connect(**config))
    assert isinstance(client, AsyncClient)


def test_without_environment_the_config_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.delenv("TEMPORAL_NAMESPACE", raising=False)
    assert ClientConfig.load_client_connect_config() == {}
