"""Every environment variable the stack's processes read: its name, default, parser and a
one-line doc, in one place.

Each variable is a typed `Var`; a process reads the ones it needs with `Var.get(env)` (default
`os.environ`) into its own settings (`core.config.Settings`, `gateway.settings.GatewaySettings`,
the relay's and the dispatcher's `Settings`, `stack.serve.ServeSettings`). An unset or blank
variable is its default; a value its parser cannot use is a `SettingsError` naming the variable.
`python -m common.settings` prints the README's table of them (`--readme` rewrites it there).
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Parser = Callable[[str, str], T]  # (variable name, its value, not blank) -> the typed value
# The checkout: `heads/storefront` beside `common/` is the gateway's default storefront.
CHECKOUT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A variable is missing or has a value its parser cannot use; the message names it."""


@dataclass(frozen=True, slots=True)
class Var(Generic[T]):
    """One environment variable: `name`, the `default` when unset or blank, which processes
    read it (`read_by`), what it is for (`doc`, one line), and `shown`, the default as the
    README says it when `str(default)` would not do."""

    name: str
    default: T
    parse: Parser[T]
    read_by: str
    doc: str
    shown: str | None = None

    def get(self, env: Mapping[str, str] | None = None) -> T:
        """The value in `env` (default `os.environ`); SettingsError when it cannot be used."""
        raw = (os.environ if env is None else env).get(self.name, "")
        return self.default if not raw.strip() else self.parse(self.name, raw)

    def given(self, env: Mapping[str, str] | None = None) -> T | None:
        """The value when the variable is set (not blank), else None rather than the default."""
        raw = (os.environ if env is None else env).get(self.name, "")
        return None if not raw.strip() else self.parse(self.name, raw)

    @property
    def default_text(self) -> str:
        """The default as the README's table shows it."""
        if self.shown is not None:
            return self.shown
        return "none" if self.default in (None, (), "") else f"`{self.default}`"


# --- parsers: (name, raw) -> value ---------------------------------------------------------


def text(_: str, raw: str) -> str:
    """The value without surrounding blanks."""
    return raw.strip()


def optional_text(_: str, raw: str) -> str | None:
    """The value without surrounding blanks (a blank one is the default, None)."""
    return raw.strip()


def verbatim(_: str, raw: str) -> str | None:
    """The value exactly as given (secrets and passwords: blanks may be part of them)."""
    return raw


def upper(_: str, raw: str) -> str:
    """The value in upper case (log levels)."""
    return raw.strip().upper()


def flag(_: str, raw: str) -> bool:
    """`1`, `true` or `yes` (any case) is True; anything else False."""
    return raw.strip().lower() in {"1", "true", "yes"}


def path(_: str, raw: str) -> Path:
    """A path, `~` expanded."""
    return Path(raw.strip()).expanduser()


def seconds(most: float) -> Parser[float]:
    """A number of seconds above 0 and at most `most` (fractions allowed)."""

    def parse(name: str, raw: str) -> float:
        value = _number(name, raw)
        if not 0 < value <= most:
            raise SettingsError(f"{name} must be above 0 and at most {most:g} seconds, not {raw!r}")
        return value

    return parse


def count(most: int = 2**31) -> Parser[int]:
    """A whole number from 0 to `most`."""
    return between(0, most)


def between(least: int, most: int) -> Parser[int]:
    """A whole number from `least` to `most`."""

    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
        if not least <= value <= most:
            raise SettingsError(f"{name} must be from {least} to {most}, not {raw!r}")
        return value

    return parse


def positive(most: float) -> Parser[float]:
    """A number above 0 and at most `most`."""

    def parse(name: str, raw: str) -> float:
        value = _number(name, raw)
        if not 0 < value <= most:
            raise SettingsError(
                f"{name} must be a number above 0 and at most {most:g}, not {raw!r}"
            )
        return value

    return parse


def non_negative(name: str, raw: str) -> float:
    """A finite number of 0 or more."""
    value = _number(name, raw)
    if not 0 <= value < math.inf:
        raise SettingsError(f"{name} must be a number >= 0, not {raw!r}")
    return value


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if math.isnan(value):
        raise SettingsError(f"{name} must be a number, not {raw!r}")
    return value


