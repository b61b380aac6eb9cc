"""`top_products_window`: the best sellers of the default range (the 30 UTC days up to today),
summed, so its page is an index range scan whatever the number of products sold (issue 13:
`/reports/top-products` grouped the range's `product_day_sales` rows by product, 1.5-3.5x on
the quick large seed).

One row per (product_id, currency): the sums of `product_day_sales` (migration
core_2026_12_08t10_00_00_000000) over the days `start`..`last_day` of the one row (`id` 1) of
`top_products_window_meta` (days as text `YYYY-MM-DD`, `last_day` = `start` + 29 days). A row
whose figures are all back to zero may stay (`orders` 0); the report skips it, and the two
rankings' indexes leave it out (partial, `WHERE orders > 0`): by revenue (revenue DESC,
quantity DESC, product_id, currency) and by quantity (quantity DESC, revenue DESC, product_id,
currency), the report's total orders, so a page is a range scan of limit + 1 index entries.

Triggers on `product_day_sales` add each change whose day is in the window (the window moves
only under its meta row's lock: PostgreSQL takes it `FOR KEY SHARE` in the trigger, the roll
`FOR UPDATE`, so a change is either in the roll's sums or added after it for the new window).
The window is rolled by whoever issues an invoice (`core.reports.top_window.roll`), never by
a read; the report uses it only when its meta row says it is the range asked.

The migration creates the tables, fills the window with the 30 days up to its own UTC today,
then creates the triggers; it is safe to run again (`IF NOT EXISTS`, the window refilled,
triggers dropped first).
"""

from datetime import UTC, datetime, timedelta

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-08T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "top_products_window (best sellers of the last 30 days, kept by triggers)"

_FIGURES = ("quantity", "revenue_minor", "subtotal_minor", "orders")
WINDOW_TABLE = (
    "CREATE TABLE IF NOT EXISTS top_products_window (product_id VARCHAR(36) NOT NULL,"
    " currency VARCHAR(3) NOT NULL, quantity BIGINT NOT NULL DEFAULT 0,"
    " revenue_minor BIGINT NOT NULL DEFAULT 0, subtotal_minor BIGINT NOT NULL DEFAULT 0,"
    " orders BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (product_id, currency))"
)
META_TABLE = (
    "CREATE TABLE IF NOT EXISTS top_products_window_meta (id INTEGER PRIMARY KEY"
    " CHECK (id = 1), start VARCHAR(10) NOT NULL, last_day VARCHAR(10) NOT NULL)"
)
_RANKINGS = (
    ("top_products_window_revenue", "revenue_minor DESC, quantity DESC, product_id, currency"),
    ("top_products_window_quantity", "quantity DESC, revenue_minor DESC, product_id, currency"),
)


def indexes(postgres: bool) -> list[str]:
    """The two rankings' partial indexes (PostgreSQL: carrying the other figures)."""
    include = " INCLUDE (subtotal_minor, orders)" if postgres else ""
    return [
        f"CREATE INDEX IF NOT EXISTS {name} ON top_products_window ({columns}){include}"
        " WHERE orders > 0"
        for name, columns in _RANKINGS
    ]


def refill(start: str, last: str) -> list[str]:
    """Statements that set the window to `start`..`last` and fill it from the day rows."""
    sums = ", ".join(f"SUM({c})" for c in _FIGURES)
    nonzero = " OR ".join(f"SUM({c}) <> 0" for c in _FIGURES)
    return [
        "DELETE FROM top_products_window",
        f"INSERT INTO top_products_window (product_id, currency, {', '.join(_FIGURES)})"
        f" SELECT product_id, currency, {sums} FROM product_day_sales"
        f" WHERE day >= '{start}' AND day <= '{last}' GROUP BY product_id, currency"
        f" HAVING {nonzero}",
        "DELETE FROM top_products_window_meta",
        "INSERT INTO top_products_window_meta (id, start, last_day)"
        f" VALUES (1, '{start}', '{last}')",
    ]


_ADD = " ON CONFLICT (product_id, currency) DO UPDATE SET " + ", ".join(
    f"{c} = top_products_window.{c} + excluded.{c}" for c in _FIGURES
)

# --- SQLite: one writer at a time, no lock needed. --------------------------------------------


def _in_window(row: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM top_products_window_meta m"
        f" WHERE {row}.day >= m.start AND {row}.day <= m.last_day)"
    )


def _sqlite_add(values: str, when: str) -> str:
    return (
        f"INSERT INTO top_products_window (product_id, currency, {', '.join(_FIGURES)})"
        f" SELECT {values} WHERE {when}{_ADD};"
    )


