"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis).

The rule under test: bad input gets a clear `application/problem+json` error and changes
nothing; no 500 for anything a client can send. For every operation of
`GET /api/v1/openapi.json`, schemathesis generates valid and invalid requests (wrong types,
out-of-range values, missing and unknown fields, odd strings), sent as the admin and again as
a customer (a login of one customer: most routes are refused to it, the rest are filtered to
its own data), in-process through the session `app` on the session's event loop, and every
response must:

- never be a 5xx;
- for a 4xx, be `application/problem+json` with `type`, `title`, `status` (the response's
  own) and `detail`, and no stack trace or SQL;
- conform to the document where schemathesis can tell (status code, content type, headers,
  body schema), and answer a request the document calls invalid with a 4xx;
- for a write (`POST`, `PUT`, `PATCH`, `DELETE`) answered with a 4xx, leave every table as it
  was (row counts and versions of every table of core).

Bounded and reproducible for CI: a fixed seed, derandomized, no example database, no
deadline, `ERP_FUZZ_EXAMPLES` (default 25) requests per operation as the admin and
`ERP_FUZZ_CUSTOMER_EXAMPLES` (default 10) as the customer, whose requests mostly end at the
guard (a whole run: about a minute per database on a loaded machine). Schemathesis' coverage
phase (about 40 more deterministic requests per operation: boundary values, every wrong
method, each required field left out) doubles the run time, so it is off by default;
`ERP_FUZZ_COVERAGE=1` turns it on, e.g. with `ERP_FUZZ_EXAMPLES=200` for a deep run.

Not run, and why:
- `positive_data_acceptance`: a request valid by the document may still rightly get a 404
  (an id that does not exist) or a 409 (a duplicate SKU).
- `ignored_auth`, `missing_required_header`, `unsupported_method`, `use_after_free`,
  `ensure_resource_availability`: they re-send requests through schemathesis' own synchronous
  transport, outside the session's event loop and database pool. Credentials and roles are
  `tests/core/test_guards.py`'s and `test_identity.py`'s; wrong methods `test_problems.py`'s.
- Generated credentials (`with-security-parameters` off): every request carries the admin's
  or the customer's token, as the rule is about what a signed-in client can send.
Every operation is fuzzed: `test_fuzz_covers_every_operation` fails if one is left out.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, Response
from schemathesis import checks as builtin

from tests.core.helpers import new_shopper

PROBLEM = "application/problem+json"
MAX_EXAMPLES = int(os.environ.get("ERP_FUZZ_EXAMPLES", "25"))
CUSTOMER_EXAMPLES = int(os.environ.get("ERP_FUZZ_CUSTOMER_EXAMPLES", "10"))
COVERAGE = os.environ.get("ERP_FUZZ_COVERAGE", "") == "1"
SEED = 20261126
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# What of schemathesis' request arguments makes the request (the rest is transport options).
REQUEST_ARGUMENTS = {
    "method",
    "url",
    "headers",
    "files",
    "data",
    "params",
    "auth",
    "cookies",
    "json",
}


async def _openapi_document() -> dict[str, Any]:
    """The document, fetched from a fresh app over HTTP (serving it needs no database)."""
    from core.app import create_app

    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://core") as c:
        r = await c.get("/api/v1/openapi.json")
    assert r.status_code == 200, r.text
    return r.json()


# Loaded at import: schemathesis makes one test per operation when the tests are collected.
# `test_session_app_serves_the_fuzzed_document` checks the session app serves the same one.
DOCUMENT = asyncio.run(_openapi_document())
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",  # valid and invalid requests
                "deterministic": True,
                "with-security-parameters": False,
            },
            "phases": {"coverage": {"enabled": COVERAGE}},
        }
    ),
)