def networks(name: str, raw: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks (`10.0.0.7, 192.168.0.0/16, ::1`).

    A bare address is a network of one; blank entries are skipped. Host names are refused (a
    proxy is trusted by address): SettingsError names the first entry that is neither.
    """
    found: list[Network] = []
    for entry in (part.strip() for part in raw.split(",")):
        if entry:
            try:
                found.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise SettingsError(f"{name}: {entry!r} is not an address or a network") from None
    return tuple(found)


def origins(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated browser origins (`https://shop.example.com, http://127.0.0.1:5500`).

    Each is a scheme (http or https), a host and an optional port, nothing else, normalised as
    browsers send `Origin` (scheme and host in lower case, no default port, no trailing `/`).
    `*`, `null`, a path, a query or credentials are a SettingsError naming the entry.
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


def urls(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated base URLs (`http://core-a:8101, http://core-b:8101/`), each http or https
    with a host and an optional port and path, no query, fragment or credentials; a trailing
    `/` is dropped and a repeated URL kept once. SettingsError names the first bad entry."""
    found: list[str] = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        try:
            url = urlsplit(entry)
            url.port  # noqa: B018 (a malformed port raises here)
        except ValueError:
            raise SettingsError(f"{name}: {entry!r} is not a URL") from None
        plain = url.scheme in ("http", "https") and url.hostname and not url.username
        if not plain or url.query or url.fragment or url.password:
            raise SettingsError(f"{name}: {entry!r} is not a URL like http://core:8101")
        found.append(entry.rstrip("/"))
    return tuple(dict.fromkeys(found))


def kv_bucket(name: str, raw: str) -> str:
    """A NATS key-value bucket name: letters, digits, `-` and `_` (what JetStream allows)."""
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise SettingsError(f"{name} may hold only letters, digits, - and _, not {raw!r}")
    return value


# --- the variables, in the README's order -------------------------------------------------

VARIABLES: dict[str, Var[Any]] = {}


def _var(
    name: str,
    default: T,
    parse: Parser[T],
    read_by: str,
    doc: str,
    shown: str | None = None,
) -> Var[T]:
    var = Var(name, default, parse, read_by, doc, shown)
    VARIABLES[name] = var
    return var


NO_NETWORKS: tuple[Network, ...] = ()
NO_ORIGINS: tuple[str, ...] = ()
ALL = "all"
CORE_AND_GATEWAY = "core, gateway (`stack.serve`)"
WEBHOOKS = "webhooks"

HOME = _var(
    "ERP_HOME",
    Path(".erp"),
    path,
    ALL,
    "the data folder (secret, database, logs, NATS store)",
    "`./.erp`",
)
DATABASE_URL = _var(
    "DATABASE_URL",
    None,
    optional_text,
    "core, relay, webhooks, erp",
    "`sqlite:///path/to/file.sqlite3` or `postgresql://user@host:port/db`",
    "SQLite in `ERP_HOME/erp.sqlite3`",
)
NATS_URL = _var(
    "NATS_URL",
    None,
    optional_text,
    "relay, webhooks, gateway, erp up",
    "an external NATS with JetStream, e.g. `nats://host:4222`; comma-separated for a cluster"
    " (`nats://a:4222,nats://b:4222`)",
    "the bundled server (`erp up`); `nats://127.0.0.1:4222` for `erp relay` and `erp webhooks`",
)
SECRET = _var(
    "ERP_SECRET",
    None,
    verbatim,
    "core, gateway, webhooks",
    "token signing key (it also signs list cursors and seals webhook secrets: changing it ends the"
    " cursors given out)",
    "generated into `ERP_HOME/secret`",
)
GATEWAY_HOST = _var(
    "ERP_GATEWAY_HOST", "127.0.0.1", text, "erp up", "the address the gateway listens on"
)
GATEWAY_PORT = _var(
    "ERP_GATEWAY_PORT",
    8000,
    count(65535),
    "erp up",
    "the gateway's port (the next free port when taken)",
)
PORTAL_PORT = _var(
    "ERP_PORTAL_PORT",
    8501,
    count(65535),
    "erp up, gateway",
    "the portal's port (the next free port when taken); the landing page links it",
)
PORTAL_URL = _var(
    "ERP_PORTAL_URL",
    None,
    optional_text,
    "gateway",
    "the portal's URL for the landing page's link; `erp up` sets it",
    "the portal port on the host the visitor used",
)
GATEWAY_URL = _var(
    "ERP_GATEWAY_URL",
    None,
    optional_text,
    "erp terminal, heads",
    "the gateway a head talks to",
    "the one `erp up` runs for the same `ERP_HOME`",
)
NO_URLS: tuple[str, ...] = ()
CORE_URL = _var(
    "ERP_CORE_URL",
    NO_URLS,
    urls,
    "gateway",
    "where the gateway finds core (required); `erp up` sets it. Several cores, comma-separated"
    " (`http://core-a:8101,http://core-b:8101`): the gateway spreads requests over the healthy"
    " ones, sends a request whose connection a core refused to another, retries a read (GET,"
    " HEAD, OPTIONS) or a write with an `Idempotency-Key` on another when a core drops it before"
    " answering, and leaves out a failing core until it answers its probe again",
)
RATE_LIMIT = _var(
    "ERP_RATE_LIMIT",
    600,
    count(),
    "gateway",
    "requests per minute, per signed-in user or confirmed API key, else per client address (which"
    " also pays for every 401), across the gateways that share a NATS (`ERP_RATE_LIMIT_SHARED`);"
    " `0` turns it off",
)
RATE_LIMIT_SHARED = _var(
    "ERP_RATE_LIMIT_SHARED",
    True,
    flag,
    "gateway",
    "`1`: the gateways that share a NATS (`NATS_URL`) share each principal's limit through its"
    " key-value store, and each limits on its own while NATS is away; `0`: every gateway limits"
    " on its own (then set `ERP_RATE_LIMIT` to the limit divided by the number of gateways)",
    "`1`",
)
RATE_LIMIT_BUCKET = _var(
    "ERP_RATE_LIMIT_BUCKET",
    "erp_rate_limits",
    kv_bucket,
    "gateway",
    "the NATS key-value bucket of the shared limits (in memory, entries gone after 60 s"
    " unused); the gateways of one deployment name the same, another deployment on the same"
    " NATS its own",
)
RATE_LIMIT_BATCH = _var(
    "ERP_RATE_LIMIT_BATCH",
    10,
    count(10_000),
    "gateway",
    "requests a gateway takes from a principal's shared limit at once (at most 1/20 of"
    " `ERP_RATE_LIMIT`; `0` or `1`: NATS is asked for every request); a principal may get up to"
    " this many more per gateway, or fewer while another gateway holds them",
)
SIGNIN_USER_LIMIT = _var(
    "ERP_SIGNIN_USER_LIMIT",
    5.0,
    positive(1e9),
    "core",
    "failed sign-ins per username (from any address) before core answers 429 with `Retry-After`",
    "`5`",
)
SIGNIN_ADDRESS_LIMIT = _var(
    "ERP_SIGNIN_ADDRESS_LIMIT",
    20.0,
    positive(1e9),
    "core",
    "failed sign-ins per client address (for any username) before 429; raise it where many users"
    " share one address (the one uvicorn resolves from `X-Forwarded-For` of a trusted proxy, so"
    " core must trust the gateway: `ERP_CORE_TRUSTED_PROXIES`)",
    "`20`",
)
SIGNIN_DELAY = _var(
    "ERP_SIGNIN_DELAY",
    1.0,
    positive(1e9),
    "core",
    "seconds of the first wait once a limit is reached; each further failure doubles it",
    "`1`",
)
SIGNIN_DELAY_MAX = _var(
    "ERP_SIGNIN_DELAY_MAX",
    900.0,
    positive(1e9),
    "core",
    "the longest such wait in seconds",
    "`900`",
)
SIGNIN_FORGET = _var(
    "ERP_SIGNIN_FORGET",
    3600.0,
    positive(1e9),
    "core",
    "seconds without a failure (or a wait) after which a username's or address's count starts over",
    "`3600`",
)
TOKEN_TTL = _var("ERP_TOKEN_TTL", 3600, count(), "core", "seconds a signed-in user's token lasts")
CURRENCY = _var("ERP_CURRENCY", "EUR", text, "core", "the currency of prices and documents")
ADMIN_PASSWORD = _var(
    "ERP_ADMIN_PASSWORD",
    None,
    verbatim,
    "core",
    "creates the first `admin` user at start when no admin exists",
)
LOG_LEVEL = _var(
    "ERP_LOG_LEVEL",
    "INFO",
    upper,
    ALL,
    "`DEBUG`, `INFO`, `WARNING` or `ERROR`; `DEBUG` turns on uvicorn's access log too",
)
RELAY_WAKE = _var(
    "ERP_RELAY_WAKE",
    "",
    text,
    "core, relay",
    "`127.0.0.1:PORT` on which core nudges the relay after each commit (SQLite); `erp up` sets it",
)
RELAY_POLL = _var(
    "ERP_RELAY_POLL",
    None,
    positive(3600),
    "relay",
    "seconds between the relay's looks for new rows",
    "`0.05` on SQLite, `0.5` on PostgreSQL",
)
RELAY_BATCH = _var(
    "ERP_RELAY_BATCH", 200, count(), "relay", "outbox rows the relay numbers and publishes at once"
)
STREAM = _var(
    "ERP_STREAM", "ERP", text, "relay, webhooks", "the JetStream stream the events are published to"
)
STREAM_REPLICAS = _var(
    "ERP_STREAM_REPLICAS",
    1,
    between(1, 5),  # JetStream's own bounds for a stream's replicas
    "relay, gateway",
    "copies of the stream the relay creates, and of the gateways' shared rate-limit store"
    " (1 to 5, at most the cluster's servers): 1 (the"
    " embedded server) survives a restart of its server but not the loss of it or its disk, and"
    " events stop while it is down; 3 (docker-compose) survives the loss of any one server, disk"
    " and all, with delivery back within seconds. The relay never changes an existing stream: it"
    " warns when its settings differ",
    "`1`; `3` in docker-compose",
)
WEBHOOKS_ALLOW_PRIVATE = _var(
    "ERP_WEBHOOKS_ALLOW_PRIVATE",
    False,
    flag,
    WEBHOOKS,
    "`1` lets webhooks target loopback and private networks (`erp up` sets it for the local demo"
    " and says so); otherwise a target must be public by its address and by every IPv4 address it"
    " carries (6to4, Teredo, NAT64, IPv4-mapped or -compatible, ISATAP)",
    "off (`erp up`: on)",
)
WEBHOOKS_CONSUMER = _var(
    "ERP_WEBHOOKS_CONSUMER",
    "erp-webhooks",
    text,
    WEBHOOKS,
    "the dispatcher's durable JetStream consumer",
)
WEBHOOKS_TIMEOUT = _var(
    "ERP_WEBHOOKS_TIMEOUT",
    10.0,
    seconds(3600),
    WEBHOOKS,
    "seconds one delivery attempt may take, connect to response",
    "`10`",
)
WEBHOOKS_RETRY_BASE = _var(
    "ERP_WEBHOOKS_RETRY_BASE",
    5.0,
    seconds(86400),
    WEBHOOKS,
    "seconds before a delivery's second attempt; each next one waits 4 times longer (jittered)",
    "`5`",
)
WEBHOOKS_RETRY_CAP = _var(
    "ERP_WEBHOOKS_RETRY_CAP",
    21600.0,
    seconds(604800),
    WEBHOOKS,
    "the longest wait between two attempts, in seconds",
    "`21600`",
)
WEBHOOKS_MAX_ATTEMPTS = _var(
    "ERP_WEBHOOKS_MAX_ATTEMPTS",
    8,
    count(),
    WEBHOOKS,
    "attempts at one delivery before it is given up",
)
WEBHOOKS_DISABLE_AFTER = _var(
    "ERP_WEBHOOKS_DISABLE_AFTER",
    10,
    count(),
    WEBHOOKS,
    "failed attempts in a row that disable a subscription",
)
RESTART_LIMIT = _var(
    "ERP_RESTART_LIMIT",
    5.0,
    non_negative,
    "erp up",
    "restarts of one process within `ERP_RESTART_WINDOW` before `erp up` gives up; `0` stops the"
    " stack when any process dies",
    "`5`",
)
RESTART_WINDOW = _var(
    "ERP_RESTART_WINDOW",
    300.0,
    non_negative,
    "erp up",
    "seconds in which restarts are counted",
    "`300`",
)
START_TIMEOUT = _var(
    "ERP_START_TIMEOUT",
    90.0,
    seconds(3600),
    "erp up",
    "seconds a process of the stack has to become ready at start",
    "`90`",
)
SSE_HEARTBEAT = _var(
    "ERP_SSE_HEARTBEAT",
    15.0,
    seconds(86400),
    "gateway",
    "seconds between keep-alive comments on the event stream",
    "`15`",
)
SSE_RECHECK = _var(
    "ERP_SSE_RECHECK",
    5.0,
    seconds(86400),
    "gateway",
    "seconds between re-checks of open event streams' credentials with core; a stream whose user"
    " was deactivated, whose key was revoked or whose role changed ends",
    "`5`",
)
SSE_QUEUE = _var(
    "ERP_SSE_QUEUE",
    1000,
    count(),
    "gateway",
    "live events buffered per stream client before it is dropped (`0`: the default)",
)
HEADER_TIMEOUT = _var(
    "ERP_HEADER_TIMEOUT",
    10.0,
    seconds(86400),
    CORE_AND_GATEWAY,
    "seconds a client has to send a request's line and headers; later: a 408 problem and the"
    " connection closed",
    "`10`",
)
BODY_TIMEOUT = _var(
    "ERP_BODY_TIMEOUT",
    30.0,
    seconds(86400),
    CORE_AND_GATEWAY,
    "seconds a client has to send the body it announced, and to go on reading an answer",
    "`30`",
)
KEEP_ALIVE_TIMEOUT = _var(
    "ERP_KEEP_ALIVE_TIMEOUT",
    5.0,
    seconds(86400),
    CORE_AND_GATEWAY,
    "seconds an idle keep-alive connection stays open",
    "`5`",
)
MAX_CONNECTIONS_PER_CLIENT = _var(
    "ERP_MAX_CONNECTIONS_PER_CLIENT",
    256,
    count(),
    CORE_AND_GATEWAY,
    "open connections one client address may hold (an IPv6 client is its /64); one more gets a 429"
    " problem; trusted proxies are not counted; `0` turns the cap off",
)
CORE_WORKERS = _var(
    "ERP_CORE_WORKERS",
    1,
    count(64),
    "core (`stack.serve`), erp up",
    "processes serving core's API on one port. `0` picks: 1 on SQLite (writers in several"
    " processes would queue for the file's lock through SQLite's unfair busy wait), on"
    " PostgreSQL one per usable CPU up to 4 (the container's CPU quota and affinity counted:"
    " `stack.cpus`). On Linux the kernel hands all connections of one client address to the"
    " same worker, so `ERP_MAX_CONNECTIONS_PER_CLIENT` holds for core as a whole; elsewhere each"
    " worker counts on its own. A worker that dies stops the others (the launcher exits with its"
    " code), and workers end with their launcher even when it is killed. The launcher sets the"
    " variable to the number it runs, for the pool (`ERP_DB_POOL_SIZE`)",
    "`1`",
)
DB_POOL_SIZE = _var(
    "ERP_DB_POOL_SIZE",
    20,
    between(1, 1000),
    "core",
    "PostgreSQL connections one core may hold, shared by its workers (each gets this divided by"
    " `ERP_CORE_WORKERS`, at least 1). Keep this times the cores, plus about 10 (relay,"
    " webhooks, erp), under the server's `max_connections` (100 by default)",
    "`20`",
)
TRUSTED_PROXIES = _var(
    "ERP_TRUSTED_PROXIES",
    NO_NETWORKS,
    networks,
    "gateway",
    "the proxies in front of the gateway (addresses or CIDRs, comma-separated): only their"
    " `X-Forwarded-For` names the client, and their connections are not capped",
)
CORE_TRUSTED_PROXIES = _var(
    "ERP_CORE_TRUSTED_PROXIES",
    networks("ERP_CORE_TRUSTED_PROXIES", "127.0.0.1,::1"),
    networks,
    "core",
    "the same for core, whose proxy is the gateway (docker-compose: the private networks)",
    "`127.0.0.1,::1`",
)
DB_CONNECT_TIMEOUT = _var(
    "ERP_DB_CONNECT_TIMEOUT",
    3.0,
    seconds(3600),
    "core",
    "seconds core waits to open a PostgreSQL connection",
    "`3`",
)
DB_ACQUIRE_TIMEOUT = _var(
    "ERP_DB_ACQUIRE_TIMEOUT",
    5.0,
    seconds(3600),
    "core",
    "seconds a request waits for a pooled PostgreSQL connection (on SQLite, for its turn among"
    " core's writers)",
    "`5`",
)
DB_STATEMENT_TIMEOUT = _var(
    "ERP_DB_STATEMENT_TIMEOUT",
    5.0,
    seconds(3600),
    "core",
    "seconds one SQL statement of a request may take on PostgreSQL, lock waits included"
    " (migrations and `erp check` are not bounded)",
    "`5`",
)
DB_BUSY_TIMEOUT = _var(
    "ERP_DB_BUSY_TIMEOUT",
    5.0,
    seconds(3600),
    "core",
    "seconds a SQLite writer waits for another process's write lock",
    "`5`",
)
SHOP_DIR = _var(
    "ERP_SHOP_DIR",
    CHECKOUT / "heads" / "storefront",
    path,
    "gateway, erp up",
    "the storefront's folder the gateway serves at `/shop/` (no credential, its own"
    " Content-Security-Policy, `no-cache` with ETags); without an `index.html` there, `/shop/`"
    " answers 404 and the landing page does not link it",
    "`heads/storefront` of the checkout",
)
CORS_ORIGINS = _var(
    "ERP_CORS_ORIGINS",
    NO_ORIGINS,
    origins,
    "gateway",
    "browser origins allowed to call `/api/v1/*` from another site, comma-separated and exact"
    " (`https://shop.example.com,http://127.0.0.1:5500`): the gateway answers their preflights and"
    " lets them read answers and the event stream; any other origin gets no CORS header",
)
FAILPOINT = _var(
    "ERP_FAILPOINT",
    None,
    optional_text,
    "core",
    "a test hook, never set otherwise: core exits at the named point"
    " (`core/idempotency/failpoints.py`)",
)


def home(env: Mapping[str, str] | None = None) -> Path:
    """The data folder, absolute (`ERP_HOME`); not created here."""
    return HOME.get(env).resolve()


def table() -> str:
    """The README's table of every variable: name, default, who reads it, what it is for."""
    rows = ["| variable | default | read by | meaning |", "|---|---|---|---|"]
    for var in VARIABLES.values():
        rows.append(f"| `{var.name}` | {var.default_text} | {var.read_by} | {var.doc} |")
    return "\n".join(rows) + "\n"


# The README's table sits between these two lines.
BEGIN = (
    "<!-- variables: generated from common/settings.py by `python -m common.settings --readme` -->"
)
END = "<!-- end of variables -->"
README = CHECKOUT / "README.md"


def readme_with_table(readme: str) -> str:
    """The README's text with the generated table between `BEGIN` and `END`; ValueError when
    the markers are missing."""
    head, begin, rest = readme.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the README lacks the lines {BEGIN!r} and {END!r}")
    return f"{head}{BEGIN}\n\n{table()}\n{END}{tail}"


def main(args: list[str] | None = None) -> None:
    """Print the table of variables, or with `--readme` rewrite it in the README."""
    parser = argparse.ArgumentParser(prog="python -m common.settings", description=main.__doc__)
    parser.add_argument("--readme", action="store_true", help=f"rewrite the table in {README}")
    if parser.parse_args(args).readme:
        README.write_text(readme_with_table(README.read_text()))
    else:
        print(table(), end="")


if __name__ == "__main__":
    main()
