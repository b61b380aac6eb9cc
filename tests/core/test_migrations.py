"""Migrations build the schema and are safe to run again."""

from __future__ import annotations

from typing import Any

from core import db
from core.piccolo_app import APP_CONFIG


async def test_migrating_again_changes_nothing(app: Any) -> None:
    await db.migrate()
    await db.migrate()
    for table in APP_CONFIG.table_classes:
        assert await table.table_exists(), table._meta.tablename


async def test_composite_unique_index_exists(app: Any, backend: str) -> None:
    engine = db.engine()
    if backend == "sqlite":
        rows = await engine.run_ddl("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        rows = await engine.run_ddl("SELECT indexname AS name FROM pg_indexes")
    assert "locations_warehouse_code" in {r["name"] for r in rows}
