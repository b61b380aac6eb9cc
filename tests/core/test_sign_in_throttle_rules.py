"""The sign-in throttle's rules (issue 7, item 3): what an address counts as, how the delay
grows, and how old counts are forgotten and pruned. Attacks over HTTP are in
`tests/security/test_sign_in_throttle.py`."""

from __future__ import annotations

import secrets
import time

import pytest

from core.config import SignInLimits, settings
from core.identity import throttle
from core.identity.tables import SignInThrottle


@pytest.mark.parametrize(
    ("host", "counted_as"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not-an-address", "not-an-address"),
        (None, "unknown"),
    ],
)
def test_an_address_counts_as_its_network(host: str | None, counted_as: str) -> None:
    # given a client address as uvicorn reports it; when counted; then IPv6 counts by its /64
    assert throttle.client_network(host) == counted_as


def test_the_delay_doubles_up_to_its_cap() -> None:
    # given a first delay of 1 s and a cap of 900 s
    limits = SignInLimits(delay=1.0, delay_max=900.0)
    # when keys have had 0, 1, 2, ... delays; then the next delay doubles until the cap
    delays = [throttle.delay_seconds(locks, limits) for locks in (0, 1, 2, 9, 10, 11, 5000)]
    assert delays == [1, 2, 4, 512, 900, 900, 900]


async def test_an_old_count_starts_over_and_unused_rows_are_pruned(
    app: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a username with many failures and delays long ago, and a row nobody used since
    long_ago = int((time.time() - 2 * settings().sign_in.forget) * 1000)
    username, unused = f"thr-old-{secrets.token_hex(4)}", f"u:unused-{secrets.token_hex(4)}"
    for key in (throttle.user_key(username), unused):
        await SignInThrottle.insert(
            SignInThrottle(id=key, failures=99, locks=9, locked_until_ms=long_ago, seen_ms=long_ago)
        )
    # when the username is tried again and fails (and this process has not pruned lately)
    attempt = await throttle.begin(username, "192.0.2.55")
    monkeypatch.setattr(throttle, "_last_prune", None)
    await attempt.failed()
    # then its count started over, and the unused row is gone
    assert (attempt.user.failures, attempt.user.locks) == (1, 0)
    assert not await SignInThrottle.exists().where(SignInThrottle.id == unused)
