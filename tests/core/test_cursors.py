"""A cursor the API did not issue, or one that was altered, is 400; issued ones keep working.

Source: the contract, "Conventions" (a cursor the API did not issue, or one that was altered,
is 400) and issue 11 (a cursor cut short repeated the previous page's last row; one never
issued answered an empty page, which a client reads as the end). Cursors carry an HMAC under a
key derived from `ERP_SECRET` (`core/http/pagination.py`).
"""

from __future__ import annotations

import base64

import httpx

from tests.core.helpers import new_customer, new_product

H = dict[str, str]


async def next_cursor(client: httpx.AsyncClient, path: str, admin: H) -> str:
    """The `next_cursor` of a first page of two."""
    r = await client.get(path, params={"limit": 2}, headers=admin)
    assert r.status_code == 200 and r.json()["next_cursor"], r.text
    return str(r.json()["next_cursor"])


async def test_a_cursor_cut_short_or_never_issued_is_400_and_an_issued_one_works(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given lists with more than one page
    for _ in range(3):
        await new_product(client, admin)
        await new_customer(client, admin)
    for path in ("/products", "/customers"):
        cursor = await next_cursor(client, path, admin)
        # when the issued cursor is sent, then the next page comes
        page = await client.get(path, params={"limit": 2, "cursor": cursor}, headers=admin)
        assert page.status_code == 200 and page.json()["items"], page.text
        # when it is cut short, altered, or made up from a key, then it is a 400 problem
        key = base64.urlsafe_b64encode(page.json()["items"][0]["id"].encode()).decode()
        # altered where all six bits of the character are data (a last character's low bits
        # may be padding, and changing only those decodes to the same bytes)
        mid = len(cursor) // 2
        flipped = cursor[:mid] + ("A" if cursor[mid] != "A" else "B") + cursor[mid + 1 :]
        bad = [cursor[:-n] for n in range(1, 6)] + [flipped, key.rstrip("="), "AAAA"]
        for forged in bad:
            r = await client.get(path, params={"limit": 2, "cursor": forged}, headers=admin)
            assert r.status_code == 400, (path, forged, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["code"] == "malformed"
