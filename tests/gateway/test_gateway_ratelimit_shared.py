"""A principal's rate limit holds across gateways sharing one NATS (issue 14, point 7), and
each gateway falls back to its own limit while NATS is away.

Real processes: core and two gateways under `python -m stack.serve` (as `erp up` starts them)
on this run's database, and a NATS of this module's own (the tests stop and restart it), plus
two limiters in this process on that NATS for the compare-and-set race. No stand-ins.

Tolerance (`gateway/ratelimit_shared.py`): a principal gets at most the limit, plus the
refill while the test runs, plus one batch per gateway (tokens a gateway took but had not
spent); and at least the limit minus what the gateways still hold at the end (under a batch
each).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from common.nats import NatsLink
from gateway.ratelimit_shared import SharedRateLimiter, batch_for
from stack.nats import EmbeddedNats
from tests.security.conftest import PASSWORD, Server, token
from tests.security.launch_support import launch

LIMIT = 60  # requests a minute per principal: one more each second
BATCH = batch_for(LIMIT, 10)  # 3: at most 1/20 of the limit
GATEWAYS = 2

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """A JetStream server for this module alone: the tests stop and restart it."""
    server = EmbeddedNats(tmp_path_factory.mktemp("ratelimit-nats"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def limited_core(app: Any) -> Iterator[Server]:
    """Core on this run's database (the `app` fixture has migrated it)."""
    server = launch("core", {})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateways(limited_core: Server, own_nats: EmbeddedNats) -> Iterator[list[Server]]:
    """Two gateways in front of the one core, sharing limits of `LIMIT` through `own_nats`
    (a bucket of their own), each connected to NATS before the tests begin."""
    env = {
        "ERP_CORE_URL": limited_core.url,
        "NATS_URL": own_nats.url,
        "ERP_RATE_LIMIT": str(LIMIT),
        "ERP_RATE_LIMIT_BUCKET": f"test_{secrets.token_hex(4)}",
        "ERP_LOG_LEVEL": "INFO",
    }
    started = [launch("gateway", env) for _ in range(GATEWAYS)]
    try:
        for server in started:
            wait_for(lambda s=server: "nats connected" in s.log(), f"{server.name} on NATS")
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture
async def user_headers(app: Any, limited_core: Server) -> dict[str, str]:
    """A fresh signed-in user (a principal with a bucket of its own in every test)."""
    from core.identity.bootstrap import ensure_user

    username = f"rl-{secrets.token_hex(4)}"
    await ensure_user(username, PASSWORD, "sales")
    return await asyncio.to_thread(token, limited_core.api, username)


