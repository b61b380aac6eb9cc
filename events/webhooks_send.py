"""Sending one attempt: sign per Standard Webhooks, check the target, POST, report the status."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from events import webhooks_rules as standard
from events.webhooks_db import Claimed


class Sender:
    """POSTs events; redirects are not followed (a 3xx is a failure), the body is not read."""

    def __init__(self, master_secret: str, timeout: float, allow_private: bool) -> None:
        self.master_secret = master_secret
        self.timeout = timeout
        self.allow_private = allow_private
        self.http = httpx.AsyncClient(follow_redirects=False, trust_env=False)

    async def post(self, claimed: Claimed) -> tuple[int | None, str | None]:
        """POST the signed event; (status, None), or (None, why it was not answered)."""
        job, url = claimed.job, claimed.url or ""
        body = job.body.encode()
        timestamp = int(time.time())
        sealed = [claimed.secret_sealed]
        if claimed.previous_secret_sealed and (claimed.previous_until_ms or 0) > timestamp * 1000:
            sealed.append(claimed.previous_secret_sealed)  # a rotation's grace period
        try:
            secrets = [standard.unseal(s, self.master_secret) for s in sealed]
        except Exception:  # sealed under another ERP_SECRET
            return None, "the secret cannot be unsealed: was ERP_SECRET changed?"
        headers = {
            "content-type": "application/json",
            "webhook-id": job.id,
            "webhook-timestamp": str(timestamp),
            # Standard Webhooks: several signatures, space-separated; any one may match.
            "webhook-signature": " ".join(
                standard.sign(secret, job.id, timestamp, body) for secret in secrets
            ),
        }
        extensions: dict[str, Any] = {}
        try:
            async with asyncio.timeout(self.timeout):
                if not self.allow_private:
                    url = await self.pinned(url, headers, extensions)
                request = self.http.build_request(
                    "POST",
                    url,
                    content=body,
                    headers=headers,
                    extensions=extensions,
                    timeout=self.timeout,
                )
                response = await self.http.send(request, stream=True)
                await response.aclose()  # the body is not read: only the status counts
                return response.status_code, None
        except standard.TargetRefused as refused:
            return None, f"refused: {refused}"
        except TimeoutError:
            return None, f"timeout after {self.timeout:g} s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]

    async def pinned(self, url: str, headers: dict[str, str], extensions: dict[str, Any]) -> str:
        """Check the target resolves to public addresses only (DNS may have changed since it was
        subscribed) and connect to the address checked, so a second lookup cannot differ."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = (await standard.resolve_public(host, port))[0]
        shown = f"[{address}]" if address.version == 6 else str(address)
        headers["host"] = parts.netloc
        if parts.scheme == "https":
            extensions["sni_hostname"] = host
        return urlunsplit(parts._replace(netloc=f"{shown}:{port}"))

    async def close(self) -> None:
        await self.http.aclose()
