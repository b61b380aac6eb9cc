"""The webhooks resource: subscribe, list, look up, unsubscribe; validation and who may."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.core.helpers import make_user

PUBLIC_URL = "https://93.184.216.34/hooks/erp"  # a public address literal: no DNS needed
SHORT = "whsec_c2hvcnQ="  # 5 bytes


@pytest.fixture
def private_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_WEBHOOKS_ALLOW_PRIVATE", "1")


@pytest.fixture(autouse=True)
def private_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ERP_WEBHOOKS_ALLOW_PRIVATE", raising=False)


async def test_create_shows_the_secret_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a subscription to all sales order events and paid invoices
    body = {"url": PUBLIC_URL, "event_types": ["erp.sales_order.*", "erp.invoice.paid"]}

    # when it is created
    r = await client.post("/webhooks", json=body, headers=admin)

    # then the answer carries a generated whsec_ secret of 32 bytes, and later reads do not
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert created["active"] is True
    assert created["failure_count"] == 0
    assert created["disabled_reason"] is None
    assert created["version"] == 1
    assert r.headers["etag"] == '"1"'
    assert sorted(created["event_types"]) == ["erp.invoice.paid", "erp.sales_order.*"]
    one = await client.get(f"/webhooks/{created['id']}", headers=admin)
    assert one.status_code == 200
    assert "secret" not in one.json()
    assert created["secret"] not in one.text
    assert one.json()["secret_hint"] == created["secret"][:10] + "…"
    listed = await client.get("/webhooks", params={"limit": 200}, headers=admin)
    assert created["id"] in {w["id"] for w in listed.json()["items"]}
    assert created["secret"] not in listed.text


async def test_a_given_secret_is_kept(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    body = {"url": PUBLIC_URL, "event_types": ["erp.invoice.paid"], "secret": secret}
    r = await client.post("/webhooks", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["secret"] == secret


async def test_delete_unsubscribes(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = {"url": PUBLIC_URL, "event_types": ["erp.product.*"]}
    created = (await client.post("/webhooks", json=body, headers=admin)).json()
    url = f"/webhooks/{created['id']}"

    assert (await client.delete(url, headers=admin)).status_code == 204

    assert (await client.get(url, headers=admin)).status_code == 404
    assert (await client.get(f"{url}/deliveries", headers=admin)).status_code == 404
    assert (await client.delete(url, headers=admin)).status_code == 404


async def test_deliveries_of_a_new_subscription_are_an_empty_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"url": PUBLIC_URL, "event_types": ["erp.product.*"]}
    created = (await client.post("/webhooks", json=body, headers=admin)).json()
    r = await client.get(f"/webhooks/{created['id']}/deliveries", headers=admin)
    assert r.status_code == 200
    assert r.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://93.184.216.34/x", "event_types": ["erp.product.*"]}, "url"),
        ({"url": "https://u:p@93.184.216.34/x", "event_types": ["erp.product.*"]}, "url"),
        ({"url": "not a url", "event_types": ["erp.product.*"]}, "url"),
        ({"url": PUBLIC_URL, "event_types": ["erp.nothing.*"]}, "event_types[0]"),
        ({"url": PUBLIC_URL, "event_types": ["erp.product.created", "erp.x"]}, "event_types[1]"),
        ({"url": PUBLIC_URL, "event_types": ["erp.product.*"], "secret": SHORT}, "secret"),
        ({"url": PUBLIC_URL, "event_types": ["erp.product.*"], "secret": "plain"}, "secret"),
        ({"url": PUBLIC_URL, "event_types": []}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": ["erp.*.created"]}, "event_types[0]"),
    ],
)
async def test_invalid_subscriptions_are_422(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, object], field: str
) -> None:
    r = await client.post("/webhooks", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in r.json()["errors"]}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_private_targets_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str], url: str
) -> None:
    r = await client.post("/webhooks", json={"url": url, "event_types": ["erp.*"]}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "url"
    assert "ERP_WEBHOOKS_ALLOW_PRIVATE" in r.json()["detail"]


async def test_private_targets_are_allowed_when_set(
    client: httpx.AsyncClient, admin: dict[str, str], private_allowed: None
) -> None:
    body = {"url": "http://127.0.0.1:9000/hook", "event_types": ["erp.*"]}
    r = await client.post("/webhooks", json=body, headers=admin)
    assert r.status_code == 201, r.text


async def test_only_admin_may(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = {"url": PUBLIC_URL, "event_types": ["erp.product.*"]}
    created = (await client.post("/webhooks", json=body, headers=admin)).json()
    for role in ("sales", "warehouse"):
        headers = await make_user(client, admin, role)
        assert (await client.get("/webhooks", headers=headers)).status_code == 403
        assert (await client.post("/webhooks", json=body, headers=headers)).status_code == 403
        one = f"/webhooks/{created['id']}"
        assert (await client.get(one, headers=headers)).status_code == 403
        assert (await client.delete(one, headers=headers)).status_code == 403
        assert (await client.get(f"{one}/deliveries", headers=headers)).status_code == 403
    assert (await client.get("/webhooks")).status_code == 401


async def test_patch_changes_url_and_types_checked_as_at_creation(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"url": PUBLIC_URL, "event_types": ["erp.invoice.paid"]}
    hook = (await client.post("/webhooks", json=body, headers=admin)).json()
    path = f"/webhooks/{hook['id']}"
    # when URL and types change, then the subscription shows them with a new version
    change = {"url": PUBLIC_URL + "/v2", "event_types": ["erp.sales_order.*"]}
    r = await client.patch(path, json=change, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert (r.json()["url"], r.json()["event_types"]) == (change["url"], change["event_types"])
    assert r.headers["etag"] == '"2"'
    # and what would be refused at creation is refused here too, changing nothing
    for bad, field in (
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "https://127.0.0.1/hook"}, "url"),
        ({"event_types": ["erp.nothing.*"]}, "event_types[0]"),
        ({"secret": "whsec_c2hvcnQ="}, None),
    ):
        r = await client.patch(path, json=bad, headers=admin)
        assert r.status_code in (400, 422), r.text
        if field:
            assert field in [e["field"] for e in r.json()["errors"]], r.text
    r = await client.patch(path, json={"active": False}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 412
    after = (await client.get(path, headers=admin)).json()
    assert (after["url"], after["version"], after["active"]) == (change["url"], 2, True)


async def test_rotating_the_secret_answers_it_once_and_keeps_the_old_for_a_day(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"url": PUBLIC_URL, "event_types": ["erp.invoice.paid"]}
    hook = (await client.post("/webhooks", json=body, headers=admin)).json()
    assert hook["previous_secret_expires_at"] is None
    # when the secret is rotated to one of the admin's choosing
    mine = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    path = f"/webhooks/{hook['id']}/rotate-secret"
    r = await client.post(path, json={"secret": mine}, headers=admin)
    # then the answer has it (once, not cached); reads show only its hint and the grace's end
    assert r.status_code == 200, r.text
    assert r.json()["secret"] == mine
    assert r.headers["cache-control"] == "no-store"
    one = await client.get(f"/webhooks/{hook['id']}", headers=admin)
    assert mine not in one.text
    assert one.json()["secret_hint"] == mine[:10] + "…"
    expires = datetime.fromisoformat(one.json()["previous_secret_expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    # and a short secret, an unknown subscription or a non-admin are refused
    assert (await client.post(path, json={"secret": SHORT}, headers=admin)).status_code == 422
    gone = await client.post("/webhooks/nope/rotate-secret", headers=admin)
    assert gone.status_code == 404
