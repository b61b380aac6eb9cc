"""Logging in, credentials, roles and API keys."""

from __future__ import annotations

import httpx

from core.identity.tables import ApiKey, User
from tests.core.helpers import PASSWORD, login, make_user, new_customer, unique


async def test_login_gives_a_bearer_token_and_me_names_the_caller(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.post("/auth/token", json={"username": "root", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "admin" and body["expires_in"] > 0
    me = await client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "root" and "users:write" in me.json()["scopes"]


async def test_wrong_password_and_unknown_user_look_the_same(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    wrong = await client.post("/auth/token", json={"username": "root", "password": "nope"})
    unknown = await client.post("/auth/token", json={"username": "ghost", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_missing_or_forged_credentials_are_401(client: httpx.AsyncClient) -> None:
    missing = await client.get("/products")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad"}
    assert (await client.get("/products", headers=forged)).json()["code"] == "unauthorized"


async def test_passwords_are_stored_as_slow_salted_hashes_and_never_returned(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    name = unique("u").lower()
    r = await client.post(
        "/users", json={"username": name, "password": PASSWORD, "role": "sales"}, headers=admin
    )
    assert r.status_code == 201 and "password" not in r.text
    stored = await User.select(User.password_hash).where(User.username == name).first()
    assert (
        stored["password_hash"].startswith("$argon2id$") and PASSWORD not in stored["password_hash"]
    )


async def test_roles_are_enforced(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sales: dict[str, str],
    warehouse: dict[str, str],
) -> None:
    assert (await client.get("/users", headers=sales)).status_code == 403
    assert (await client.get("/customers", headers=sales)).status_code == 200
    assert (await client.get("/customers", headers=warehouse)).status_code == 403
    assert (await client.get("/products", headers=warehouse)).status_code == 200
    r = await client.post(
        "/products", json={"sku": unique("W"), "name": "x", "unit_price": "1.00"}, headers=warehouse
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


async def test_a_customer_user_must_name_an_existing_customer(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"username": unique("c").lower(), "password": PASSWORD, "role": "customer"}
    assert (await client.post("/users", json=body, headers=admin)).status_code == 422
    r = await client.post("/users", json={**body, "customer_id": "nope"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "customer_id"
    customer = await new_customer(client, admin)
    headers = await make_user(client, admin, "customer", customer_id=customer["id"])
    me = (await client.get("/me", headers=headers)).json()
    assert me["role"] == "customer" and me["customer_id"] == customer["id"]
    assert (await client.get("/customers", headers=headers)).status_code == 403
    assert (await client.get("/products", headers=headers)).status_code == 200


async def test_duplicate_username_is_409(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = {"username": "root", "password": PASSWORD, "role": "sales"}
    assert (await client.post("/users", json=body, headers=admin)).json()["code"] == "duplicate"


async def test_deactivated_user_loses_access_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    name = unique("gone").lower()
    r = await client.post(
        "/users", json={"username": name, "password": PASSWORD, "role": "sales"}, headers=admin
    )
    headers = await login(client, name)
    r = await client.patch(f"/users/{r.json()['id']}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert (await client.get("/products", headers=headers)).status_code == 401


async def test_api_key_is_shown_once_stored_hashed_and_limited_to_its_scopes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.post(
        "/api-keys", json={"name": "shop sync", "scopes": ["products:read"]}, headers=admin
    )
    assert r.status_code == 201
    key = r.json()["key"]
    listed = await client.get("/api-keys", headers=admin)
    assert key not in listed.text
    assert not await ApiKey.exists().where(ApiKey.key_hash == key)
    bearer = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/products", headers=bearer)).status_code == 200
    assert (await client.get("/customers", headers=bearer)).status_code == 403
    me = (await client.get("/me", headers=bearer)).json()
    assert me["role"] == "integration" and me["scopes"] == ["products:read"]
    assert (await client.delete(f"/api-keys/{r.json()['id']}", headers=admin)).status_code == 204
    assert (await client.get("/products", headers=bearer)).status_code == 401


async def test_api_key_with_unknown_scope_is_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.post(
        "/api-keys", json={"name": "x", "scopes": ["rockets:write"]}, headers=admin
    )
    assert r.status_code == 422


async def test_first_admin_comes_from_erp_admin_password_only_when_there_is_none(
    admin: dict[str, str],
) -> None:
    from core.identity.bootstrap import ensure_admin

    assert await ensure_admin("whatever") is False  # "root" is an admin already
    assert not await User.exists().where(User.username == "admin")