def _row(row: str, sign: str = "") -> str:
    figures = ", ".join(f"{sign}{row}.{c}" for c in _FIGURES)
    return f"{row}.product_id, {row}.currency, {figures}"


_SAME_KEY = "OLD.day = NEW.day AND OLD.product_id = NEW.product_id AND OLD.currency = NEW.currency"
_DELTA = "NEW.product_id, NEW.currency, " + ", ".join(f"NEW.{c} - OLD.{c}" for c in _FIGURES)
_OLD_IN, _NEW_IN = _in_window("OLD"), _in_window("NEW")
SQLITE_TRIGGERS = (
    "CREATE TRIGGER product_day_sales_window_insert AFTER INSERT ON product_day_sales"
    f" BEGIN {_sqlite_add(_row('NEW'), _NEW_IN)} END",
    "CREATE TRIGGER product_day_sales_window_delete AFTER DELETE ON product_day_sales"
    f" BEGIN {_sqlite_add(_row('OLD', '-'), _OLD_IN)} END",
    "CREATE TRIGGER product_day_sales_window_update AFTER UPDATE ON product_day_sales BEGIN"
    f" {_sqlite_add(_DELTA, _SAME_KEY + ' AND ' + _NEW_IN)}"
    f" {_sqlite_add(_row('OLD', '-'), f'NOT ({_SAME_KEY}) AND {_OLD_IN}')}"
    f" {_sqlite_add(_row('NEW'), f'NOT ({_SAME_KEY}) AND {_NEW_IN}')} END",
)
SQLITE_DROPS = tuple(
    f"DROP TRIGGER IF EXISTS product_day_sales_window_{op}" for op in ("insert", "delete", "update")
)

# --- PostgreSQL ------------------------------------------------------------------------------

_ARGS = ", ".join(f"{c[0]}{i} BIGINT" for i, c in enumerate(_FIGURES))
_VALUES = ", ".join(f"{c[0]}{i}" for i, c in enumerate(_FIGURES))


def _call(row: str, sign: str = "") -> str:
    return f"PERFORM top_products_window_add({_row(row, sign)});"


POSTGRES_FUNCTIONS = (
    # Figures added to a product's row of the window.
    f"CREATE OR REPLACE FUNCTION top_products_window_add(pid TEXT, cur TEXT, {_ARGS})"
    " RETURNS void LANGUAGE plpgsql AS $$ BEGIN"
    " INSERT INTO top_products_window AS top_products_window (product_id, currency,"
    f" {', '.join(_FIGURES)}) VALUES (pid, cur, {_VALUES}){_ADD}; END $$",
    # The window's days read under its meta row's lock (the roll takes it FOR UPDATE): the
    # change is added when its day is in the window the roll left, or in the roll's sums.
    "CREATE OR REPLACE FUNCTION product_day_sales_window() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ DECLARE s TEXT; l TEXT; BEGIN"
    " SELECT start, last_day INTO s, l FROM top_products_window_meta WHERE id = 1"
    " FOR KEY SHARE;"
    " IF s IS NULL THEN RETURN NULL; END IF;"
    f" IF TG_OP = 'UPDATE' AND {_SAME_KEY} THEN"
    " IF NEW.day >= s AND NEW.day <= l THEN"
    f" PERFORM top_products_window_add({_DELTA}); END IF; RETURN NULL; END IF;"
    f" IF TG_OP <> 'INSERT' AND OLD.day >= s AND OLD.day <= l THEN {_call('OLD', '-')} END IF;"
    f" IF TG_OP <> 'DELETE' AND NEW.day >= s AND NEW.day <= l THEN {_call('NEW')} END IF;"
    " RETURN NULL; END $$",
)
POSTGRES_TRIGGER = (
    "DROP TRIGGER IF EXISTS product_day_sales_window ON product_day_sales",
    "CREATE TRIGGER product_day_sales_window AFTER INSERT OR UPDATE OR DELETE"
    " ON product_day_sales FOR EACH ROW EXECUTE FUNCTION product_day_sales_window()",
)


async def build() -> None:
    """Create the tables and indexes, fill the window, then create its triggers."""
    engine = engine_finder()
    postgres = isinstance(engine, PostgresEngine)
    last = datetime.now(UTC).date()
    window = refill((last - timedelta(days=29)).isoformat(), last.isoformat())
    statements = [WINDOW_TABLE, META_TABLE, *indexes(postgres)]
    if postgres:
        statements += [POSTGRES_TRIGGER[0], *window, *POSTGRES_FUNCTIONS, POSTGRES_TRIGGER[1]]
        statements += ["ANALYZE top_products_window"]
    else:
        statements += [*SQLITE_DROPS, *window, *SQLITE_TRIGGERS]
    for sql in statements:
        await engine.run_ddl(sql)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(build)
    return manager
