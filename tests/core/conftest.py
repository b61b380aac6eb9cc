"""Fixtures for API tests: an in-process client and logged-in users of every role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.core.helpers import PASSWORD, login, make_user


@pytest.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://core/api/v1") as c:
        yield c


@pytest.fixture(scope="session")
async def admin(app: Any, client: httpx.AsyncClient) -> dict[str, str]:
    from core.identity.bootstrap import ensure_user

    await ensure_user("root", PASSWORD, "admin")
    return await login(client, "root")


@pytest.fixture(scope="session")
async def sales(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    return await make_user(client, admin, "sales")


@pytest.fixture(scope="session")
async def warehouse(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    return await make_user(client, admin, "warehouse")
