"""Settings of core, read once from the environment (`common.settings` names each variable)."""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common import settings as env
from common.database_url import database_url as database_url_of


def erp_home() -> Path:
    """The data folder (`ERP_HOME`, default `./.erp`), created on first use, for its owner only
    (0700; a folder that exists keeps its mode)."""
    home = env.home()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home


def private_file(path: Path, content: str = "") -> bool:
    """Create `path` holding `content`, readable and writable by its owner only (0600), unless
    it exists; True if this call made it. Atomic: another process sees no file or the whole one
    (written to a 0600 temporary file, then linked into place)."""
    if path.exists():
        return False
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
        os.link(temporary, path)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: create it in place, 0600 from the start
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
    finally:
        os.unlink(temporary)
    return True


def load_secret(home: Path) -> str:
    """`ERP_SECRET`, or a random one generated once into `home/secret` (0600)."""
    if value := env.SECRET.get():
        return value
    path = home / "secret"
    private_file(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def database_url(home: Path) -> str:
    """`DATABASE_URL`, defaulting to a SQLite file in the data folder."""
    return database_url_of(home=home)


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
        return cls(
            connect=env.DB_CONNECT_TIMEOUT.get(),
            acquire=env.DB_ACQUIRE_TIMEOUT.get(),
            statement=env.DB_STATEMENT_TIMEOUT.get(),
            busy=env.DB_BUSY_TIMEOUT.get(),
        )


@dataclass(frozen=True, slots=True)
class SignInLimits:
    """How `core.identity.throttle` slows down password guessing (counts and seconds).

    `user_limit` failed sign-ins per username (any address) and `address_limit` per client
    address (any username) are allowed before the first delay of `delay` seconds; each further
    failure doubles the delay up to `delay_max`. A count starts over after `forget` seconds
    without a failure or a delay. Read from `ERP_SIGNIN_*`; a value that is not a number above 0
    stops core at start (ValueError).
    """

    user_limit: int = 5
    address_limit: int = 20
    delay: float = 1.0
    delay_max: float = 900.0
    forget: float = 3600.0

    @classmethod
    def from_env(cls) -> SignInLimits:
        return cls(
            user_limit=int(env.SIGNIN_USER_LIMIT.get()),
            address_limit=int(env.SIGNIN_ADDRESS_LIMIT.get()),
            delay=env.SIGNIN_DELAY.get(),
            delay_max=env.SIGNIN_DELAY_MAX.get(),
            forget=env.SIGNIN_FORGET.get(),
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
    sign_in: SignInLimits = SignInLimits()

    @classmethod
    def from_env(cls) -> Settings:
        home = erp_home()
        return cls(
            home=home,
            database_url=database_url(home),
            secret=load_secret(home),
            token_ttl_seconds=env.TOKEN_TTL.get(),
            currency=env.CURRENCY.get(),
            log_level=env.LOG_LEVEL.get(),
            admin_password=env.ADMIN_PASSWORD.get(),
            sign_in=SignInLimits.from_env(),
        )


_settings: Settings | None = None


def settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings
