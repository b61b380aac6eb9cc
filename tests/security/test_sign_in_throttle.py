"""Issue 7, item 3 (core part): sign-in has its own throttle per username and per client address.

Attacked over loopback as the issue's attacker did (191 guesses a minute from one address): a
throttled core of our own (small limits and delays through `ERP_SIGNIN_*`, trusting only the
gateway's 127.0.0.1 for `X-Forwarded-For`), reached directly and through a gateway, and the
session's core with the default settings. Every test sends from a loopback address of its own
(127.x.y.z) and uses fresh usernames, so tests never share a count, here or elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from core.identity.bootstrap import ensure_user
from stack.env import PROJECT_ROOT
from tests.security.conftest import PASSWORD, Server, StartGateway, spawn

USER_LIMIT, ADDRESS_LIMIT = 3, 8
LIMITS = {
    "ERP_SIGNIN_USER_LIMIT": str(USER_LIMIT),
    "ERP_SIGNIN_ADDRESS_LIMIT": str(ADDRESS_LIMIT),
    "ERP_SIGNIN_DELAY": "1",
    "ERP_SIGNIN_DELAY_MAX": "2",
    "ERP_SIGNIN_FORGET": "60",
}
WRONG = "not the password"
TRUST_LOOPBACK: list[str] = []  # core trusts the gateway on loopback by default, as deployed


@pytest.fixture(scope="module")
def throttled_core(core_server: Server) -> Iterator[Server]:
    """A core with small limits, on the run's database, trusting the gateway's address."""
    env = {**core_server.env, **LIMITS}
    server = spawn("core-throttle", "core.app:create_app", env, extra_args=TRUST_LOOPBACK)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def throttled_gateway(throttled_core: Server) -> Iterator[Server]:
    """A gateway (rate limit off) in front of the throttled core."""
    env = {
        **os.environ,
        "ERP_CORE_URL": throttled_core.url,
        "NATS_URL": throttled_core.env["NATS_URL"],
        "ERP_RATE_LIMIT": "0",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    server = spawn("gateway-throttle", "gateway.app:create_app", env)
    yield server
    server.stop()


@pytest.fixture(params=["core", "gateway"])
def api(request: pytest.FixtureRequest) -> str:
    """The throttled core's `/api/v1`, reached directly or through the gateway."""
    return request.getfixturevalue(f"throttled_{request.param}").api


@pytest.fixture(scope="module")
def default_gateway(start_gateway: StartGateway) -> Server:
    return start_gateway()


@pytest.fixture(params=["core", "gateway"])
def default_api(request: pytest.FixtureRequest) -> str:
    """The session's core (default settings), reached directly or through a gateway."""
    name = "core_server" if request.param == "core" else "default_gateway"
    return request.getfixturevalue(name).api


@pytest.fixture
async def known_user() -> str:
    """A fresh user with the password `PASSWORD`."""
    username = f"thr-{secrets.token_hex(4)}"
    await ensure_user(username, PASSWORD, "warehouse")
    return username


def fresh_address() -> str:
    """A loopback address no other test sends from."""
    return f"127.{random.randint(10, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def client_at(address: str) -> httpx.Client:
    """An HTTP client whose connections come from `address`."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


def sign_in(client: httpx.Client, api: str, username: str, password: str) -> httpx.Response:
    return client.post(f"{api}/auth/token", json={"username": username, "password": password})


def assert_throttled(r: httpx.Response) -> int:
    """The answer is the throttle's 429 problem; returns its `Retry-After` in seconds."""
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "sign_in_throttled"
    assert body["status"] == 429
    assert body["type"].endswith("/sign_in_throttled")
    return int(r.headers["retry-after"])


def test_guessing_a_password_is_refused_with_a_growing_delay(api: str, known_user: str) -> None:
    # given a user, and an attacker at one address guessing in any letter case
    spellings = [known_user, known_user.upper(), known_user.title()]
    with client_at(fresh_address()) as attacker:
        # when it guesses up to the limit
        first = [sign_in(attacker, api, spellings[i % 3], WRONG) for i in range(USER_LIMIT)]
        # then each guess is checked (401), and the next is refused for the first delay
        assert [r.status_code for r in first] == [401] * USER_LIMIT
        assert assert_throttled(sign_in(attacker, api, known_user.upper(), WRONG)) == 1
        # when the delay is over: one guess more is checked, and the delay doubles
        time.sleep(1.2)
        assert sign_in(attacker, api, known_user, WRONG).status_code == 401
        assert assert_throttled(sign_in(attacker, api, known_user, WRONG)) == 2
        # and the delay stops growing at ERP_SIGNIN_DELAY_MAX (2 s)
        time.sleep(2.2)
        assert sign_in(attacker, api, known_user, WRONG).status_code == 401
        assert assert_throttled(sign_in(attacker, api, known_user, WRONG)) == 2


def test_a_right_password_while_throttled_is_429_and_works_after_the_delay(
    api: str, known_user: str
) -> None:
    # given a user whose password was guessed wrongly up to the limit
    with client_at(fresh_address()) as client:
        for _ in range(USER_LIMIT):
            assert sign_in(client, api, known_user, WRONG).status_code == 401
        # when the right password comes while the username is throttled
        refused = sign_in(client, api, known_user, PASSWORD)
        # then it is refused like a guess (the password is not even checked)
        wait = assert_throttled(refused)
        # when it comes again after Retry-After
        time.sleep(wait + 0.2)
        accepted = sign_in(client, api, known_user, PASSWORD)
        # then the user is in, and the count starts over: a typo is a plain 401 again
        assert accepted.status_code == 200, accepted.text
        assert sign_in(client, api, known_user, WRONG).status_code == 401
        assert sign_in(client, api, known_user, PASSWORD).status_code == 200


