"""Settings of core, read once from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def erp_home() -> Path:
    """The data folder (`ERP_HOME`, default `./.erp`), created on first use."""
    home = Path(os.environ.get("ERP_HOME", ".erp")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def load_secret(home: Path) -> str:
    """`ERP_SECRET`, or a random one generated once into `home/secret`."""
    if value := os.environ.get("ERP_SECRET"):
        return value
    path = home / "secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def database_url(home: Path) -> str:
    """`DATABASE_URL`, defaulting to a SQLite file in the data folder."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{home / 'erp.sqlite3'}"


def _seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment variable `name`, else `default`."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 3600:
        raise ValueError(f"{name} must be more than 0 and at most 3600 seconds, not {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class DatabaseTimeouts:
    """How long core waits for the database before answering 503 (seconds).

    Each bound keeps a request from hanging on a database that is down, frozen or busy, so
    the client gets a `503` with `Retry-After` in seconds instead of the gateway's 504:
    - `connect`: opening a PostgreSQL connection (`ERP_DB_CONNECT_TIMEOUT`, default 3);
    - `acquire`: waiting for a pooled PostgreSQL connection, including opening one, and
      giving it back; on SQLite, a writer's turn among this process's writers
      (`ERP_DB_ACQUIRE_TIMEOUT`, default 5);
    - `statement`: one SQL statement on PostgreSQL, lock waits included, enforced by the
      server and by the client (`ERP_DB_STATEMENT_TIMEOUT`, default 5);
    - `busy`: a SQLite writer, once it is its turn, waiting for another process's write lock
      (`ERP_DB_BUSY_TIMEOUT`, default 5, was 30; a write transaction lasts milliseconds, so
      longer means another process holds the lock, or is stuck holding it).
    """

    connect: float = 3.0
    acquire: float = 5.0
    statement: float = 5.0
    busy: float = 5.0

    @classmethod
    def from_env(cls) -> DatabaseTimeouts:
        """The defaults, each overridden by its `ERP_DB_*_TIMEOUT` variable when set."""
        default = cls()
        return cls(
            connect=_seconds("ERP_DB_CONNECT_TIMEOUT", default.connect),
            acquire=_seconds("ERP_DB_ACQUIRE_TIMEOUT", default.acquire),
            statement=_seconds("ERP_DB_STATEMENT_TIMEOUT", default.statement),
            busy=_seconds("ERP_DB_BUSY_TIMEOUT", default.busy),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """What core needs to run."""

    home: Path
    database_url: str
    secret: str
    token_ttl_seconds: int = 3600
    currency: str = "EUR"
    max_body_bytes: int = 1_048_576
    log_level: str = "INFO"
    admin_password: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        home = erp_home()
        return cls(
            home=home,
            database_url=database_url(home),
            secret=load_secret(home),
            token_ttl_seconds=int(os.environ.get("ERP_TOKEN_TTL", "3600")),
            currency=os.environ.get("ERP_CURRENCY", "EUR"),
            log_level=os.environ.get("ERP_LOG_LEVEL", "INFO").upper(),
            admin_password=os.environ.get("ERP_ADMIN_PASSWORD") or None,
        )


_settings: Settings | None = None


def settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings
