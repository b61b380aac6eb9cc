"""`product_day_sales`: the best sellers' figures per UTC day, product and currency, kept by
triggers with the invoices and order lines they sum (issue 13: `/reports/top-products` joined
every invoice of the range to its lines, 4.3x slower on the quick large seed than on the demo).

One row per (day, product_id, currency): of the invoices issued that UTC day (`day` as text
`YYYY-MM-DD`, as `sales_day_totals` keeps it) in that currency, the units of the product on
their orders' lines (`quantity`), the lines' subtotal plus tax (`revenue_minor`) and subtotal
(`subtotal_minor`) in minor units, and how many of those invoices have a line of the product
(`orders`). A range's figures are the sums of its days' rows (an invoice has one day and one
currency, so counting invoices per day and adding the days counts each once). A row whose
invoices are all gone stays, at 0 orders; the report skips products with no orders.

The primary key leads with the day and carries every figure (PostgreSQL: `INCLUDE`; SQLite:
a `WITHOUT ROWID` table is its key's b-tree), so a range of days is one index-only range scan.

Kept in the statement that changes an invoice (issued, deleted, or its day, currency or order
changed) or an invoiced order's line (its product, units or amounts changed, or deleted); a
line is written with its order, before the order can be invoiced, so inserted lines are not
watched. Invoices are issued under the invoice counter's lock (gap-free numbers,
`core.invoicing.service.issue_for_order`), so writers of these rows already take turns: no
shards. `erp check` compares the rows with the invoices and lines
(`core.reports.summary_audit`).

Also `invoices_status_id` (status, then id), the walk of a page of `/invoices?status=` in id
order, as `sales_orders_status_id` serves `/sales-orders?status=` (the status is written into
the statement: `core.invoicing.service.status_is`).

The migration creates the table, fills it from the data, then creates the triggers; it is safe
to run again (`IF NOT EXISTS`, `DO NOTHING`, triggers dropped first).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-08T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "product_day_sales (best sellers per day, kept by triggers); invoices_status_id"

_COLUMNS = (
    "day VARCHAR(10) NOT NULL, product_id VARCHAR(36) NOT NULL, currency VARCHAR(3) NOT NULL,"
    " quantity BIGINT NOT NULL DEFAULT 0, revenue_minor BIGINT NOT NULL DEFAULT 0,"
    " subtotal_minor BIGINT NOT NULL DEFAULT 0, orders BIGINT NOT NULL DEFAULT 0"
)
POSTGRES_TABLE = (
    f"CREATE TABLE IF NOT EXISTS product_day_sales ({_COLUMNS}, PRIMARY KEY (day, product_id,"
    " currency) INCLUDE (quantity, revenue_minor, subtotal_minor, orders))"
)
SQLITE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS product_day_sales ({_COLUMNS},"
    " PRIMARY KEY (day, product_id, currency)) WITHOUT ROWID"
)
STATUS_INDEX = "CREATE INDEX IF NOT EXISTS invoices_status_id ON invoices (status, id)"
SQLITE_DAY = "date({})"
POSTGRES_DAY = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def sums(day: str) -> str:
    """Every (day, product_id, currency) and its figures, from the invoices and their orders'
    lines (`day`: the database's expression for a moment's UTC day, `{}` for the moment)."""
    return (
        f"SELECT {day.format('i.issued_at')} AS day, l.product_id, i.currency,"
        " SUM(l.quantity) AS quantity, SUM(l.subtotal_minor + l.tax_minor) AS revenue_minor,"
        " SUM(l.subtotal_minor) AS subtotal_minor, COUNT(DISTINCT i.id) AS orders"
        ' FROM invoices i JOIN sales_order_lines l ON l."order" = i.sales_order_id'
        f" GROUP BY {day.format('i.issued_at')}, l.product_id, i.currency"
    )


def fill(day: str) -> str:
    # `WHERE TRUE`: SQLite needs it to read `ON CONFLICT` as the upsert's, not a join's.
    return (
        "INSERT INTO product_day_sales (day, product_id, currency, quantity, revenue_minor,"
        f" subtotal_minor, orders) SELECT * FROM ({sums(day)}) s WHERE TRUE"
        " ON CONFLICT (day, product_id, currency) DO NOTHING"
    )


_ADD = (
    " ON CONFLICT (day, product_id, currency) DO UPDATE SET"
    " quantity = product_day_sales.quantity + excluded.quantity,"
    " revenue_minor = product_day_sales.revenue_minor + excluded.revenue_minor,"
    " subtotal_minor = product_day_sales.subtotal_minor + excluded.subtotal_minor,"
    " orders = product_day_sales.orders + excluded.orders"
)
_INVOICE_CHANGED = (
    "OLD.issued_at IS NOT NEW.issued_at OR OLD.currency IS NOT NEW.currency"
    " OR OLD.sales_order_id IS NOT NEW.sales_order_id"
)
_LINE_CHANGED = (
    "OLD.product_id IS NOT NEW.product_id OR OLD.quantity IS NOT NEW.quantity"
    " OR OLD.subtotal_minor IS NOT NEW.subtotal_minor OR OLD.tax_minor IS NOT NEW.tax_minor"
    ' OR OLD."order" IS NOT NEW."order"'
)

# --- SQLite: one writer at a time. ----------------------------------------------------------


def _sqlite_invoice(sign: str, row: str) -> str:
    """Add (`+`) or take away (`-`) the lines of invoice `row`'s (`NEW`, `OLD`) order."""
    return (
        "INSERT INTO product_day_sales (day, product_id, currency, quantity, revenue_minor,"
        f" subtotal_minor, orders) SELECT {SQLITE_DAY.format(row + '.issued_at')}, l.product_id,"
        f" {row}.currency, {sign}SUM(l.quantity), {sign}SUM(l.subtotal_minor + l.tax_minor),"
        f" {sign}SUM(l.subtotal_minor), {sign}1 FROM sales_order_lines l"
        f' WHERE l."order" = {row}.sales_order_id GROUP BY l.product_id{_ADD};'
    )


