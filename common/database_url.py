"""`DATABASE_URL`: which database a process uses, read the one way core, the relay, the webhook
dispatcher and `erp` read it.

`sqlite:///path/to/file.sqlite3` (the URL's path, percent-escapes decoded) or
`postgresql://user:password@host:port/db` (also `postgres://`, passed on to asyncpg as it is).
Unset, it is the SQLite file `erp.sqlite3` in the data folder (`ERP_HOME`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from common import settings

Backend = Literal["sqlite", "postgresql"]


@dataclass(frozen=True, slots=True)
class Database:
    """A parsed `DATABASE_URL`: its `backend` and `target`, the SQLite file's path or the
    PostgreSQL URL as given (for asyncpg and Piccolo)."""

    backend: Backend
    target: str
    url: str

    @property
    def is_sqlite(self) -> bool:
        """Whether this is a SQLite file."""
        return self.backend == "sqlite"


def parse(url: str) -> Database:
    """Read a database URL; ValueError for any scheme but sqlite and postgres(ql)."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return Database("sqlite", unquote(urlsplit(url).path), url)
    if scheme in {"postgres", "postgresql"}:
        return Database("postgresql", url, url)
    raise ValueError(f"DATABASE_URL must be sqlite:/// or postgresql://, not {scheme}://")


def default_url(home: Path) -> str:
    """The SQLite file of the data folder `home`."""
    return f"sqlite:///{home / 'erp.sqlite3'}"


def database_url(env: Mapping[str, str] | None = None, home: Path | None = None) -> str:
    """`DATABASE_URL` from `env` (default `os.environ`), else the SQLite file of `home` (default
    `ERP_HOME`)."""
    return settings.DATABASE_URL.get(env) or default_url(home or settings.home(env))


def redact(url: str) -> str:
    """A URL with its password replaced by `***`, for printing and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
