"""Warehouse and bin codes in any case, and suppliers without an e-mail.

Source: the contract's resource table (codes of warehouses and bins are case-insensitive and
stored upper-case; a supplier's `email` is optional) and issue 11 (lower case was refused with
a regex message; a supplier could not be created without an e-mail).
"""

from __future__ import annotations

import secrets

import httpx

H = dict[str, str]


async def test_a_warehouse_code_in_lower_case_is_stored_upper_case_and_unique_in_any_case(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given a warehouse code typed in lower case
    code = f"wh-{secrets.token_hex(3)}"
    # when it is created
    r = await client.post("/warehouses", json={"code": code, "name": "North"}, headers=admin)
    # then it is stored upper-case, served so, and the same code in another case is a duplicate
    assert r.status_code == 201, r.text
    assert r.json()["code"] == code.upper()
    fetched = await client.get(f"/warehouses/{r.json()['id']}", headers=admin)
    assert fetched.json()["code"] == code.upper()
    for again in (code, code.upper(), code.capitalize()):
        twin = await client.post("/warehouses", json={"code": again, "name": "N"}, headers=admin)
        assert twin.status_code == 409 and twin.json()["code"] == "duplicate", again


async def test_a_bin_code_in_lower_case_is_stored_upper_case_and_unique_in_any_case(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given a warehouse
    body = {"code": f"W{secrets.token_hex(3)}", "name": "W"}
    warehouse = (await client.post("/warehouses", json=body, headers=admin)).json()
    # when a bin is created as `a-01-03`
    bin_body = {"warehouse_id": warehouse["id"], "code": "a-01-03"}
    r = await client.post("/locations", json=bin_body, headers=admin)
    # then it is `A-01-03`, and `A-01-03` is then taken in that warehouse
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "A-01-03"
    twin = await client.post("/locations", json={**bin_body, "code": "A-01-03"}, headers=admin)
    assert twin.status_code == 409 and twin.json()["code"] == "duplicate"


async def test_codes_with_other_characters_are_still_422(
    client: httpx.AsyncClient, admin: H
) -> None:
    for code in ("a b", "-a", "ä-1", ""):
        r = await client.post("/warehouses", json={"code": code, "name": "W"}, headers=admin)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "code", code


async def test_a_supplier_can_be_created_without_an_email(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given a supplier known by name and phone only
    body = {"name": f"Mill {secrets.token_hex(3)}", "phone": "+49 30 1234"}
    # when it is created
    r = await client.post("/suppliers", json=body, headers=admin)
    # then it exists with no e-mail, and one can be added (and a bad one is still refused)
    assert r.status_code == 201, r.text
    supplier = r.json()
    assert supplier["email"] == ""
    url = f"/suppliers/{supplier['id']}"
    patched = await client.patch(url, json={"email": "orders@mill.test"}, headers=admin)
    assert patched.status_code == 200 and patched.json()["email"] == "orders@mill.test"
    bad = await client.patch(url, json={"email": "not-an-address"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"
