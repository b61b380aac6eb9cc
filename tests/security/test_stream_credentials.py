"""Issue 7, item 5 (the stream's part): open event streams do not outlive their credential.

The gateway re-checks every open stream's credential with core's `GET /me` each
`ERP_SSE_RECHECK` seconds (1 s here), once per credential however many streams share it, and
ends the streams core now refuses (a deactivated user, a revoked key) or whose principal
changed; while core cannot be asked, the streams go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.principal import Principal, fetch_principal
from gateway.proxy import Proxy
from gateway.settings import GatewaySettings
from gateway.watch import CredentialWatch
from stack.ports import free_port
from tests.core.helpers import PASSWORD, login, make_user, new_customer, new_product, unique
from tests.gateway.stream_support import STREAM_PATH, SseReader, open_stream
from tests.security.conftest import Server, StartGateway

H = dict[str, str]
WITHIN = 10.0  # seconds: a recheck every second, with a wide margin for a loaded machine


@pytest.fixture(scope="module")
def gateway(start_gateway: StartGateway, stack: Server) -> Server:
    """A gateway that re-checks open streams' credentials every second (the relay runs)."""
    return start_gateway(ERP_SSE_RECHECK="1")


@pytest.fixture
async def api(gateway: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.api, timeout=30) as client:
        yield client


