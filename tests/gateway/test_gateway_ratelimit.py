"""The token bucket, the bucket keys and the API-key verdicts, pure, with a hand-driven clock."""

from __future__ import annotations

import hashlib
import time

import jwt
import pytest

from gateway.limits import ApiKeyVerdicts, api_key_digest
from gateway.ratelimit import RateLimiter, address_key, retry_after_header, verified_subject
from gateway.ratelimit_shared import batch_for, decode, encode, store_key

SECRET = "a-test-secret-that-is-32-bytes-long"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allows_a_burst_of_capacity_then_refuses() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)  # 60 at once, one more per second

    results = [limiter.acquire("a") for _ in range(61)]

    assert results[:60] == [0.0] * 60
    assert results[60] == pytest.approx(1.0)


def test_refills_at_limit_per_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(120, clock=clock)  # two tokens per second
    for _ in range(120):
        limiter.acquire("a")
    assert limiter.acquire("a") == pytest.approx(0.5)

    clock.now += 1.0

    assert [limiter.acquire("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire("a") > 0


def test_never_holds_more_than_capacity() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    limiter.acquire("a")

    clock.now += 3600

    assert [limiter.acquire("a") == 0.0 for _ in range(4)] == [True, True, True, False]


def test_keys_have_separate_buckets() -> None:
    limiter = RateLimiter(1, clock=Clock())

    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0


def test_idle_buckets_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock=clock)
    for key in ("a", "b", "c"):
        limiter.acquire(key)
    clock.now += 30
    limiter.acquire("c")

    clock.now += 31  # a and b idle for 61 s (full again); c for 31 s
    limiter.acquire("d")

    assert len(limiter) == 2


def test_bucket_count_is_capped() -> None:
    limiter = RateLimiter(10, clock=Clock(), max_keys=100)

    for i in range(1000):
        limiter.acquire(f"k{i}")

    assert len(limiter) == 100


def test_zero_or_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.5, "60")])
def test_retry_after_is_whole_seconds_at_least_one(wait: float, header: str) -> None:
    assert retry_after_header(wait) == header


def signed(claims: dict[str, object], secret: str = SECRET) -> str:
    """`Bearer <token>` for claims signed with HS256; an access token for an hour by default."""
    claims = {"typ": "access", "exp": int(time.time()) + 3600, **claims}
    return "Bearer " + jwt.encode(claims, secret, algorithm="HS256")


def test_a_verified_token_names_its_subject() -> None:
    assert verified_subject(signed({"sub": "user-1"}), SECRET) == "user-1"


def test_tokens_of_one_subject_name_the_same_subject() -> None:
    one = signed({"sub": "u", "iat": 1})
    two = signed({"sub": "u", "iat": 2})

    assert verified_subject(one, SECRET) == verified_subject(two, SECRET) == "u"


@pytest.mark.parametrize(
    ("header", "secret"),
    [
        (signed({"sub": "u"}, "another-secret-of-32-bytes-or-more"), SECRET),
        (signed({"sub": "u"}), None),
        (signed({"sub": "u", "exp": 1}), SECRET),
        (signed({"sub": "u", "exp": None}), SECRET),
        (signed({"sub": "u", "typ": "refresh"}), SECRET),
        (signed({"sub": 7}), SECRET),
        ("Bearer " + jwt.encode({"sub": "u", "typ": "access"}, SECRET, algorithm="HS256"), SECRET),
        ("Bearer erp_apikey_123", SECRET),
        ("Bearer " + "x" * 40, SECRET),
        ("Basic dXNlcjpwYXNz", SECRET),
        ("Bearer ", SECRET),
    ],
)
def test_what_the_gateway_cannot_verify_names_no_subject(header: str, secret: str | None) -> None:
    assert verified_subject(header, secret) is None


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "ip:203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "ip:2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:1:2:3", "ip:2001:db8:1:2::/64"),
        ("unknown", "ip:unknown"),
    ],
)
def test_an_address_bucket_is_the_ipv4_address_or_the_ipv6_slash_64(address: str, key: str) -> None:
    assert address_key(address) == key


def test_api_keys_are_known_by_their_digest_only() -> None:
    digest = api_key_digest("Bearer erp_secret")

    assert digest == hashlib.sha256(b"erp_secret").hexdigest()
    assert api_key_digest("Bearer not-a-key") is None
    assert api_key_digest("Basic erp_secret") is None


def test_a_confirmed_api_key_counts_until_its_time_runs_out() -> None:
    clock = Clock()
    verdicts = ApiKeyVerdicts(ttl=60, clock=clock)
    verdicts.remember("k")

    assert verdicts.valid("k")
    clock.now += 61
    assert not verdicts.valid("k")


def test_a_refused_api_key_is_forgotten_and_the_cache_is_bounded() -> None:
    verdicts = ApiKeyVerdicts(max_keys=10, clock=Clock())
    for n in range(100):
        verdicts.remember(f"k{n}")
    verdicts.forget("k99")

    assert not verdicts.valid("k99")
    assert verdicts.valid("k98")
    assert not verdicts.valid("k0")


@pytest.mark.parametrize(
    ("per_minute", "batch", "taken"), [(600, 10, 10), (600, 100, 30), (60, 10, 3), (30, 10, 1)]
)
def test_a_shared_batch_is_at_most_a_twentieth_of_the_limit(
    per_minute: int, batch: int, taken: int
) -> None:
    assert batch_for(per_minute, batch) == taken
    assert batch_for(per_minute, 0) == 1


def test_a_shared_bucket_is_keyed_by_a_digest_the_store_accepts() -> None:
    keys = {store_key(k) for k in ("sub:user-1", "ip:2001:db8:1:2::/64", "key:" + "a" * 64)}

    assert len(keys) == 3
    assert all(len(k) == 32 and k.isalnum() for k in keys)


def test_a_shared_entry_round_trips_and_garbage_reads_as_none() -> None:
    assert decode(encode(12.5, 1700000000.25)) == (12.5, 1700000000.25)
    assert decode(b"not an entry") is None
    assert decode(None) is None


def test_the_shared_store_keeps_as_many_copies_as_the_stream() -> None:
    import logging

    from common.nats import NatsLink
    from gateway.ratelimit_shared import SharedRateLimiter, limiter_for
    from gateway.settings import GatewaySettings

    settings = GatewaySettings.from_env(
        {
            "ERP_CORE_URL": "http://core:8100",
            "NATS_URL": "nats://a:4222,nats://b:4222,nats://c:4222",
            "ERP_STREAM_REPLICAS": "3",
        }
    )
    link = NatsLink(settings.nats_url, "gateway", logging.getLogger("tests.ratelimit"))
    limiter = limiter_for(settings, link)
    assert isinstance(limiter, SharedRateLimiter) and limiter.replicas == 3