@schemathesis.check
def problem_details(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 4xx is `application/problem+json` with the RFC 9457 members and leaks nothing."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == PROBLEM, f"a {response.status_code} with content type {content_type!r}"
    body = response.json()
    assert isinstance(body, dict), f"the problem is not an object: {body!r}"
    missing = {"type", "title", "status", "detail"} - set(body)
    assert not missing, f"the problem lacks {sorted(missing)}: {body!r}"
    assert body["status"] == response.status_code, f"the problem says status {body['status']!r}"
    assert all(isinstance(body[k], str) and body[k] for k in ("type", "title", "detail")), body
    # The names of a client's own unknown fields are echoed in `errors`: only the rest may leak.
    told = [{k: v for k, v in body.items() if k != "errors"}]
    told += [e.get("message") for e in body.get("errors", []) if isinstance(e, dict)]
    assert not any(word in json.dumps(told) for word in ("Traceback", "SELECT ")), body
    return None


CHECKS = [
    builtin.not_a_server_error,
    problem_details,
    builtin.status_code_conformance,
    builtin.content_type_conformance,
    builtin.response_headers_conformance,
    builtin.response_schema_conformance,
    builtin.negative_data_rejection,
]


# Tables a refused request may write by design: failed sign-ins are counted (issue 7), and a
# POST with an `Idempotency-Key` (documented per operation since issue 11) keeps its answer,
# a refusal too, so a retry replays it.
BOOKKEEPING = {"sign_in_throttle", "idempotency_keys"}


async def _fingerprint() -> tuple[Any, ...]:
    """Row count, and sum of versions where it has them, of every table of core but the
    bookkeeping ones."""
    from core.db import engine
    from core.piccolo_app import APP_CONFIG

    parts = []
    for table in APP_CONFIG.table_classes:
        name = table._meta.tablename
        if name in BOOKKEEPING:
            continue
        parts.append(f"(SELECT count(*) FROM {name})")
        if any(column._meta.name == "version" for column in table._meta.columns):
            parts.append(f"(SELECT coalesce(sum(version), 0) FROM {name})")
    rows = await engine().run_ddl(f"SELECT {', '.join(parts)}")
    return tuple(rows[0].values())


def test_fuzz_covers_every_operation() -> None:
    """No operation is skipped: schemathesis loads every one the document lists."""
    methods = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
    documented = {
        (method.upper(), path)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in methods
    }
    loaded = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert documented and loaded == documented


async def test_session_app_serves_the_fuzzed_document(client: httpx.AsyncClient) -> None:
    assert (await client.get("/openapi.json")).json() == DOCUMENT


@pytest.fixture(scope="module", autouse=True)
async def _forget_the_fuzzers_sign_ins() -> AsyncIterator[None]:
    """The fuzzer signs in with made-up credentials by the hundred, all from the test client's
    address: the sign-in throttle rightly slows that address down, and it would go on slowing
    every later test that signs in (they share the database). Forgotten once the module ends."""
    yield
    from core.identity.tables import SignInThrottle

    await SignInThrottle.delete(force=True)


@pytest.fixture(scope="module")
async def shopper(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    """The auth headers of a login of a new customer."""
    return (await new_shopper(client, admin))[1]


def _fuzz_settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        # Session fixtures only; slow or filtered generation is fine, the budget is the bound.
        suppress_health_check=list(HealthCheck),
    )


@schema.parametrize()
@_fuzz_settings(MAX_EXAMPLES)
async def test_api(case: Case, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await _exercise(case, client, admin)


@schema.parametrize()
@_fuzz_settings(CUSTOMER_EXAMPLES)
async def test_api_as_a_customer(
    case: Case, client: httpx.AsyncClient, shopper: dict[str, str]
) -> None:
    await _exercise(case, client, shopper)


async def _exercise(case: Case, client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """Send the case with `auth`; check the answer, and that a refused write changed nothing."""
    # Serialised the way schemathesis would send it, then sent through the session's client.
    kwargs = case.as_transport_kwargs(base_url="http://core", headers=auth)
    request = {k: v for k, v in kwargs.items() if k in REQUEST_ARGUMENTS}
    prepared = requests.Request(**request).prepare()
    before = await _fingerprint() if prepared.method in WRITES else None
    response = await client.request(
        prepared.method or "GET",
        prepared.url or "",
        # Header values as bytes on the wire, as `requests` sends them (latin-1: httpx would
        # refuse a str beyond ASCII, which the documented header parameters may generate).
        headers={k: v.encode("latin-1") for k, v in prepared.headers.items()},
        content=prepared.body,
    )
    case.validate_response(response, checks=CHECKS, headers=auth)
    if before is not None and 400 <= response.status_code < 500:
        assert await _fingerprint() == before, (
            f"{prepared.method} {prepared.url} got {response.status_code} and changed data"
        )
