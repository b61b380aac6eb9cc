"""The token bucket and the principal key, pure and with a hand-driven clock."""

from __future__ import annotations

import hashlib

import jwt
import pytest

from gateway.ratelimit import RateLimiter, principal_key, retry_after_header

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


def test_principal_is_the_verified_jwt_subject() -> None:
    token = jwt.encode({"sub": "user-1"}, SECRET, algorithm="HS256")

    assert principal_key(f"Bearer {token}", "10.0.0.1", SECRET) == "sub:user-1"


def test_same_subject_with_different_tokens_shares_a_key() -> None:
    one = jwt.encode({"sub": "u", "iat": 1}, SECRET, algorithm="HS256")
    two = jwt.encode({"sub": "u", "iat": 2}, SECRET, algorithm="HS256")

    assert principal_key(f"Bearer {one}", None, SECRET) == principal_key(
        f"Bearer {two}", None, SECRET
    )


@pytest.mark.parametrize(
    ("header", "secret"),
    [
        (
            "Bearer "
            + jwt.encode({"sub": "u"}, "another-secret-of-32-bytes-or-more", algorithm="HS256"),
            SECRET,
        ),
        ("Bearer " + jwt.encode({"sub": "u"}, SECRET, algorithm="HS256"), None),
        ("Bearer " + jwt.encode({"sub": "u", "exp": 1}, SECRET, algorithm="HS256"), SECRET),
        ("Bearer erp_apikey_123", SECRET),
        ("Basic dXNlcjpwYXNz", SECRET),
    ],
)
def test_unverified_credentials_are_keyed_by_their_hash(header: str, secret: str | None) -> None:
    expected = "auth:" + hashlib.sha256(header.encode()).hexdigest()

    assert principal_key(header, "10.0.0.1", secret) == expected


def test_anonymous_requests_are_keyed_by_client_ip() -> None:
    assert principal_key(None, "10.0.0.1", SECRET) == "ip:10.0.0.1"
    assert principal_key(None, None, SECRET) == "ip:unknown"
