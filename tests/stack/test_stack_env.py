"""Resolving the stack's environment."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.env import redact, resolve


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """`resolve()` exports its settings; keep them from leaking into other tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_defaults_live_in_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ERP_HOME", "DATABASE_URL", "ERP_SECRET", "ERP_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    env = resolve()

    assert env.home == tmp_path / ".erp"
    assert env.home.is_dir()
    assert env.database_url == f"sqlite:///{tmp_path / '.erp' / 'erp.sqlite3'}"
    assert env.secret == (env.home / "secret").read_text().strip()
    assert resolve().secret == env.secret
    child = env.child_env(EXTRA="1")
    assert child["ERP_SECRET"] == env.secret
    assert child["DATABASE_URL"] == env.database_url
    assert child["EXTRA"] == "1"


def test_given_settings_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://erp:pw@127.0.0.1:1/erp")
    monkeypatch.setenv("ERP_SECRET", "s3cret")

    env = resolve()

    assert (env.home, env.database_url, env.secret) == (
        tmp_path / "h", "postgresql://erp:pw@127.0.0.1:1/erp", "s3cret",
    )  # fmt: skip


def test_passwords_are_redacted() -> None:
    assert redact("postgresql://erp:pw@db:5432/erp") == "postgresql://erp:***@db:5432/erp"
    assert redact("sqlite:////tmp/erp.sqlite3") == "sqlite:////tmp/erp.sqlite3"
