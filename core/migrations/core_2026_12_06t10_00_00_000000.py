"""The dashboard's and the daily sales report's figures kept with the rows they count, by
triggers (issue 13: both grew with the data, 10-12x and 2.8x on the large seed).

`order_status_counts` (kind `sales` or `purchase`, status, shard, n): how many sales and
purchase orders are in each status. `stock_low_counts` (shard, n): how many products are low
(active, and their sellable availability below their reorder point: the rows of
`product_stock_low`). `sales_day_totals` (day, currency, shard: orders confirmed, invoices
issued and their subtotal, tax and total in minor units): per UTC day, as text `YYYY-MM-DD`
(the same on both databases, so the reports compare the same strings).

Each figure is the sum of its rows over the shards. As for `stock_value_totals` (migration
core_2026_12_05t10_00_00_000000), on PostgreSQL a change adds its difference to the first
row of its key that no other transaction holds (`FOR UPDATE SKIP LOCKED`), or to a new row
with a random shard when all are held: no writer waits for another on a count, and there are
about as many rows per key as writers ever ran at once. SQLite has one writer: shard 0.

The triggers run in the statement that changes the order, invoice or summary row, so every
writer is covered and none issues a statement more; their `WHEN` conditions let the changes
that move no figure (a reservation that leaves a product as low as it was, an order's total)
skip them. The migration creates the tables, fills them from the data, then creates the
triggers; it is safe to run again (`IF NOT EXISTS`, `DO NOTHING`, triggers dropped first).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-06T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "order status counts, low stock count and daily sales totals, kept by triggers"

TABLES = (
    "CREATE TABLE IF NOT EXISTS order_status_counts ("
    " kind VARCHAR(8) NOT NULL, status VARCHAR(20) NOT NULL, shard INTEGER NOT NULL,"
    " n BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (kind, status, shard))",
    "CREATE TABLE IF NOT EXISTS stock_low_counts ("
    " shard INTEGER NOT NULL PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS sales_day_totals ("
    " day VARCHAR(10) NOT NULL, currency VARCHAR(3) NOT NULL, shard INTEGER NOT NULL,"
    " orders BIGINT NOT NULL DEFAULT 0, invoices BIGINT NOT NULL DEFAULT 0,"
    " subtotal_minor BIGINT NOT NULL DEFAULT 0, tax_minor BIGINT NOT NULL DEFAULT 0,"
    " total_minor BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (day, currency, shard))",
)

# A product is low as `product_stock_low` and the low-stock report say (`t`: the row).
LOW = "({t}.active AND {t}.reorder_point > {t}.sellable_on_hand - {t}.sellable_reserved)"
# The UTC day of a moment, as `YYYY-MM-DD` (SQLite stores moments as UTC text with offset).
SQLITE_DAY = "date({})"
POSTGRES_DAY = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def fill(day: str) -> tuple[str, ...]:
    """The summaries from the data, in shard 0 (`day`: the database's day expression)."""
    return (
        "INSERT INTO order_status_counts (kind, status, shard, n)"
        " SELECT 'sales', status, 0, COUNT(*) FROM sales_orders GROUP BY status"
        " UNION ALL SELECT 'purchase', status, 0, COUNT(*) FROM purchase_orders GROUP BY status"
        " ON CONFLICT (kind, status, shard) DO NOTHING",
        "INSERT INTO stock_low_counts (shard, n)"
        f" SELECT 0, COUNT(*) FROM product_stock s WHERE {LOW.format(t='s')}"
        " ON CONFLICT (shard) DO NOTHING",
        "INSERT INTO sales_day_totals (day, currency, shard, orders, invoices, subtotal_minor,"
        " tax_minor, total_minor)"
        " SELECT day, currency, 0, SUM(orders), SUM(invoices), SUM(subtotal), SUM(tax),"
        " SUM(total) FROM ("
        f" SELECT {day.format('confirmed_at')} AS day, currency, 1 AS orders, 0 AS invoices,"
        " 0 AS subtotal, 0 AS tax, 0 AS total FROM sales_orders WHERE confirmed_at IS NOT NULL"
        f" UNION ALL SELECT {day.format('issued_at')}, currency, 0, 1, subtotal_minor,"
        " tax_minor, total_minor FROM invoices) x GROUP BY day, currency"
        " ON CONFLICT (day, currency, shard) DO NOTHING",
    )


# --- SQLite: one writer at a time, shard 0. -------------------------------------------------


def _sqlite_status(kind: str, status: str, d: int) -> str:
    return (
        f"INSERT INTO order_status_counts (kind, status, shard, n) VALUES ('{kind}', {status},"
        f" 0, {d}) ON CONFLICT (kind, status, shard) DO UPDATE SET n = n + excluded.n;"
    )


def _sqlite_day(at: str, currency: str, sign: str, amounts: str | None) -> str:
    """Add (`+`) or take away (`-`) an order confirmed (`amounts` None) or an invoice issued
    at `at` to its day's totals; nothing when `at` is NULL."""
    if amounts is None:
        values = f"{sign}1, 0, 0, 0, 0"
    else:
        values = (
            f"0, {sign}1, {sign}{amounts}.subtotal_minor, {sign}{amounts}.tax_minor,"
            f" {sign}{amounts}.total_minor"
        )
    return (
        "INSERT INTO sales_day_totals (day, currency, shard, orders, invoices, subtotal_minor,"
        f" tax_minor, total_minor) SELECT {SQLITE_DAY.format(at)}, {currency}, 0, {values}"
        f" WHERE {at} IS NOT NULL ON CONFLICT (day, currency, shard) DO UPDATE SET"
        " orders = orders + excluded.orders, invoices = invoices + excluded.invoices,"
        " subtotal_minor = subtotal_minor + excluded.subtotal_minor,"
        " tax_minor = tax_minor + excluded.tax_minor,"
        " total_minor = total_minor + excluded.total_minor;"
    )


def _sqlite_low(d: str) -> str:
    return (
        f"INSERT INTO stock_low_counts (shard, n) VALUES (0, {d})"
        " ON CONFLICT (shard) DO UPDATE SET n = n + excluded.n;"
    )


_ORDER_DAY_CHANGED = "OLD.confirmed_at IS NOT NEW.confirmed_at OR OLD.currency IS NOT NEW.currency"
_INVOICE_CHANGED = (
    "OLD.issued_at IS NOT NEW.issued_at OR OLD.currency IS NOT NEW.currency"
    " OR OLD.subtotal_minor IS NOT NEW.subtotal_minor OR OLD.tax_minor IS NOT NEW.tax_minor"
    " OR OLD.total_minor IS NOT NEW.total_minor"
)
_LOW_CHANGED = f"{LOW.format(t='OLD')} IS NOT {LOW.format(t='NEW')}"


_LOW_DIFFERENCE = f"CASE WHEN {LOW.format(t='NEW')} THEN 1 ELSE -1 END"


def _sqlite_triggers() -> tuple[str, ...]:
    triggers = [
        "CREATE TRIGGER IF NOT EXISTS sales_orders_counts_insert AFTER INSERT ON sales_orders"
        f" BEGIN {_sqlite_status('sales', 'NEW.status', 1)}"
        f" {_sqlite_day('NEW.confirmed_at', 'NEW.currency', '', None)} END",
        "CREATE TRIGGER IF NOT EXISTS sales_orders_counts_delete AFTER DELETE ON sales_orders"
        f" BEGIN {_sqlite_status('sales', 'OLD.status', -1)}"
        f" {_sqlite_day('OLD.confirmed_at', 'OLD.currency', '-', None)} END",
        "CREATE TRIGGER IF NOT EXISTS sales_orders_counts_status AFTER UPDATE OF status ON"
        " sales_orders WHEN OLD.status IS NOT NEW.status BEGIN"
        f" {_sqlite_status('sales', 'OLD.status', -1)}"
        f" {_sqlite_status('sales', 'NEW.status', 1)} END",
        "CREATE TRIGGER IF NOT EXISTS sales_orders_counts_day AFTER UPDATE OF confirmed_at,"
        f" currency ON sales_orders WHEN {_ORDER_DAY_CHANGED} BEGIN"
        f" {_sqlite_day('OLD.confirmed_at', 'OLD.currency', '-', None)}"
        f" {_sqlite_day('NEW.confirmed_at', 'NEW.currency', '', None)} END",
        "CREATE TRIGGER IF NOT EXISTS purchase_orders_counts_insert AFTER INSERT ON"
        f" purchase_orders BEGIN {_sqlite_status('purchase', 'NEW.status', 1)} END",
        "CREATE TRIGGER IF NOT EXISTS purchase_orders_counts_delete AFTER DELETE ON"
        f" purchase_orders BEGIN {_sqlite_status('purchase', 'OLD.status', -1)} END",
        "CREATE TRIGGER IF NOT EXISTS purchase_orders_counts_status AFTER UPDATE OF status ON"
        " purchase_orders WHEN OLD.status IS NOT NEW.status BEGIN"
        f" {_sqlite_status('purchase', 'OLD.status', -1)}"
        f" {_sqlite_status('purchase', 'NEW.status', 1)} END",
        "CREATE TRIGGER IF NOT EXISTS invoices_day_insert AFTER INSERT ON invoices"
        f" BEGIN {_sqlite_day('NEW.issued_at', 'NEW.currency', '', 'NEW')} END",
        "CREATE TRIGGER IF NOT EXISTS invoices_day_delete AFTER DELETE ON invoices"
        f" BEGIN {_sqlite_day('OLD.issued_at', 'OLD.currency', '-', 'OLD')} END",
        "CREATE TRIGGER IF NOT EXISTS invoices_day_update AFTER UPDATE OF issued_at, currency,"
        f" subtotal_minor, tax_minor, total_minor ON invoices WHEN {_INVOICE_CHANGED} BEGIN"
        f" {_sqlite_day('OLD.issued_at', 'OLD.currency', '-', 'OLD')}"
        f" {_sqlite_day('NEW.issued_at', 'NEW.currency', '', 'NEW')} END",
        "CREATE TRIGGER IF NOT EXISTS product_stock_low_insert AFTER INSERT ON product_stock"
        f" WHEN {LOW.format(t='NEW')} BEGIN {_sqlite_low('1')} END",
        "CREATE TRIGGER IF NOT EXISTS product_stock_low_delete AFTER DELETE ON product_stock"
        f" WHEN {LOW.format(t='OLD')} BEGIN {_sqlite_low('-1')} END",
        "CREATE TRIGGER IF NOT EXISTS product_stock_low_update AFTER UPDATE OF active,"
        " reorder_point, sellable_on_hand, sellable_reserved ON product_stock"
        f" WHEN {_LOW_CHANGED} BEGIN"
        f" {_sqlite_low(_LOW_DIFFERENCE)} END",
    ]
    return tuple(triggers)


SQLITE_TRIGGERS = _sqlite_triggers()

# --- PostgreSQL -----------------------------------------------------------------------------


def _postgres_add(name: str, table: str, key: dict[str, str], values: dict[str, str]) -> str:
    """A function that adds `values` (column: parameter) to the row of `key` (column:
    parameter) no other transaction holds, or to a new row with a random shard (never waits)."""
    params = ", ".join(
        [*(f"{p} TEXT" for p in key.values()), *(f"{p} BIGINT" for p in values.values())]
    )
    match = "".join(f"t.{c} = {p} AND " for c, p in key.items())
    first = " AND ".join(f"f.{c} = {p}" for c, p in key.items()) or "TRUE"
    sets = ", ".join(f"{c} = t.{c} + {p}" for c, p in values.items())
    excluded = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in values)
    nothing = " AND ".join(f"{p} = 0" for p in values.values())
    columns = ", ".join([*key, "shard", *values])
    args = ", ".join([*key.values(), "1 + floor(random() * 2147483646)::INTEGER", *values.values()])
    conflict = ", ".join([*key, "shard"])
    return (
        f"CREATE OR REPLACE FUNCTION {name}({params}) RETURNS void LANGUAGE plpgsql AS $$ BEGIN"
        f" IF {nothing} THEN RETURN; END IF;"
        f" UPDATE {table} t SET {sets} WHERE {match}t.shard = (SELECT f.shard FROM {table} f"
        f" WHERE {first} ORDER BY f.shard LIMIT 1 FOR UPDATE SKIP LOCKED);"
        f" IF NOT FOUND THEN INSERT INTO {table} AS t ({columns}) VALUES ({args})"
        f" ON CONFLICT ({conflict}) DO UPDATE SET {excluded}; END IF; END $$"
    )