def _sqlite_line(sign: str, row: str) -> str:
    """Add or take away line `row` on its order's invoice's day, if the order is invoiced; its
    product's order count moves when no other line of the order has the product."""
    others = (
        f'SELECT 1 FROM sales_order_lines o WHERE o."order" = {row}."order"'
        f" AND o.product_id = {row}.product_id AND o.id <> {row}.id"
    )
    return (
        "INSERT INTO product_day_sales (day, product_id, currency, quantity, revenue_minor,"
        f" subtotal_minor, orders) SELECT {SQLITE_DAY.format('i.issued_at')}, {row}.product_id,"
        f" i.currency, {sign}{row}.quantity, {sign}({row}.subtotal_minor + {row}.tax_minor),"
        f" {sign}{row}.subtotal_minor, CASE WHEN EXISTS ({others}) THEN 0 ELSE {sign}1 END"
        f' FROM invoices i WHERE i.sales_order_id = {row}."order"{_ADD};'
    )


SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS invoices_product_days_insert AFTER INSERT ON invoices"
    f" BEGIN {_sqlite_invoice('', 'NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS invoices_product_days_delete AFTER DELETE ON invoices"
    f" BEGIN {_sqlite_invoice('-', 'OLD')} END",
    "CREATE TRIGGER IF NOT EXISTS invoices_product_days_update AFTER UPDATE OF issued_at,"
    f" currency, sales_order_id ON invoices WHEN {_INVOICE_CHANGED} BEGIN"
    f" {_sqlite_invoice('-', 'OLD')} {_sqlite_invoice('', 'NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS sales_order_lines_product_days_delete AFTER DELETE ON"
    f" sales_order_lines BEGIN {_sqlite_line('-', 'OLD')} END",
    "CREATE TRIGGER IF NOT EXISTS sales_order_lines_product_days_update AFTER UPDATE OF"
    ' product_id, quantity, subtotal_minor, tax_minor, "order" ON sales_order_lines'
    f" WHEN {_LINE_CHANGED} BEGIN {_sqlite_line('-', 'OLD')} {_sqlite_line('', 'NEW')} END",
)

# --- PostgreSQL ------------------------------------------------------------------------------

