"""`DATABASE_URL` is read one way by core, the relay, the dispatcher and `erp`."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.database_url import Database, database_url, parse


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///tmp/erp.sqlite3", Database("sqlite", "/tmp/erp.sqlite3", "sqlite:///tmp/erp.sqlite3")),
        ("sqlite:///tmp/a%20b.db", Database("sqlite", "/tmp/a b.db", "sqlite:///tmp/a%20b.db")),
        ("postgres://u@h/db", Database("postgresql", "postgres://u@h/db", "postgres://u@h/db")),
        ("postgresql://u:p@h:5/d", Database("postgresql", "postgresql://u:p@h:5/d", "postgresql://u:p@h:5/d")),
    ],
)  # fmt: skip
def test_sqlite_and_postgresql_urls_are_read(url: str, expected: Database) -> None:
    assert parse(url) == expected


def test_another_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        parse("mysql://u@h/db")


def test_unset_it_is_the_data_folders_sqlite_file(tmp_path: Path) -> None:
    assert database_url({}, tmp_path) == f"sqlite:///{tmp_path / 'erp.sqlite3'}"
    assert database_url({"DATABASE_URL": "postgresql://x/y"}, tmp_path) == "postgresql://x/y"
