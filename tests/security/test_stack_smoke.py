"""The security tests' real stack answers through the gateway, and events flow to the log."""

from __future__ import annotations

import time

import httpx

from tests.security.conftest import Server, token


def test_the_stack_serves_a_signed_in_admin(stack: Server, sec_admin: dict[str, str]) -> None:
    # given an admin signed in through the gateway
    headers = token(stack.api, sec_admin["username"])
    # when it creates a customer
    r = httpx.post(
        f"{stack.api}/customers",
        json={"name": "Smoke", "email": "smoke@example.test"},
        headers=headers,
    )
    # then core answers through the gateway, and the event is published to the log
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = httpx.get(f"{stack.api}/events?type=erp.customer.created&limit=200", headers=headers)
        if any(e["data"]["id"] == r.json()["id"] for e in log.json()["items"]):
            return
        time.sleep(0.2)
    raise AssertionError("the customer's event never reached the log")