@pytest.fixture
async def gw(gateway: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        yield client


@pytest.fixture
async def admin(api: httpx.AsyncClient, sec_admin: H) -> H:
    return await login(api, sec_admin["username"], sec_admin["password"])


async def new_user(api: httpx.AsyncClient, admin: H, role: str) -> tuple[str, H]:
    """A new user's id and the auth headers of its login."""
    username = unique(role).lower()
    body = {"username": username, "password": PASSWORD, "role": role}
    r = await api.post("/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()["id"], await login(api, username)


async def ended(stream: SseReader, within: float = WITHIN) -> float:
    """Seconds until the server ends the stream (events on the way are skipped)."""
    start = time.monotonic()
    try:
        async with asyncio.timeout(within):
            while True:
                await stream.next(within)
    except StopAsyncIteration:
        return time.monotonic() - start


async def test_deactivating_a_user_ends_its_open_streams_within_seconds(
    api: httpx.AsyncClient, gw: httpx.AsyncClient, admin: H
) -> None:
    # given a user with two streams open on one token, and another user's stream
    user_id, user = await new_user(api, admin, "warehouse")
    bystander = await make_user(api, admin, "warehouse")
    async with (
        open_stream(gw, user) as first,
        open_stream(gw, user) as second,
        open_stream(gw, bystander) as other,
    ):
        # when admin deactivates the user
        r = await api.patch(f"/users/{user_id}", json={"active": False}, headers=admin)
        assert r.status_code == 200, r.text
        # then both its streams end within seconds, saying why
        assert await ended(first) < WITHIN
        assert await ended(second) < WITHIN
        assert "ended: the credential is no longer accepted" in first.comments
        # and the other user's stream goes on
        product = await new_product(api, admin)
        await other.until(lambda e: e.data["subject"] == product["id"])
    # and reconnecting with the old token is refused
    r = await gw.get(STREAM_PATH, headers=user)
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


async def test_revoking_a_key_ends_its_open_stream_within_seconds(
    api: httpx.AsyncClient, gw: httpx.AsyncClient, admin: H
) -> None:
    # given an integration key streaming as a browser's EventSource would (?access_token=)
    body = {"name": unique("stream"), "scopes": ["events:read", "products:read"]}
    r = await api.post("/api-keys", json=body, headers=admin)
    assert r.status_code == 201, r.text
    key_id, key = r.json()["id"], r.json()["key"]
    async with open_stream(gw, access_token=key) as stream:
        # when admin revokes the key
        r = await api.delete(f"/api-keys/{key_id}", headers=admin)
        assert r.status_code == 204, r.text
        # then the stream ends within seconds
        assert await ended(stream) < WITHIN
    # and EventSource's reconnect gets 401
    r = await gw.get(STREAM_PATH, params={"access_token": key})
    assert r.status_code == 401


async def test_changing_a_users_role_ends_its_stream_and_a_new_sign_in_sees_anew(
    api: httpx.AsyncClient, gw: httpx.AsyncClient, admin: H
) -> None:
    # given a warehouse user streaming customer events (which warehouse may not see)
    username = unique("warehouse").lower()
    body = {"username": username, "password": PASSWORD, "role": "warehouse"}
    r = await api.post("/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    user = await login(api, username)
    async with open_stream(gw, user, types="erp.customer.") as stream:
        # when admin makes the user sales (which ends every token issued before)
        r = await api.patch(f"/users/{r.json()['id']}", json={"role": "sales"}, headers=admin)
        assert r.status_code == 200, r.text
        # then the stream ends within seconds, and the old token cannot reopen it
        assert await ended(stream) < WITHIN
        assert "ended: the credential is no longer accepted" in stream.comments
    refused = await gw.get("/api/v1/events/stream", headers=user)
    assert refused.status_code == 401
    # and a new sign-in streams what sales may see
    async with open_stream(gw, await login(api, username), types="erp.customer.") as stream:
        customer = await new_customer(api, admin, unique("Seen"))
        await stream.until(lambda e: e.data["subject"] == customer["id"])


async def test_changing_a_password_ends_the_streams_of_earlier_tokens(
    api: httpx.AsyncClient, gw: httpx.AsyncClient, admin: H
) -> None:
    # given a user streaming on a token issued before its password changes
    user_id, user = await new_user(api, admin, "sales")
    async with open_stream(gw, user) as stream:
        # when the password is changed
        new = {"password": "another horse battery"}
        r = await api.patch(f"/users/{user_id}", json=new, headers=admin)
        assert r.status_code == 200, r.text
        # then the stream ends within seconds, and the old token cannot reopen it
        assert await ended(stream) < WITHIN
        assert "ended: the credential is no longer accepted" in stream.comments
    refused = await gw.get("/api/v1/events/stream", headers=user)
    assert refused.status_code == 401


@pytest.fixture
async def proxy(core_server: Server) -> AsyncIterator[Proxy]:
    """The gateway's own HTTP client to the real core, counting the requests it makes."""
    proxy = Proxy(GatewaySettings(core_url=core_server.url))
    await proxy.start()
    yield proxy
    await proxy.close()


async def test_streams_sharing_a_credential_cost_one_check_per_round(
    proxy: Proxy, core_server: Server, admin: H
) -> None:
    # given five streams on one credential and one on another, as core describes them
    calls: list[str] = []

    async def count(request: httpx.Request) -> None:
        calls.append(request.url.path)

    proxy.client.event_hooks["request"].append(count)
    other = await make_user_on(core_server, admin)
    watch = CredentialWatch(proxy, interval=3600)  # rounds are run by hand below
    watched = []
    for credential in [admin["Authorization"]] * 5 + [other["Authorization"]]:
        principal = await fetch_principal(proxy.client, credential, "test")
        watched.append(watch.watch(credential, principal))
    calls.clear()
    # when the watch makes one round
    await watch.check_all()
    await watch.close()
    # then core was asked once per credential, and both are still good
    assert calls == ["/api/v1/me", "/api/v1/me"]
    assert not any(w.ended.is_set() for w in watched)


async def test_streams_go_on_while_core_cannot_be_asked(admin: H) -> None:
    # given a stream whose gateway cannot reach core (nothing listens there)
    proxy = Proxy(GatewaySettings(core_url=f"http://127.0.0.1:{free_port()}"))
    await proxy.start()
    watch = CredentialWatch(proxy, interval=3600)
    watched = watch.watch(admin["Authorization"], Principal(role="admin"))
    # when the watch makes a round
    await watch.check_all()
    await watch.close()
    await proxy.close()
    # then the stream is not ended: a blip of core must not cut every client
    assert not watched.ended.is_set()


async def make_user_on(core_server: Server, admin: H) -> H:
    async with httpx.AsyncClient(base_url=core_server.api, timeout=30) as core:
        return await make_user(core, admin, "sales")


def test_the_recheck_interval_is_a_setting() -> None:
    # given the gateway's environment, with and without ERP_SSE_RECHECK
    base: dict[str, Any] = {"ERP_CORE_URL": "http://core"}
    # when the settings are read
    default = GatewaySettings.from_env(base)
    quick = GatewaySettings.from_env({**base, "ERP_SSE_RECHECK": "0.5"})
    # then the default is five seconds and the variable sets it
    assert default.sse_recheck == 5.0 and quick.sse_recheck == 0.5
