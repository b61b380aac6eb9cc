"""The portal's own small HTTP client for the ERP gateway (httpx).

Every request carries the bearer token and a fresh `X-Request-ID`; every POST carries an
`Idempotency-Key` (a new one unless the caller derives one, as the CSV import does), so a
retried write is done once. Lists follow the keyset cursor. Every refusal, whether core, the
gateway or the network says it, becomes one exception type, `ApiProblem`, which the pages show
with `ApiProblem.lines()`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

API_PREFIX = "/api/v1"
DEFAULT_GATEWAY = "http://127.0.0.1:8000"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
KEEPALIVE = 2.0  # seconds an idle pooled connection is kept


def gateway_url() -> str:
    """The gateway's base URL: `ERP_GATEWAY_URL`, else the `erp up` default."""
    return (os.environ.get("ERP_GATEWAY_URL") or DEFAULT_GATEWAY).rstrip("/")


@dataclass
class ApiProblem(Exception):
    """An `application/problem+json` answer (RFC 9457), or a transport failure as one.

    `status` is the HTTP status (0 when the gateway could not be reached); `errors` are the
    problem's `(field, message)` pairs, e.g. one per short line of a refused confirmation.
    """

    status: int
    title: str
    detail: str = ""
    code: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list)
    request_id: str = ""

    def __str__(self) -> str:
        return " — ".join(self.lines())

    def lines(self) -> list[str]:
        """Short lines for a person: the title, the detail, then each named field."""
        head = f"{self.title} ({self.status})" if self.status else self.title
        lines = [head]
        if self.detail and self.detail != self.title:
            lines.append(self.detail)
        lines += [f"{name}: {message}" if name else message for name, message in self.errors]
        return lines

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiProblem:
        """The problem a refused response carries (or one made of its status and text)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            text = response.text.strip()[:200]
            return cls(response.status_code, response.reason_phrase or "Error", text)
        errors = [
            (str(e.get("field", "")), str(e.get("message", "")))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        return cls(
            status=int(body.get("status") or response.status_code),
            title=str(body.get("title") or response.reason_phrase or "Error"),
            detail=str(body.get("detail") or ""),
            code=str(body.get("code") or ""),
            errors=errors,
            request_id=str(body.get("request_id") or response.headers.get("x-request-id", "")),
        )


@dataclass(frozen=True)
class Written:
    """The answer to a write: the resource, its ETag, and whether it was a replay."""

    body: Any
    etag: str | None = None
    replayed: bool = False


class Client:
    """Calls `/api/v1/...` on one gateway, as one principal (or anonymously before sign-in)."""

    def __init__(
        self, base_url: str | None = None, token: str | None = None, *, timeout: Any = TIMEOUT
    ) -> None:
        self.base_url = (base_url or gateway_url()).rstrip("/")
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            headers=headers,
            timeout=timeout,
            # Idle connections are dropped before the gateway drops them (its keep-alive is 5 s).
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request with a fresh request id; any non-2xx answer raises `ApiProblem`."""
        sent = {"X-Request-ID": uuid.uuid4().hex, **(headers or {})}
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            try:
                response = self._http.request(method, path, json=json, params=query, headers=sent)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                # The gateway closed a pooled connection as the request went out: send it once
                # more when that cannot apply it twice (a read, or a keyed write).
                if method != "GET" and "Idempotency-Key" not in sent:
                    raise
                response = self._http.request(method, path, json=json, params=query, headers=sent)
        except httpx.HTTPError as error:
            detail = f"{self.base_url}: {type(error).__name__}"
            raise ApiProblem(0, "The gateway cannot be reached", detail) from error
        if response.is_success:
            return response
        raise ApiProblem.from_response(response)

    def get(self, path: str, **params: Any) -> Any:
        """`GET path` → the decoded JSON body."""
        return self.request("GET", path, params=params).json()

    def get_with_etag(self, path: str) -> tuple[Any, str | None]:
        """`GET path` → the body and its `ETag` (for a later `If-Match`)."""
        response = self.request("GET", path)
        return response.json(), response.headers.get("etag")

    def post(
        self, path: str, body: Any = None, *, key: str | None = None, if_match: str | None = None
    ) -> Written:
        """`POST path` with an `Idempotency-Key` (`key`, else a new one) and, for a state
        action, `If-Match` (a stale version is refused with 412 and nothing changes)."""
        headers = {"Idempotency-Key": key or uuid.uuid4().hex}
        if if_match:
            headers["If-Match"] = if_match
        response = self.request("POST", path, json=body, headers=headers)
        return _written(response)

    def patch(self, path: str, body: Any, *, if_match: str | None = None) -> Written:
        """`PATCH path`; with `if_match` a stale version is refused (412) and nothing changes."""
        headers = {"If-Match": if_match} if if_match else {}
        return _written(self.request("PATCH", path, json=body, headers=headers))

    def delete(self, path: str) -> None:
        """`DELETE path`."""
        self.request("DELETE", path)

    def page(
        self, path: str, params: Mapping[str, Any] | None = None, cursor: str | None = None
    ) -> tuple[list[Any], str | None]:
        """One page of a list: its items and the cursor of the next page (None at the end)."""
        body = self.get(path, **{**(params or {}), "cursor": cursor})
        return body["items"], body.get("next_cursor")

    def walk(
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int = 10_000
    ) -> Iterator[Any]:
        """Every item of a list, page after page (at most `limit` items)."""
        cursor: str | None = None
        count = 0
        while True:
            items, cursor = self.page(path, {"limit": 200, **(params or {})}, cursor)
            for item in items:
                if count >= limit:
                    return
                count += 1
                yield item
            if not cursor:
                return

    def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """`POST /auth/token` → `{access_token, token_type, expires_in, role}`."""
        return self.post("/auth/token", {"username": username, "password": password}).body


def _written(response: httpx.Response) -> Written:
    body = response.json() if response.content else None
    replayed = response.headers.get("idempotent-replayed", "").lower() == "true"
    return Written(body, response.headers.get("etag"), replayed)
