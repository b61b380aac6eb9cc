"""Configuration of the gateway, read from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common import settings as env
from common.settings import Network, SettingsError

__all__ = ["GatewaySettings", "Network", "SettingsError"]

DEFAULT_RATE_LIMIT = env.RATE_LIMIT.default
MAX_BODY_BYTES = 1024 * 1024
SSE_HEARTBEAT = env.SSE_HEARTBEAT.default
SSE_QUEUE = env.SSE_QUEUE.default
SSE_RECHECK = env.SSE_RECHECK.default
# The storefront of this checkout (`heads/storefront/`); ERP_SHOP_DIR overrides.
DEFAULT_SHOP_DIR = env.SHOP_DIR.default


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Everything the gateway needs to know about its surroundings.

    `core_url` is one core's base URL or several, comma-separated (`ERP_CORE_URL`);
    `core_urls` has them one by one.
    """

    core_url: str
    nats_url: str | None = None
    secret: str | None = None
    rate_limit: int = DEFAULT_RATE_LIMIT
    # Share each principal's limit with the other gateways through NATS's key-value store
    # (`gateway.ratelimit_shared`); only with a `nats_url`.
    rate_limit_shared: bool = env.RATE_LIMIT_SHARED.default
    rate_limit_bucket: str = env.RATE_LIMIT_BUCKET.default  # the key-value bucket
    rate_limit_batch: int = env.RATE_LIMIT_BATCH.default  # tokens taken from it at once
    replicas: int = env.STREAM_REPLICAS.default  # copies of that bucket when it is created
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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        """Build settings from `ERP_*` and `NATS_URL` variables (default: `os.environ`);
        SettingsError names a variable that is missing (`ERP_CORE_URL`) or wrong."""
        core_urls = env.CORE_URL.get(environ)
        if not core_urls:
            raise SettingsError("ERP_CORE_URL is required, e.g. http://127.0.0.1:8101")
        return cls(
            core_url=",".join(core_urls),
            nats_url=env.NATS_URL.get(environ),
            secret=env.SECRET.get(environ),
            rate_limit=env.RATE_LIMIT.get(environ),
            rate_limit_shared=env.RATE_LIMIT_SHARED.get(environ),
            rate_limit_bucket=env.RATE_LIMIT_BUCKET.get(environ),
            rate_limit_batch=env.RATE_LIMIT_BATCH.get(environ),
            replicas=env.STREAM_REPLICAS.get(environ),
            portal_url=env.PORTAL_URL.get(environ),
            portal_port=env.PORTAL_PORT.given(environ) or None,  # unset: no portal to link
            log_level=env.LOG_LEVEL.get(environ),
            sse_heartbeat=env.SSE_HEARTBEAT.get(environ),
            sse_queue=env.SSE_QUEUE.get(environ) or SSE_QUEUE,
            sse_recheck=env.SSE_RECHECK.get(environ),
            trusted_proxies=env.TRUSTED_PROXIES.get(environ),
            shop_dir=env.SHOP_DIR.get(environ),
            cors_origins=env.CORS_ORIGINS.get(environ),
        )

    @property
    def core_urls(self) -> tuple[str, ...]:
        """Each core's base URL, in the order given, without a trailing `/` (at least one;
        SettingsError when `core_url` names none or a malformed one)."""
        found = env.urls(env.CORE_URL.name, self.core_url)
        if not found:
            raise SettingsError("ERP_CORE_URL is required, e.g. http://127.0.0.1:8101")
        return found
