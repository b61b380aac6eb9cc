"""The terminal's own small HTTP client for the gateway: a bearer token, a request id per call,
an `Idempotency-Key` on writes, and every failure as one exception, `ApiError`.

Shapes are the gateway's JSON as decoded (dicts and lists); paths are relative to `/api/v1`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

API_PREFIX = "/api/v1"
DEFAULT_GATEWAY = "http://127.0.0.1:8000"
# Short enough that a dead link shows as "offline" within seconds on the scanner.
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
KEEPALIVE = 2.0  # seconds an idle pooled connection is kept
PAGE_LIMIT = 200


def gateway_url(explicit: str | None = None) -> str:
    """The gateway to talk to: `explicit`, else `ERP_GATEWAY_URL`, else the local default."""
    return (explicit or os.environ.get("ERP_GATEWAY_URL") or DEFAULT_GATEWAY).rstrip("/")


class ApiError(Exception):
    """Any failed call: a problem+json answer (status, stable `code`, title, detail, `errors`),
    or status 0 / code `unreachable` when the gateway could not be reached at all."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str = "",
        errors: list[dict[str, Any]] | None = None,
        request_id: str = "",
    ) -> None:
        super().__init__(f"{status} {code}: {detail or title}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.request_id = request_id

    @property
    def offline(self) -> bool:
        """Whether the call never got an answer (the action may be retried as it was)."""
        return self.status == 0

    @property
    def transient(self) -> bool:
        """Whether a retry later may succeed unchanged: no answer, 429 or a 5xx."""
        return self.status == 0 or self.status == 429 or self.status >= 500

    @property
    def message(self) -> str:
        """One line for the screen: the detail, else the title, with field errors appended."""
        text = self.detail or self.title
        fields = "; ".join(f"{e.get('field', '')}: {e.get('message', '')}" for e in self.errors)
        return f"{text} ({fields})" if fields else text

    def as_dict(self) -> dict[str, Any]:
        """The problem as a JSON-able dict (kept with a conflicting queued action)."""
        return {
            "status": self.status,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiError:
        """The inverse of `as_dict`."""
        return cls(data["status"], data["code"], data["title"], data["detail"], data["errors"])


def _problem(response: httpx.Response, request_id: str) -> ApiError:
    """An error answer as an ApiError, whether or not its body is problem+json."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return ApiError(
        response.status_code,
        str(body.get("code") or f"http_{response.status_code}"),
        str(body.get("title") or response.reason_phrase),
        str(body.get("detail") or ""),
        body.get("errors") if isinstance(body.get("errors"), list) else None,
        response.headers.get("x-request-id", request_id),
    )


class Api:
    """The gateway's API as the terminal uses it; one per signed-in session."""

    def __init__(self, base_url: str | None = None, transport: Any = None) -> None:
        self.base_url = gateway_url(base_url)
        self.token: str | None = None
        self.username: str | None = None
        self.role: str | None = None
        self._http = httpx.AsyncClient(
            base_url=self.base_url + API_PREFIX,
            timeout=TIMEOUT,
            transport=transport,
            # Idle connections are dropped before the gateway drops them (its keep-alive is 5 s).
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE),
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        """The headers of one call: a fresh request id, the token, the key if given."""
        headers = {"X-Request-ID": f"wh-{uuid.uuid4()}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One call; the decoded JSON body, or ApiError (status 0 when unreachable)."""
        headers = self.headers(idempotency_key)
        try:
            try:
                response = await self._http.request(
                    method, path, params=params, json=json, headers=headers
                )
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                # The gateway closed a pooled connection as the request went out: send it once
                # more when that cannot apply it twice (a read, or a keyed write).
                if method != "GET" and not idempotency_key:
                    raise
                response = await self._http.request(
                    method, path, params=params, json=json, headers=headers
                )
        except httpx.HTTPError as error:
            raise ApiError(
                0, "unreachable", "The gateway cannot be reached", f"{type(error).__name__}"
            ) from error
        if response.is_error:
            raise _problem(response, headers["X-Request-ID"])
        return response.json() if response.content else None

    async def get(self, path: str, **params: Any) -> Any:
        """GET with query parameters (None values left out)."""
        query = {k: v for k, v in params.items() if v is not None}
        return await self.request("GET", path, params=query)

    async def post(self, path: str, body: Any = None, key: str | None = None) -> Any:
        """POST a JSON body, with an Idempotency-Key when given."""
        return await self.request("POST", path, json=body, idempotency_key=key)

    async def all(self, path: str, cap: int = 1000, **params: Any) -> list[dict[str, Any]]:
        """Every item of a keyset-paged list (at most `cap`), following `next_cursor`."""
        items: list[dict[str, Any]] = []
        async for page in self._pages(path, params):
            items += page
            if len(items) >= cap:
                return items[:cap]
        return items

    async def _pages(self, path: str, params: dict[str, Any]) -> AsyncIterator[list[Any]]:
        cursor = None
        while True:
            page = await self.get(path, limit=PAGE_LIMIT, cursor=cursor, **params)
            yield page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """Get a token for the user; ApiError 401 for a wrong password, 403 if not staff of the
        warehouse (only `warehouse` and `admin` may use the terminal)."""
        answer = await self.post("/auth/token", {"username": username, "password": password})
        if answer.get("role") not in ("warehouse", "admin"):
            raise ApiError(
                403, "not_warehouse", "Not a warehouse user", "Sign in as warehouse staff."
            )
        self.token, self.role = answer["access_token"], answer["role"]
        me = await self.get("/me")
        self.username = me["username"]
        return me