def wait_for(condition: Any, what: str, within: float = 20.0) -> None:
    """Poll `condition()` until it is true; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


async def spread(
    servers: list[Server], headers: dict[str, str], count: int, workers: int = 6
) -> tuple[list[int], float]:
    """Send `count` requests for `GET /me` as `headers`, round-robin over `servers`, from
    `workers` concurrent clients; the statuses and the seconds it took."""
    statuses: list[int] = []
    queue = iter(range(count))
    started = time.monotonic()

    async def worker(client: httpx.AsyncClient) -> None:
        for n in queue:
            url = servers[n % len(servers)].api + "/me"
            statuses.append((await client.get(url, headers=headers)).status_code)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(workers)))
    return statuses, time.monotonic() - started


def refill(elapsed: float) -> int:
    """Tokens a bucket of `LIMIT` regains in `elapsed` seconds, rounded up."""
    return math.ceil(elapsed * LIMIT / 60)


async def test_one_principal_gets_the_limit_once_across_two_gateways(
    gateways: list[Server], user_headers: dict[str, str]
) -> None:
    # given two gateways limiting a principal to 60 a minute, sharing one NATS
    # when one signed-in user sends 150 requests, spread over both, six at a time
    statuses, elapsed = await spread(gateways, user_headers, 150)
    # then the two together let through the limit once (not once each), within the tolerance
    accepted = statuses.count(200)
    assert set(statuses) == {200, 429}, statuses
    assert accepted <= LIMIT + refill(elapsed) + GATEWAYS * BATCH, (accepted, elapsed)
    assert accepted >= LIMIT - GATEWAYS * BATCH, (accepted, elapsed)


async def test_a_refusal_is_the_contracts_problem_with_retry_after(
    gateways: list[Server], user_headers: dict[str, str]
) -> None:
    # given a principal that has used its shared limit through both gateways
    await spread(gateways, user_headers, LIMIT + GATEWAYS * BATCH)
    # when it goes on asking both in turn (refill may let a few more through on a slow machine)
    refusals: dict[str, httpx.Response] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for n in range(LIMIT):
            server = gateways[n % GATEWAYS]
            answer = await client.get(server.api + "/me", headers=user_headers)
            if answer.status_code == 429:
                refusals.setdefault(server.url, answer)
            if len(refusals) == GATEWAYS:
                break
    # then each refuses with the contract's 429 problem, with Retry-After in whole seconds
    assert len(refusals) == GATEWAYS
    for answer in refusals.values():
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "rate_limited"
        assert int(answer.headers["retry-after"]) >= 1


async def test_without_nats_each_gateway_answers_within_its_own_limit(
    gateways: list[Server], own_nats: EmbeddedNats, user_headers: dict[str, str]
) -> None:
    # given the two gateways, and NATS stopped under them
    own_nats.stop()
    try:
        for server in gateways:
            wait_for(lambda s=server: "nats disconnected" in s.log(), f"{server.name} off NATS")
        # when one user sends 90 requests to each gateway
        per_gateway = [await spread([server], user_headers, 90) for server in gateways]
    finally:
        own_nats.start()
    # then every request was answered, and each gateway let through its own limit
    for statuses, elapsed in per_gateway:
        assert set(statuses) == {200, 429}, statuses
        assert LIMIT <= statuses.count(200) <= LIMIT + refill(elapsed), (statuses, elapsed)
    for server in gateways:
        assert "shared rate limits unavailable, limiting per gateway" in server.log()


async def test_after_nats_returns_the_limit_is_shared_again(
    app: Any, gateways: list[Server], own_nats: EmbeddedNats, limited_core: Server
) -> None:
    # given NATS stopped and started again (its in-memory bucket gone), gateways reconnected
    before = [server.log().count("nats reconnected") for server in gateways]
    own_nats.stop()
    own_nats.start()
    for server, seen in zip(gateways, before, strict=True):
        back = lambda s=server, n=seen: s.log().count("nats reconnected") > n  # noqa: E731
        wait_for(back, f"{server.name} back on NATS")
    from core.identity.bootstrap import ensure_user

    username = f"rl-{secrets.token_hex(4)}"
    await ensure_user(username, PASSWORD, "sales")
    headers = await asyncio.to_thread(token, limited_core.api, username)
    # when a new user spreads 150 requests over both, once the gateways have tried NATS again
    await asyncio.sleep(2.5)  # past the fall-back's retry (`RETRY`, 2 s)
    statuses, elapsed = await spread(gateways, headers, 150)
    # then the limit holds across both again
    accepted = statuses.count(200)
    assert set(statuses) == {200, 429}, statuses
    assert accepted <= LIMIT + refill(elapsed) + GATEWAYS * BATCH, (accepted, elapsed)


@pytest.fixture
async def two_links(own_nats: EmbeddedNats) -> AsyncIterator[list[NatsLink]]:
    """Two connections to `own_nats`, as two gateways hold (connected when yielded)."""
    links = [NatsLink(own_nats.url, f"rl-{n}", logging.getLogger("test")) for n in range(2)]
    for link in links:
        link.start()
    deadline = time.monotonic() + 10
    while not all(link.connected for link in links):
        assert time.monotonic() < deadline, "no NATS connection"
        await asyncio.sleep(0.02)
    yield links
    for link in links:
        await link.close()


async def test_racing_limiters_never_hand_out_a_token_twice(two_links: list[NatsLink]) -> None:
    # given two limiters of 600 a minute taking one token per request (no batch to hide in)
    bucket = f"test_{secrets.token_hex(4)}"
    limiters = [SharedRateLimiter(600, link, bucket, 1) for link in two_links]

    # when 700 requests for one key come, half through each limiter, 20 at a time
    async def one(n: int) -> float:
        return await limiters[n % 2].take("sub:racer")

    started = time.monotonic()
    waits: list[float] = []
    for chunk in range(0, 700, 20):
        waits += await asyncio.gather(*(one(n) for n in range(chunk, chunk + 20)))
    elapsed = time.monotonic() - started
    # then no more than the 600 (and what refilled meanwhile) were allowed, every refusal has a
    # wait, and both limiters stayed on the store (no fall-back to their own buckets)
    allowed = waits.count(0.0)
    assert 600 <= allowed <= 600 + math.ceil(elapsed * 10), (allowed, elapsed)
    assert all(w > 0 for w in waits if w != 0.0)
    assert all(limiter.sharing for limiter in limiters)


async def test_a_limiter_without_nats_falls_back_at_once() -> None:
    # given a limiter whose NATS never answers (nothing listens on its port)
    link = NatsLink("nats://127.0.0.1:9", "rl-none", logging.getLogger("test"))
    link.start()
    limiter = SharedRateLimiter(60, link, "test_none", 10)
    try:
        # when 61 requests for one key come
        started = time.monotonic()
        waits = [await limiter.take("sub:alone") for _ in range(61)]
        # then its own bucket answered them at once: 60 allowed, the 61st told to wait
        assert time.monotonic() - started < 1
        assert waits[:60] == [0.0] * 60 and waits[60] > 0
    finally:
        await link.close()


async def test_a_frozen_nats_costs_one_timeout_not_one_per_waiting_request(
    two_links: list[NatsLink], own_nats: EmbeddedNats
) -> None:
    # given a limiter on a NATS that answered, and then froze (SIGSTOP: connected, silent)
    limiter = SharedRateLimiter(600, two_links[0], f"test_{secrets.token_hex(4)}", 10)
    assert await limiter.take("sub:warm") == 0.0
    assert own_nats.process is not None
    pid = own_nats.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        # when 20 requests of one principal come at once
        started = time.monotonic()
        waits = await asyncio.gather(*(limiter.take("sub:frozen") for _ in range(20)))
        took = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    # then the first one's timeout (0.5 s) sent them all to the local bucket, which let them in
    assert waits == [0.0] * 20
    assert took < 2.0, took
    assert not limiter.sharing
