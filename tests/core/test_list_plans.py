"""Plans of list queries that must stay index walks on a large table, including under
PostgreSQL's generic plan (a prepared statement run more than five times is planned once for
all its parameters)."""

from __future__ import annotations

from typing import Any

from core.db import query, transaction


async def _generic_plan(select: Any, backend: str) -> str:
    """The plan of `select` as one line of text: on PostgreSQL the generic plan of it as a
    prepared statement (what a pooled connection runs after five executions)."""
    querystring = select.querystrings[0] if hasattr(select, "querystrings") else select
    async with transaction():
        if backend == "sqlite":
            rows = await query("EXPLAIN QUERY PLAN {}", querystring)
        else:
            sql, args = querystring.compile_string(engine_type="postgres")
            await query("SET LOCAL plan_cache_mode = force_generic_plan")
            await query(f"PREPARE listed AS {sql}")
            try:
                # EXECUTE takes no bound values: the test's own values, written in as text
                values = ", ".join("'" + str(a).replace("'", "''") + "'" for a in args)
                rows = await query(f"EXPLAIN EXECUTE listed{f'({values})' if args else ''}")
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
        # the index on status (with id, or alone and sorted when the statistics say few match)
        assert "sales_orders_status" in text, text
        if backend == "postgres":
            assert f"'{status}'::text" in text and "$1" not in text, text


async def test_the_stock_list_walks_the_primary_key_in_page_order(app: Any, backend: str) -> None:
    """`/stock` (levels in bins) reads its page in id order and stops: it does not gather
    every level of every bin by location and sort them (issue 13: 12x on the large seed)."""
    from core import repo
    from core.inventory.stock import level_filters
    from core.inventory.tables import StockLevel

    filters = await level_filters(None, None, None)
    assert filters is not None
    text = await _generic_plan(repo.page_query(StockLevel, filters, None, 50), backend)
    if backend == "sqlite":
        assert "TEMP B-TREE" not in text and "stock_levels_location" not in text, text
    else:
        assert "Sort" not in text and "stock_levels_pkey" in text, text


async def test_a_customers_event_log_is_planned_per_type_in_the_generic_plan(
    app: Any, backend: str
) -> None:
    """A customer's unfiltered `/events` keeps one index walk per type when planned once for
    all: each type is part of the statement (issue 13: bound, the generic plan walked the
    whole log for a rare type, 2 s a page at 1 M events)."""
    from core.events.service import log_query
    from core.identity.permissions import ROLE_SCOPES, Role
    from core.identity.principal import Principal

    shopper = Principal("u", "shop", Role.customer, ROLE_SCOPES[Role.customer], customer_id="c")
    select = log_query(shopper, after=0, cursor=None, type_=None, subject=None)
    assert select is not None
    text = await _generic_plan(select.limit(51), backend)
    if backend == "sqlite":
        assert "outbox_type_sequence" in text and "SCAN outbox" not in text, text
    else:
        assert "'erp.product.created'::text" in text and "Seq Scan" not in text, text
        assert "outbox_sequence_key" not in text, text


async def test_invoices_of_a_status_are_planned_per_status_in_the_generic_plan(
    app: Any, backend: str
) -> None:
    """`/invoices?status=issued` is a statement of its own per status, so the plan made once
    for all is that status's, not one guessing half the invoices match and walking the
    primary key (the fault `/sales-orders?status=` had, issue 13)."""
    from core import repo
    from core.invoicing.service import status_is
    from core.invoicing.tables import Invoice

    for status in ("issued", "paid"):
        text = await _generic_plan(repo.page_query(Invoice, [status_is(status)], None, 50), backend)
        if backend == "postgres":
            assert f"'{status}'::text" in text and "$1" not in text, text
        else:
            assert "invoices_status" in text, text


async def test_a_product_search_is_planned_per_term_in_the_generic_plan(
    app: Any, backend: str
) -> None:
    """`/products?q=` planned once for all still knows its term: the pattern is part of the
    statement, so the plan is that term's (issue 13: bound, the generic plan guessed 0.5 % of
    products match and walked all 10 200 by primary key for a SKU that matches one)."""
    from core import repo, search
    from core.catalog.service import _PAGE

    where = [search.condition("products", "KIT-0001")]
    text = await _generic_plan(repo.page_sql(_PAGE, "products.id", where, None, 50), backend)
    if backend == "sqlite":
        assert "products_search" in text, text
    else:
        assert "'%kit-0001%'::text" in text and "~~ $" not in text, text
