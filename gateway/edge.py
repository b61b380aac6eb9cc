"""The edge every HTTP request passes: request id, path check, client address, rate limit,
security headers, CORS, access log, and routing to core or to the storefront's files."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable, Sequence

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, HTTPScope, Message, Receive, Scope, Send

from common.logs import request_id_var
from common.paths import path_problem
from common.request_ids import log_access, request_id, with_request_id
from gateway.cors import Cors
from gateway.forwarded import Origin, origin
from gateway.limits import Charge, RatePolicy
from gateway.logs import ACCESS_LOGGER
from gateway.paths import raw_path_of
from gateway.principal import credential
from gateway.problems import send_problem
from gateway.proxy import Proxy
from gateway.ratelimit import retry_after_header
from gateway.settings import Network
from gateway.shop import Shop, is_shop_path

API_PREFIX = "/api/v1/"
# Probes must work while a client is limited; only these exact paths are exempt.
UNLIMITED = frozenset({"/api/v1/health/live", "/api/v1/health/ready"})
# Sent with every answer that does not set its own (OWASP's secure headers for an API): no
# sniffing, no framing, no referrer, and a CSP that allows nothing; a page that needs more
# (the landing page, core's docs) sends its own `Content-Security-Policy`.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
_access = logging.getLogger(ACCESS_LOGGER)
_log = logging.getLogger("gateway")


class Reply:
    """The client's `send`: adds the request id, the security headers and the CORS headers
    (`cors`: `gateway.cors.Cors.headers` of the request), keeps the status."""

    def __init__(self, send: Send, rid: str, cors: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self.send = send
        self.rid = rid
        self.cors = list(cors)
        self.status = 0

    async def __call__(self, message: Message) -> None:
        """Pass one ASGI message on, completing the headers of the response start."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
            start: HTTPResponseStartEvent = {
                **message,
                "headers": self._headers(message.get("headers", [])),
            }
            message = start
        await self.send(message)

    def _headers(self, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        headers = list(headers)
        present = {k.lower() for k, _ in headers}
        extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
        return with_request_id([*headers, *extra, *self.cors], self.rid)


class Edge:
    """Wraps the Litestar app: requests under `/api/v1/` not served locally go to core."""

    def __init__(
        self,
        app: ASGIApp,
        proxy: Proxy,
        policy: RatePolicy | None,
        trusted_proxies: Sequence[Network],
        is_local: Callable[[str], bool],
        cors: Cors | None = None,
        shop: Shop | None = None,
    ) -> None:
        self.app = app
        self.proxy = proxy
        self.policy = policy
        self.trusted_proxies = tuple(trusted_proxies)
        self.is_local = is_local
        self.cors = cors or Cors(())
        self.shop = shop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection; only `http` ones get the edge treatment."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope["headers"])
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        token = request_id_var.set(rid)
        reply = Reply(send, rid, self.cors.headers(scope))
        try:
            await self._handle(scope, receive, reply)
        except Exception:
            _log.exception("unhandled error", extra={"request_id": rid})
            if reply.status:
                raise
            await send_problem(reply, 500, "internal", "The gateway failed.")
        finally:
            client = state.get("client_address")
            log_access(_access, scope, reply.status, started, request_id=rid, client=client)
            request_id_var.reset(token)

    async def _handle(self, scope: HTTPScope, receive: Receive, reply: Reply) -> None:
        """Check the path, find the client, charge its bucket, then answer or forward."""
        problem = path_problem(raw_path_of(scope))
        if problem is not None:
            await send_problem(reply, 400, "invalid_path", problem)
            return
        client = origin(scope, self.trusted_proxies)
        scope["state"]["client_address"] = client.address
        charge: Charge | None = None
        if self.policy is not None and _limited(scope["path"]):
            charge = await self.policy.admit(credential(scope), client.address, reply.rid)
            if charge.wait:
                retry = retry_after_header(charge.wait)
                detail = f"Too many requests; retry in {retry} s."
                headers = [(b"retry-after", retry.encode())]
                await send_problem(reply, 429, "rate_limited", detail, headers)
                return
        try:
            await self._route(scope, receive, reply, client)
        finally:
            if charge is not None and self.policy is not None:
                await self.policy.settle(charge, reply.status)

    async def _route(
        self, scope: HTTPScope, receive: Receive, reply: Reply, client: Origin
    ) -> None:
        """Answer locally, or forward to core what the gateway does not serve itself."""
        path = scope["path"]
        if self.cors.is_preflight(scope):
            await self.cors.preflight(scope, reply)
        elif self.shop is not None and is_shop_path(path):
            await self.shop(scope, receive, reply)
        elif path.startswith(API_PREFIX) and not self.is_local(path):
            await self.proxy(scope, receive, reply, reply.rid, client)
        else:
            await self.app(scope, receive, reply)


def _limited(path: str) -> bool:
    """Whether the rate limit applies: not to the probes, nor to the storefront's files (static,
    public, no core nor database behind them; a page load fetches a dozen, and shoppers behind
    one address would share a budget meant for API calls)."""
    return path.rstrip("/") not in UNLIMITED and not is_shop_path(path)


def local_paths(paths: Collection[str]) -> Callable[[str], bool]:
    """A predicate telling whether the gateway itself serves `path`."""
    plain = frozenset(p.rstrip("/") or "/" for p in paths)
    return lambda path: (path.rstrip("/") or "/") in plain
