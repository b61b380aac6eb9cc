"""A gateway in front of several cores (`ERP_CORE_URL` with a list; issue 14, point 6).

First against small raw HTTP servers standing in for cores (each answers with its own name, or
drops every request unanswered), with the gateway in-process: requests are spread, a refused
connection goes to the next core, a dropped request is sent again only when that cannot apply
it twice, and a core that was down is probed back. Then for real: two gateways in front of two
cores on this run's database, one core killed with SIGKILL in the middle of a load of reads and
keyed orders; no client sees a 502, and every keyed order exists exactly once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.cores import DOWN_FOR, PROBE_EVERY, CorePool
from stack.env import PROJECT_ROOT
from tests.core.helpers import new_bins, new_customer, new_product, stock_up
from tests.gateway.gateway_support import GatewayFactory, free_port
from tests.security.conftest import Server, spawn, token


class StandIn:
    """A raw HTTP/1.1 server on a loopback port standing in for a core: it answers every
    request with `{"core": name}` (keep-alive), or, when `drops`, reads each request and closes
    the connection without a byte of answer. `seen` lists (method, path) of what it read."""

    def __init__(self, name: str, drops: bool = False, port: int | None = None) -> None:
        self.name = name
        self.drops = drops
        self.port = port or free_port()
        self.seen: list[tuple[str, str]] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> StandIn:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ")
                length = next(
                    (int(v) for k, _, v in (line.partition(":") for line in lines[1:])
                     if k.strip().lower() == "content-length"),
                    0,
                )  # fmt: skip
                await reader.readexactly(length)
                self.seen.append((method, path))
                if self.drops:
                    return
                body = json.dumps({"core": self.name}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def core_of(response: httpx.Response) -> str:
    """The name of the stand-in that answered."""
    assert response.status_code == 200, response.text
    return str(response.json()["core"])


async def test_requests_are_spread_over_the_cores(gateway: GatewayFactory) -> None:
    a, b = await StandIn("a").start(), await StandIn("b").start()
    try:
        async with gateway(core_url=f"{a.url},{b.url}") as gw:
            answered = Counter([core_of(await gw.get(f"/api/v1/x/{i}")) for i in range(20)])
    finally:
        await a.stop()
        await b.stop()

    assert answered == {"a": 10, "b": 10}


async def test_a_refused_connection_goes_to_the_next_core_whatever_the_method(
    gateway: GatewayFactory,
) -> None:
    # given a gateway whose first core does not listen
    b = await StandIn("b").start()
    try:
        async with gateway(core_url=f"http://127.0.0.1:{free_port()},{b.url}") as gw:
            # when reads and unkeyed writes are sent
            answers = [await gw.get("/api/v1/x/1"), await gw.post("/api/v1/x/2", json={})]
            answers += [await gw.delete(f"/api/v1/x/{i}") for i in range(3, 6)]
    finally:
        await b.stop()

    # then the live core answered them all, each once (nothing had reached the other)
    assert [core_of(r) for r in answers] == ["b"] * 5
    assert [path for _, path in b.seen] == [f"/api/v1/x/{i}" for i in range(1, 6)]


async def test_a_dropped_request_is_sent_again_only_when_that_cannot_apply_it_twice(
    gateway: GatewayFactory,
) -> None:
    # given two cores, one of which drops every request before answering
    dropper, good = await StandIn("dropper", drops=True).start(), await StandIn("good").start()
    keyed = {"Idempotency-Key": secrets.token_hex(8)}
    statuses: dict[str, int] = {}
    try:
        async with gateway(core_url=f"{dropper.url},{good.url}") as gw:
            for i in range(6):  # round-robin: half of them go to the dropper first
                for kind, send in {
                    "get": lambda p: gw.get(p),
                    "keyed": lambda p: gw.post(p, json={}, headers=keyed),
                    "plain": lambda p: gw.post(p, json={}),
                    "delete": lambda p: gw.delete(p),
                }.items():
                    path = f"/api/v1/{kind}/{i}"
                    statuses[path] = (await send(path)).status_code
    finally:
        await dropper.stop()
        await good.stop()

    dropped = {path for _, path in dropper.seen}
    answered = Counter(path for _, path in good.seen)
    assert dropped, "no request went to the dropping core first"
    for path, status in statuses.items():
        if path.split("/")[3] in ("get", "keyed"):
            # reads and keyed writes: answered by the other core, once
            assert (status, answered[path]) == (200, 1), path
        elif path in dropped:
            # an unkeyed write core may have applied: a 502, never sent to another core
            assert (status, answered[path]) == (502, 0), path
        else:
            assert (status, answered[path]) == (200, 1), path


async def test_a_core_that_was_down_is_probed_back(gateway: GatewayFactory) -> None:
    # given a gateway in front of a live core and one not started yet
    a = await StandIn("a").start()
    b = StandIn("b")
    try:
        async with gateway(core_url=f"{a.url},{b.url}") as gw:
            first = Counter([core_of(await gw.get("/api/v1/x")) for _ in range(6)])
            # when the second core starts, and its probe is due
            await b.start()
            await asyncio.sleep(DOWN_FOR + 3 * PROBE_EVERY)
            b.seen.clear()
            then = Counter([core_of(await gw.get("/api/v1/x")) for _ in range(6)])
    finally:
        await a.stop()
        await b.stop()

    # then it gets its share again, and its probe did not count as a request
    assert first == {"a": 6}
    assert then == {"a": 3, "b": 3}
    assert b.seen == [("GET", "/api/v1/x")] * 3


def test_a_failing_core_waits_longer_after_each_failure_in_a_row() -> None:
    now = [100.0]
    pool = CorePool(["http://a", "http://b"], clock=lambda: now[0])
    a, b = pool.cores
    pool.failed(a)
    assert a.probe_at == 100.0 + DOWN_FOR
    assert not pool.probe_due()
    now[0] += DOWN_FOR
    assert pool.probe_due() == [a]
    pool.failed(a)  # its probe failed
    assert a.probe_at == now[0] + 2 * DOWN_FOR
    # a down core is tried last, never first
    assert all(pool.candidates() == [b, a] for _ in range(4))
    pool.answered(a)
    assert {pool.candidates()[0].url for _ in range(2)} == {"http://a", "http://b"}


# --- for real: two gateways, two cores, one killed ------------------------------------------

LOAD_SECONDS = 8.0
KILL_AFTER = 2.5


@pytest.fixture
async def two_by_two(app: Any) -> AsyncIterator[tuple[list[Server], list[Server], dict[str, str]]]:
    """Two cores on this run's database and two gateways each listing both; an admin's
    headers. Everything is stopped at the end."""
    from core.identity.bootstrap import ensure_user

    username = f"cores-admin-{secrets.token_hex(3)}"
    await ensure_user(username, "correct horse battery", "admin")
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL"}
    env.update(PYTHONPATH=str(PROJECT_ROOT), ERP_RATE_LIMIT="0")
    started: list[Server] = []
    try:
        cores = []
        for name in ("core-a", "core-b"):
            cores.append(await asyncio.to_thread(spawn, name, "core.app:create_app", env))
            started.append(cores[-1])
        listed = ",".join(core.url for core in cores)
        gateways = []
        for name in ("gateway-a", "gateway-b"):
            gw_env = {**env, "ERP_CORE_URL": listed}
            gateways.append(await asyncio.to_thread(spawn, name, "gateway.app:create_app", gw_env))
            started.append(gateways[-1])
        headers = await asyncio.to_thread(token, gateways[0].api, username)
        yield cores, gateways, headers
    finally:
        for server in started:
            await asyncio.to_thread(server.stop)


@pytest.mark.stack
async def test_killing_a_core_mid_load_costs_no_client_a_502_nor_an_order_twice(
    two_by_two: tuple[list[Server], list[Server], dict[str, str]],
) -> None:
    cores, gateways, admin = two_by_two
    async with httpx.AsyncClient(base_url=gateways[0].api, headers=admin, timeout=60) as setup:
        customer = await new_customer(setup, {}, f"Cores {secrets.token_hex(3)}")
        products = [await new_product(setup, {}) for _ in range(3)]
        (bin_id,) = await new_bins(setup, {}, 1)
        for product in products:
            await stock_up(setup, {}, product["id"], bin_id, 100_000)
    order = {
        "customer_id": customer["id"],
        "lines": [{"product_id": p["id"], "quantity": 1} for p in products],
        "confirm": True,
    }
    failures: list[str] = []
    placed: dict[str, str] = {}  # Idempotency-Key -> the order id its answer named
    reads = Counter[int]()
    stop_at = time.monotonic() + LOAD_SECONDS

    async def client(gateway: Server, n: int) -> None:
        async with httpx.AsyncClient(base_url=gateway.api, headers=admin, timeout=60) as api:
            for i in itertools.count():
                if time.monotonic() > stop_at:
                    return
                if i % 2:
                    r = await api.get("/products", params={"limit": 20})
                    reads[r.status_code] += 1
                    if r.status_code != 200:
                        failures.append(f"read: {r.status_code} {r.text[:200]}")
                    continue
                key = f"cores-{n}-{i}-{secrets.token_hex(4)}"
                r = await api.post("/sales-orders", json=order, headers={"Idempotency-Key": key})
                if r.status_code != 201:
                    failures.append(f"order {key}: {r.status_code} {r.text[:200]}")
                else:
                    placed[key] = r.json()["id"]

    async def kill_one() -> None:
        await asyncio.sleep(KILL_AFTER)
        cores[0].stop(sig_kill=True)

    await asyncio.gather(kill_one(), *(client(gateways[n % 2], n) for n in range(8)))

    assert cores[0].process.returncode == -9  # it was killed, not stopped
    assert not failures, failures[:10]
    assert reads[200] > 0 and len(placed) > 0
    # every keyed order exists exactly once
    async with httpx.AsyncClient(base_url=gateways[1].api, headers=admin, timeout=60) as api:
        ids: list[str] = []
        params: dict[str, Any] = {"customer_id": customer["id"], "limit": 200}
        while True:
            page = (await api.get("/sales-orders", params=params)).json()
            ids += [o["id"] for o in page["items"]]
            if not page.get("next_cursor"):
                break
            params["cursor"] = page["next_cursor"]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(placed.values())
