"""Every problem the gateway answers itself matches the one published `Problem` schema.

Source: the contract, "Conventions" (every problem, whether core or the gateway answers it,
carries a stable `code` and matches the one `Problem` schema) and issue 11 (a client generated
from the OpenAPI document raised `KeyError: 'code'` on the gateway's own answers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from common.problems import CODES
from gateway.problems import internal_error_handler
from gateway.settings import GatewaySettings
from stack.env import PROJECT_ROOT
from tests.gateway.gateway_support import GatewayFactory, free_port

STREAM = "/api/v1/events/stream"
OPENAPI = PROJECT_ROOT / "tests" / "snapshots" / "openapi.json"


def problem_validator() -> jsonschema.Draft202012Validator:
    """A validator for core's published `Problem` (its `$ref`s resolved in the same document)."""
    document = json.loads(OPENAPI.read_text())
    schema = {"$ref": "#/components/schemas/Problem", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


def assert_published_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The answer is a problem+json with this status and code that the published schema takes."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    errors = [e.message for e in problem_validator().iter_errors(body)]
    assert not errors, (body, errors)
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith("/" + code)
    return body


async def test_the_published_problem_schema_requires_a_code() -> None:
    # given the published schema, then a problem without `code` is refused by it
    body = {"type": "https://erp.example/problems/x", "title": "X", "status": 400, "detail": "x"}
    assert not problem_validator().is_valid(body)
    assert problem_validator().is_valid({**body, "code": "x"})


async def test_the_edges_own_answers_match_the_published_problem(
    gateway: GatewayFactory, tmp_path: Path
) -> None:
    limit = GatewaySettings(core_url="").max_body_bytes
    # given gateways before a live, a slow and a missing core
    async with gateway(read_timeout=0.2, shop_dir=tmp_path / "no-shop") as gw:
        # when the gateway answers by itself, then every answer is a published problem
        assert_published_problem(await gw.get("/api/v1/a//b"), 400, "invalid_path")
        big = b"x" * (limit + 1)
        assert_published_problem(
            await gw.post("/api/v1/echo/x", content=big), 413, "body_too_large"
        )
        assert_published_problem(await gw.get("/api/v1/slow"), 504, "gateway_timeout")
        assert_published_problem(await gw.get("/no-such-page"), 404, "not_found")
        response = await gw.post("/api/v1/health/live")
        assert_published_problem(response, 405, "method_not_allowed")
        assert_published_problem(await gw.get("/shop/"), 404, "shop_not_installed")
        assert_published_problem(await gw.post("/shop/"), 405, "method_not_allowed")
        preflight = {"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"}
        response = await gw.options("/api/v1/products", headers=preflight)
        assert_published_problem(response, 403, "origin_not_allowed")
    async with gateway(core_url=f"http://127.0.0.1:{free_port()}") as gw:
        assert_published_problem(await gw.get("/api/v1/echo/x"), 502, "bad_gateway")


async def test_rate_limit_and_readiness_answers_match_the_published_problem(
    gateway: GatewayFactory,
) -> None:
    # given a gateway allowing one request a minute, and one whose NATS is down
    async with gateway(rate_limit=1) as gw:
        answers = [await gw.get("/api/v1/echo/x") for _ in range(5)]
    refused = [r for r in answers if r.status_code == 429]
    assert refused, [r.status_code for r in answers]
    assert_published_problem(refused[0], 429, "rate_limited")
    assert refused[0].headers["retry-after"]
    async with gateway(nats_url=f"nats://127.0.0.1:{free_port()}") as gw:
        response = await gw.get("/api/v1/health/ready")
    assert_published_problem(response, 503, "not_ready")


async def test_the_event_streams_own_refusals_match_the_published_problem(
    gateway: GatewayFactory,
) -> None:
    # given a gateway, when the stream is asked wrongly, then each refusal is a published problem
    async with gateway() as gw:
        assert_published_problem(await gw.post(STREAM), 405, "method_not_allowed")
        response = await gw.get(STREAM, headers={"Last-Event-ID": "x", "Authorization": "Bearer t"})
        assert_published_problem(response, 400, "malformed")
        response = await gw.get(STREAM, params={"types": "erp.Bad!"})
        assert_published_problem(response, 400, "malformed")
        assert_published_problem(await gw.get(STREAM), 401, "unauthorized")


def test_a_fault_of_the_gateway_has_the_code_of_a_fault_of_core() -> None:
    # given an unexpected error in a gateway handler, when it is answered
    response = internal_error_handler(None, RuntimeError("boom"))  # type: ignore[arg-type]
    # then the problem's code is core's for a fault (`internal`; it was `internal_error`)
    assert (response.status_code, response.content["code"]) == (500, "internal")
    assert response.content["code"] == CODES[500][0]