_PG_DAY_OLD = POSTGRES_DAY.format("OLD.{}")
_PG_DAY_NEW = POSTGRES_DAY.format("NEW.{}")
POSTGRES_FUNCTIONS = (
    _postgres_add(
        "order_status_add", "order_status_counts", {"kind": "k", "status": "st"}, {"n": "d"}
    ),
    _postgres_add("stock_low_add", "stock_low_counts", {}, {"n": "d"}),
    _postgres_add(
        "sales_day_add",
        "sales_day_totals",
        {"day": "dy", "currency": "cur"},
        {
            "orders": "d_orders",
            "invoices": "d_invoices",
            "subtotal_minor": "d_subtotal",
            "tax_minor": "d_tax",
            "total_minor": "d_total",
        },
    ),
    # Sales orders: their status, and their day once confirmed.
    "CREATE OR REPLACE FUNCTION sales_orders_summary() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP <> 'INSERT' THEN"
    " IF TG_OP = 'DELETE' OR OLD.status IS DISTINCT FROM NEW.status THEN"
    " PERFORM order_status_add('sales', OLD.status, -1); END IF;"
    " IF OLD.confirmed_at IS NOT NULL AND (TG_OP = 'DELETE'"
    " OR OLD.confirmed_at IS DISTINCT FROM NEW.confirmed_at OR OLD.currency <> NEW.currency)"
    f" THEN PERFORM sales_day_add({_PG_DAY_OLD.format('confirmed_at')}, OLD.currency,"
    " -1, 0, 0, 0, 0); END IF;"
    " END IF;"
    " IF TG_OP <> 'DELETE' THEN"
    " IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status THEN"
    " PERFORM order_status_add('sales', NEW.status, 1); END IF;"
    " IF NEW.confirmed_at IS NOT NULL AND (TG_OP = 'INSERT'"
    " OR OLD.confirmed_at IS DISTINCT FROM NEW.confirmed_at OR OLD.currency <> NEW.currency)"
    f" THEN PERFORM sales_day_add({_PG_DAY_NEW.format('confirmed_at')}, NEW.currency,"
    " 1, 0, 0, 0, 0); END IF;"
    " END IF; RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION purchase_orders_summary() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN"
    " IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.status IS DISTINCT FROM NEW.status) THEN"
    " PERFORM order_status_add('purchase', OLD.status, -1); END IF;"
    " IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND OLD.status IS DISTINCT FROM NEW.status) THEN"
    " PERFORM order_status_add('purchase', NEW.status, 1); END IF;"
    " RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION invoices_day() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF TG_OP <> 'INSERT' THEN"
    f" PERFORM sales_day_add({_PG_DAY_OLD.format('issued_at')}, OLD.currency, 0, -1,"
    " -OLD.subtotal_minor, -OLD.tax_minor, -OLD.total_minor); END IF;"
    " IF TG_OP <> 'DELETE' THEN"
    f" PERFORM sales_day_add({_PG_DAY_NEW.format('issued_at')}, NEW.currency, 0, 1,"
    " NEW.subtotal_minor, NEW.tax_minor, NEW.total_minor); END IF;"
    " RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION product_stock_low() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    f" IF TG_OP <> 'INSERT' AND {LOW.format(t='OLD')} THEN PERFORM stock_low_add(-1); END IF;"
    f" IF TG_OP <> 'DELETE' AND {LOW.format(t='NEW')} THEN PERFORM stock_low_add(1); END IF;"
    " RETURN NULL; END $$",
)
_DISTINCT = " IS DISTINCT FROM "
# (table, trigger, events and condition, function call); dropped and created again when run.
POSTGRES_TRIGGERS = (
    ("sales_orders", "sales_orders_counts", "INSERT OR DELETE", "sales_orders_summary()"),
    (
        "sales_orders",
        "sales_orders_counts_update",
        "UPDATE WHEN (OLD.status IS DISTINCT FROM NEW.status OR "
        + _ORDER_DAY_CHANGED.replace(" IS NOT ", _DISTINCT)
        + ")",
        "sales_orders_summary()",
    ),
    ("purchase_orders", "purchase_orders_counts", "INSERT OR DELETE", "purchase_orders_summary()"),
    (
        "purchase_orders",
        "purchase_orders_counts_update",
        "UPDATE WHEN (OLD.status IS DISTINCT FROM NEW.status)",
        "purchase_orders_summary()",
    ),
    ("invoices", "invoices_day", "INSERT OR DELETE", "invoices_day()"),
    (
        "invoices",
        "invoices_day_update",
        "UPDATE WHEN (" + _INVOICE_CHANGED.replace(" IS NOT ", _DISTINCT) + ")",
        "invoices_day()",
    ),
    ("product_stock", "product_stock_low", "INSERT OR DELETE", "product_stock_low()"),
    (
        "product_stock",
        "product_stock_low_update",
        "UPDATE WHEN (" + _LOW_CHANGED.replace(" IS NOT ", _DISTINCT) + ")",
        "product_stock_low()",
    ),
)


def _postgres_trigger(table: str, name: str, when: str, call: str) -> list[str]:
    update, _, condition = when.partition(" WHEN ")
    condition = f" WHEN {condition}" if condition else ""
    return [
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
        f"CREATE TRIGGER {name} AFTER {update} ON {table} FOR EACH ROW{condition}"
        f" EXECUTE FUNCTION {call}",
    ]


async def build() -> None:
    """Create and fill the summary tables, then their triggers."""
    engine = engine_finder()
    postgres = isinstance(engine, PostgresEngine)
    statements = [*TABLES, *fill(POSTGRES_DAY if postgres else SQLITE_DAY)]
    if postgres:
        statements += POSTGRES_FUNCTIONS
        for trigger in POSTGRES_TRIGGERS:
            statements += _postgres_trigger(*trigger)
    else:
        statements += SQLITE_TRIGGERS
    for sql in statements:
        await engine.run_ddl(sql)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(build)
    return manager