def test_unknown_and_known_usernames_are_throttled_alike(api: str, known_user: str) -> None:
    # given a known and an unknown username, each guessed from an address of its own
    unknown = f"thr-ghost-{secrets.token_hex(4)}"
    answers: dict[str, list[httpx.Response]] = {}
    took: dict[str, float] = {}
    for username in (known_user, unknown):
        with client_at(fresh_address()) as client:
            # when each is guessed one time past the limit
            answers[username], durations = [], []
            for _ in range(USER_LIMIT + 1):
                started = time.perf_counter()
                answers[username].append(sign_in(client, api, username, WRONG))
                durations.append(time.perf_counter() - started)
            took[username] = min(durations[:USER_LIMIT])
    # then statuses, bodies and Retry-After are the same
    known, ghost = answers[known_user], answers[unknown]
    assert [r.status_code for r in known] == [r.status_code for r in ghost]
    assert [r.status_code for r in known] == [401] * USER_LIMIT + [429]
    assert [r.json() for r in known] == [r.json() for r in ghost]
    assert known[-1].headers["retry-after"] == ghost[-1].headers["retry-after"]
    # and a checked guess takes about as long (the unknown one is checked against a dummy hash)
    fast, slow = sorted(took.values())
    assert slow < 3 * fast + 0.05, took


def test_guessing_many_usernames_from_one_address_is_throttled_by_address(
    api: str, known_user: str
) -> None:
    # given an attacker at one address trying one password on many usernames
    with client_at(fresh_address()) as attacker, client_at(fresh_address()) as someone_else:
        for _ in range(ADDRESS_LIMIT):
            username = f"thr-spray-{secrets.token_hex(4)}"
            assert sign_in(attacker, api, username, WRONG).status_code == 401
        # when it tries yet another username, or even a right password
        next_guess = sign_in(attacker, api, f"thr-spray-{secrets.token_hex(4)}", WRONG)
        right = sign_in(attacker, api, known_user, PASSWORD)
        # then its address is throttled
        assert assert_throttled(next_guess) >= 1
        assert assert_throttled(right) >= 1
        # while the same user signs in from another address
        assert sign_in(someone_else, api, known_user, PASSWORD).status_code == 200


async def test_concurrent_guesses_do_not_slip_past_the_limit(api: str, known_user: str) -> None:
    # given an attacker sending many guesses for one user at once, from one address
    transport = httpx.AsyncHTTPTransport(local_address=fresh_address())
    async with httpx.AsyncClient(transport=transport, timeout=60) as attacker:
        guesses = [
            attacker.post(f"{api}/auth/token", json={"username": known_user, "password": f"g{i}"})
            for i in range(16)
        ]
        # when they all arrive together
        answers = await asyncio.gather(*guesses)
    # then no more than the limit were checked, and the rest were refused
    statuses = sorted(r.status_code for r in answers)
    checked = statuses.count(401)
    assert 1 <= checked <= USER_LIMIT, statuses
    assert statuses.count(429) == len(answers) - checked, statuses
    assert all(assert_throttled(r) >= 1 for r in answers if r.status_code == 429)


def test_the_counts_are_shared_by_every_core_process(
    throttled_core: Server, known_user: str
) -> None:
    # given a second core process on the same database, as behind a load balancer
    env = throttled_core.env
    second = spawn("core-throttle-2", "core.app:create_app", env, extra_args=TRUST_LOOPBACK)
    try:
        with client_at(fresh_address()) as attacker:
            # when the guesses alternate between the two processes
            cores = [throttled_core.api, second.api]
            answers = [
                sign_in(attacker, cores[i % 2], known_user, WRONG) for i in range(USER_LIMIT + 1)
            ]
    finally:
        second.stop()
    # then both count against one limit
    assert [r.status_code for r in answers[:USER_LIMIT]] == [401] * USER_LIMIT
    assert_throttled(answers[-1])


def test_a_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_address_limit(
    throttled_core: Server,
) -> None:
    # given an attacker reaching core directly and claiming a new X-Forwarded-For each time
    with client_at(fresh_address()) as attacker:
        for i in range(ADDRESS_LIMIT):
            r = attacker.post(
                f"{throttled_core.api}/auth/token",
                json={"username": f"thr-xff-{secrets.token_hex(4)}", "password": WRONG},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            )
            assert r.status_code == 401
        # when it claims yet another address
        r = attacker.post(
            f"{throttled_core.api}/auth/token",
            json={"username": f"thr-xff-{secrets.token_hex(4)}", "password": WRONG},
            headers={"X-Forwarded-For": "198.51.100.7"},
        )
    # then core counts the peer it sees (not a trusted proxy), and throttles it
    assert_throttled(r)


def test_the_default_settings_throttle_after_five_failures(default_api: str) -> None:
    # given the stack's core with its default settings (5 failures per username)
    username = f"thr-default-{secrets.token_hex(4)}"
    with client_at(fresh_address()) as attacker:
        # when a username is guessed five times
        guesses = [sign_in(attacker, default_api, username, WRONG) for _ in range(5)]
        # then the sixth guess waits the first delay, one second
        assert [r.status_code for r in guesses] == [401] * 5
        assert assert_throttled(sign_in(attacker, default_api, username, WRONG)) == 1
