"""The one settings module (`common.settings`): every variable the processes read is declared
there once, and the README's table is the one it generates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from common import settings
from common.settings import README, SettingsError, readme_with_table

ROOT = Path(__file__).resolve().parents[2]
# Read by the test harness and the heads' suites only, never by a process of the stack.
TEST_ONLY = {"ERP_TEST_BACKEND", "ERP_HEADS_READY_TIMEOUT", "ERP_HEADS_STACK_LOG"}
TEST_ONLY |= {"ERP_HEADS_STACK_HOME", "ERP_SHOP_TEST_ORIGIN", "ERP_UPDATE_SNAPSHOTS"}
_NAME = re.compile(r"\b(?:ERP_[A-Z][A-Z_]*[A-Z]|DATABASE_URL|NATS_URL)\b")


def test_the_readme_table_is_the_generated_one() -> None:
    # given the README as committed
    text = README.read_text()
    # then rewriting its table changes nothing (else: python -m common.settings --readme)
    assert readme_with_table(text) == text


def test_every_variable_the_code_names_is_declared() -> None:
    # given every environment variable named in the stack's Python code
    named: set[str] = set()
    for package in ("common", "core", "events", "gateway", "stack"):
        for source in (ROOT / package).rglob("*.py"):
            named |= set(_NAME.findall(source.read_text()))
    # then each is declared in common.settings, so the README's table lists it
    assert named - TEST_ONLY - set(settings.VARIABLES) == set()


def test_a_blank_variable_is_its_default_and_a_bad_one_is_named() -> None:
    assert settings.SSE_HEARTBEAT.get({"ERP_SSE_HEARTBEAT": " "}) == 15.0
    assert settings.PORTAL_PORT.given({}) is None
    with pytest.raises(SettingsError, match="ERP_DB_BUSY_TIMEOUT"):
        settings.DB_BUSY_TIMEOUT.get({"ERP_DB_BUSY_TIMEOUT": "7200"})
    with pytest.raises(SettingsError, match="ERP_RATE_LIMIT"):
        settings.RATE_LIMIT.get({"ERP_RATE_LIMIT": "lots"})