_PG_DAY = POSTGRES_DAY.format("{}.issued_at")
POSTGRES_FUNCTIONS = (
    # The lines of order `ord`, invoiced on day `dy` in `cur`, added `sign` (1 or -1) times.
    "CREATE OR REPLACE FUNCTION product_days_add_invoice(ord TEXT, dy TEXT, cur TEXT,"
    " sign BIGINT) RETURNS void LANGUAGE plpgsql AS $$ BEGIN"
    " INSERT INTO product_day_sales AS product_day_sales (day, product_id, currency, quantity,"
    " revenue_minor, subtotal_minor, orders) SELECT dy, l.product_id, cur,"
    " sign * SUM(l.quantity), sign * SUM(l.subtotal_minor + l.tax_minor),"
    ' sign * SUM(l.subtotal_minor), sign FROM sales_order_lines l WHERE l."order" = ord'
    f" GROUP BY l.product_id{_ADD}; END $$",
    # One line (id `lid`) of order `ord`, if invoiced, added `sign` times; its product's order
    # count moves when no other line of the order has the product.
    "CREATE OR REPLACE FUNCTION product_days_add_line(ord TEXT, lid TEXT, pid TEXT, q BIGINT,"
    " sub BIGINT, tax BIGINT, sign BIGINT) RETURNS void LANGUAGE plpgsql AS $$ BEGIN"
    " INSERT INTO product_day_sales AS product_day_sales (day, product_id, currency, quantity,"
    f" revenue_minor, subtotal_minor, orders) SELECT {_PG_DAY.format('i')}, pid, i.currency,"
    " sign * q, sign * (sub + tax), sign * sub, CASE WHEN EXISTS (SELECT 1 FROM"
    ' sales_order_lines o WHERE o."order" = ord AND o.product_id = pid AND o.id <> lid)'
    f" THEN 0 ELSE sign END FROM invoices i WHERE i.sales_order_id = ord{_ADD}; END $$",
    "CREATE OR REPLACE FUNCTION invoices_product_days() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP <> 'INSERT' THEN PERFORM product_days_add_invoice(OLD.sales_order_id,"
    f" {_PG_DAY.format('OLD')}, OLD.currency, -1); END IF;"
    " IF TG_OP <> 'DELETE' THEN PERFORM product_days_add_invoice(NEW.sales_order_id,"
    f" {_PG_DAY.format('NEW')}, NEW.currency, 1); END IF;"
    " RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION sales_order_lines_product_days() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN"
    ' PERFORM product_days_add_line(OLD."order", OLD.id, OLD.product_id, OLD.quantity,'
    " OLD.subtotal_minor, OLD.tax_minor, -1);"
    " IF TG_OP = 'UPDATE' THEN"
    ' PERFORM product_days_add_line(NEW."order", NEW.id, NEW.product_id, NEW.quantity,'
    " NEW.subtotal_minor, NEW.tax_minor, 1); END IF;"
    " RETURN NULL; END $$",
)
_DISTINCT = " IS DISTINCT FROM "
# (table, trigger, events and condition, function call); dropped and created again when run.
POSTGRES_TRIGGERS = (
    ("invoices", "invoices_product_days", "INSERT OR DELETE", "invoices_product_days()"),
    (
        "invoices",
        "invoices_product_days_update",
        "UPDATE WHEN (" + _INVOICE_CHANGED.replace(" IS NOT ", _DISTINCT) + ")",
        "invoices_product_days()",
    ),
    (
        "sales_order_lines",
        "sales_order_lines_product_days_delete",
        "DELETE",
        "sales_order_lines_product_days()",
    ),
    (
        "sales_order_lines",
        "sales_order_lines_product_days_update",
        "UPDATE WHEN (" + _LINE_CHANGED.replace(" IS NOT ", _DISTINCT) + ")",
        "sales_order_lines_product_days()",
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
    """Create and fill the table, then its triggers."""
    engine = engine_finder()
    postgres = isinstance(engine, PostgresEngine)
    if postgres:
        statements = [STATUS_INDEX, POSTGRES_TABLE, fill(POSTGRES_DAY), *POSTGRES_FUNCTIONS]
        for trigger in POSTGRES_TRIGGERS:
            statements += _postgres_trigger(*trigger)
        statements.append("ANALYZE product_day_sales")
    else:
        statements = [STATUS_INDEX, SQLITE_TABLE, fill(SQLITE_DAY), *SQLITE_TRIGGERS]
    for sql in statements:
        await engine.run_ddl(sql)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(build)
    return manager
