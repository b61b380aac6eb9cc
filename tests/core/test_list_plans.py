"""Plans of list queries that must stay index walks on a large table, including under
PostgreSQL's generic plan (a prepared statement run more than five times is planned once for
all its parameters)."""

from __future__ import annotations

from typing import Any

from core.db import query, transaction


async def _generic_plan(select: Any, backend: str) -> str:
    """The plan of `select` as one line of text: on PostgreSQL the generic plan of it as a
    prepared statement (what a pooled connection runs after five executions)."""
    querystring = select.querystrings[0]
    async with transaction():
        if backend == "sqlite":
            rows = await query("EXPLAIN QUERY PLAN {}", querystring)
        else:
            sql, args = querystring.compile_string(engine_type="postgres")
            assert not args, args  # a statement with nothing bound (else EXECUTE needs them)
            await query("SET LOCAL plan_cache_mode = force_generic_plan")
            await query(f"PREPARE listed AS {sql}")
            try:
                rows = await query("EXPLAIN EXECUTE listed")
            finally:
                await query("DEALLOCATE listed")
    return " ".join(str(v) for row in rows for v in row.values())


async def test_orders_of_a_status_walk_the_status_index_in_the_generic_plan(
    app: Any, backend: str
) -> None:
    """`/sales-orders?status=confirmed` stays a walk of (status, id) when planned once for
    all: the status is part of the statement, so the plan is that status's (issue 13: bound,
    the generic plan walked all 200 000 orders by primary key)."""
    from core import repo
    from core.sales.service import _status_is
    from core.sales.tables import SalesOrder

    for status in ("confirmed", "picking", "draft"):
        select = repo.page_query(SalesOrder, [_status_is(status)], None, 50)
        text = await _generic_plan(select, backend)
        assert "sales_orders_status_id" in text, text
        if backend == "postgres":
            assert f"'{status}'::text" in text and "$1" not in text, text
