"""Issue 7, item 9 (identity's part): every answer carrying a secret (a token, a new API key,
a new webhook's signing secret) says `Cache-Control: no-store`, as the client sees it through
the gateway, replays of an idempotent request included."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.security.conftest import Server, token

HOOK = {"url": "https://93.184.216.34/hook", "event_types": ["erp.invoice.*"]}
SECRET_ANSWERS = [
    ("/api-keys", {"name": "no-store", "scopes": ["products:read"]}, "key"),
    ("/webhooks", HOOK, "secret"),
]


def test_a_sign_in_answer_is_not_stored(stack: Server, sec_admin: dict[str, str]) -> None:
    # given an admin's credentials; when it signs in through the gateway
    r = httpx.post(f"{stack.api}/auth/token", json=sec_admin)
    # then the token comes with no-store
    assert r.status_code == 200 and "access_token" in r.json()
    assert "no-store" in r.headers["cache-control"]


@pytest.mark.parametrize(("path", "body", "field"), SECRET_ANSWERS, ids=["api-key", "webhook"])
def test_a_created_secret_is_not_stored_nor_is_its_replay(
    stack: Server, sec_admin: dict[str, str], path: str, body: dict[str, object], field: str
) -> None:
    # given an admin signed in through the gateway, and an idempotency key
    headers = {**token(stack.api, sec_admin["username"]), "Idempotency-Key": secrets.token_hex(8)}
    # when it creates the resource, and retries the same request
    first = httpx.post(f"{stack.api}{path}", json=body, headers=headers)
    replay = httpx.post(f"{stack.api}{path}", json=body, headers=headers)
    # then both answers carry the secret, and both say no-store
    assert first.status_code == 201, first.text
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json()[field] == first.json()[field]
    for answer in (first, replay):
        assert "no-store" in answer.headers.get("cache-control", ""), answer.headers
