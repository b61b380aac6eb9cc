"""The rate limit's memory of verified bearer tokens (`gateway.limits.VerifiedTokens`): a
token is verified once, not with every request, and no longer than it is valid."""

from __future__ import annotations

import time

from gateway.limits import VerifiedTokens
from tests.gateway.test_gateway_ratelimit import SECRET, signed


def test_a_verified_token_is_remembered_until_it_expires() -> None:
    tokens = VerifiedTokens(SECRET)
    expires = int(time.time()) + 2
    header = signed({"sub": "u-1", "exp": expires})

    assert tokens.subject(header) == "u-1"
    assert list(tokens._known) == [header]
    assert tokens.subject(header) == "u-1"  # from memory
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    assert tokens.subject(header) is None  # expired: verified again, and refused
    assert not tokens._known


def test_only_tokens_that_verify_are_remembered_and_only_so_many() -> None:
    tokens = VerifiedTokens(SECRET, max_tokens=2)
    assert tokens.subject(signed({"sub": "u"}, "another-secret-of-32-bytes-or-more")) is None
    assert tokens.subject("Bearer garbage") is None
    headers = [signed({"sub": f"u-{i}"}) for i in range(3)]
    assert [tokens.subject(h) for h in headers] == ["u-0", "u-1", "u-2"]
    assert list(tokens._known) == headers[1:]  # the least recently used went first
