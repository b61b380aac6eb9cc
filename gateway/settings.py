"""Configuration of the gateway, read from the environment."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_RATE_LIMIT = 600
MAX_BODY_BYTES = 1024 * 1024
SSE_HEARTBEAT = 15.0
SSE_QUEUE = 1000
SSE_RECHECK = 5.0
# The storefront of this checkout (`heads/storefront/` beside `gateway/`); ERP_SHOP_DIR overrides.
DEFAULT_SHOP_DIR = Path(__file__).resolve().parent.parent / "heads" / "storefront"


class SettingsError(ValueError):
    """A required variable is missing or a value cannot be parsed."""


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Everything the gateway needs to know about its surroundings."""

    core_url: str
    nats_url: str | None = None
    secret: str | None = None
    rate_limit: int = DEFAULT_RATE_LIMIT
    portal_url: str | None = None
    portal_port: int | None = None
    log_level: str = "INFO"
    max_body_bytes: int = MAX_BODY_BYTES
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    ready_timeout: float = 2.0
    sse_heartbeat: float = SSE_HEARTBEAT  # seconds between `: keep-alive` comments
    sse_queue: int = SSE_QUEUE  # live events buffered per client before it is dropped
    sse_recheck: float = SSE_RECHECK  # seconds between re-checks of open streams' credentials
    # Peers whose `X-Forwarded-For` is believed (`ERP_TRUSTED_PROXIES`); empty: trust none.
    trusted_proxies: tuple[Network, ...] = ()
    shop_dir: Path = DEFAULT_SHOP_DIR  # the storefront's files, served at /shop/
    # Browser origins allowed to call /api/v1/* from another site (`ERP_CORS_ORIGINS`).
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewaySettings:
        """Build settings from `ERP_*` and `NATS_URL` variables (default: `os.environ`)."""
        env = os.environ if env is None else env
        core_url = env.get("ERP_CORE_URL", "").strip()
        if not core_url:
            raise SettingsError("ERP_CORE_URL is required, e.g. http://127.0.0.1:8101")
        return cls(
            core_url=core_url.rstrip("/"),
            nats_url=env.get("NATS_URL", "").strip() or None,
            secret=env.get("ERP_SECRET") or None,
            rate_limit=_int(env, "ERP_RATE_LIMIT", DEFAULT_RATE_LIMIT),
            portal_url=env.get("ERP_PORTAL_URL", "").strip() or None,
            portal_port=_int(env, "ERP_PORTAL_PORT", 0) or None,
            log_level=(env.get("ERP_LOG_LEVEL", "").strip() or "INFO").upper(),
            sse_heartbeat=_float(env, "ERP_SSE_HEARTBEAT", SSE_HEARTBEAT),
            sse_queue=_int(env, "ERP_SSE_QUEUE", SSE_QUEUE) or SSE_QUEUE,
            sse_recheck=_float(env, "ERP_SSE_RECHECK", SSE_RECHECK),
            trusted_proxies=networks(env.get("ERP_TRUSTED_PROXIES", ""), "ERP_TRUSTED_PROXIES"),
            shop_dir=Path(env.get("ERP_SHOP_DIR", "").strip() or DEFAULT_SHOP_DIR).expanduser(),
            cors_origins=origins(env.get("ERP_CORS_ORIGINS", "")),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    """Read a non-negative integer variable, or the default when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must be >= 0, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    """Read a positive number of seconds, or the default when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not value > 0:
        raise SettingsError(f"{name} must be > 0, got {value}")
    return value


def networks(raw: str, name: str = "value") -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks (`10.0.0.7, 192.168.0.0/16, ::1`).

    A bare address is a network of one; an empty string is no network. `SettingsError` names
    the first entry that is neither (host names are refused: a proxy is trusted by address).
    """
    found: list[Network] = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise SettingsError(f"{name}: {entry!r} is not an address or a network") from None
    return tuple(found)


def origins(raw: str, name: str = "ERP_CORS_ORIGINS") -> tuple[str, ...]:
    """Comma-separated browser origins (`https://shop.example.com, http://127.0.0.1:5500`).

    Each is a scheme (http or https), a host and an optional port, nothing else, compared
    exactly with a request's `Origin` (scheme and host in lower case, no default port, as
    browsers send them; a trailing `/` is dropped). `*`, `null`, a path, a query or
    credentials are a `SettingsError` naming the entry: the gateway allows listed sites only.
    """
    found: list[str] = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        try:
            url = urlsplit(entry.removesuffix("/"))
            port = url.port
        except ValueError:
            raise SettingsError(f"{name}: {entry!r} is not an origin") from None
        plain = url.scheme in ("http", "https") and url.hostname and not url.username
        if not plain or url.path or url.query or url.fragment or url.password:
            raise SettingsError(f"{name}: {entry!r} is not an origin like https://shop.example")
        host = f"[{url.hostname}]" if ":" in (url.hostname or "") else url.hostname
        default = {"http": 80, "https": 443}[url.scheme]  # browsers leave it out of `Origin`
        found.append(f"{url.scheme}://{host}" + (f":{port}" if port not in (None, default) else ""))
    return tuple(dict.fromkeys(found))
