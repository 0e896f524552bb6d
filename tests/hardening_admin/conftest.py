"""The API's and the admin's fixtures (users with chosen permissions, logged-in clients)."""

from tests.admin.conftest import login, superuser_client
from tests.api.conftest import admin_api, api_as

__all__ = ["admin_api", "api_as", "login", "superuser_client"]
