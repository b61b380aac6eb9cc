"""`product_stock`: each product's stock summed up, kept by triggers with the rows it sums; and
`stock_value_totals`, the stock valuation's totals per currency (issue 13).

`product_stock` holds one row per product: `on_hand` over all bins, `sellable_on_hand` and
`sellable_reserved` over sellable bins, `cost_minor` and `cost_quantity` (received quantity
times unit cost, and received quantity, summed over purchase order lines), and copies of the
product's `reorder_point`, `active`, `currency`, `unit_price_minor`, `sku` and `name`. Triggers keep it in the
statement (so in the transaction) that changes `stock_levels`, `products` or
`purchase_order_lines`: every writer is covered and none issues a statement more. On
PostgreSQL the row of a product is changed under the product's stock lock
(`core.inventory.availability.serialize`) that every level change takes first, so it adds no
wait; the catalogue's and purchasing's changes take it last in their transactions.

Two partial indexes serve the reports' keyset pages: `product_stock_low` (the low-stock page:
active products whose sellable availability is below their reorder point) and
`product_stock_stocked` (the valuation's page: products with stock in bins).

`stock_value_totals` holds the valuation totals (units in bins, value at average purchase cost
rounded half up per product, value at list price) as rows per currency whose sums are the
totals: each change of a product's contribution adds its difference to one row. On PostgreSQL
that row is the first of the currency's rows no other transaction holds (`FOR UPDATE SKIP
LOCKED`), or a new one when all are held, so no writer ever waits for another on a total (one
hot row would queue every shipment; issue 13 is about removing such a lock) and there are about
as many rows as writers ever ran at once. SQLite has one writer at a time: one row per currency.

The migration creates the tables, fills them from the data (one `INSERT … SELECT` each), then
creates the indexes and the triggers. It is safe to run again (`IF NOT EXISTS`, `DO NOTHING`).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-05T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "product_stock and stock_value_totals, kept by triggers"

TABLES = (
    "CREATE TABLE IF NOT EXISTS product_stock ("
    " product_id VARCHAR(36) NOT NULL PRIMARY KEY,"
    " on_hand BIGINT NOT NULL DEFAULT 0,"
    " sellable_on_hand BIGINT NOT NULL DEFAULT 0,"
    " sellable_reserved BIGINT NOT NULL DEFAULT 0,"
    " cost_minor BIGINT NOT NULL DEFAULT 0,"
    " cost_quantity BIGINT NOT NULL DEFAULT 0,"
    " reorder_point INTEGER NOT NULL DEFAULT 0,"
    " active BOOLEAN NOT NULL DEFAULT TRUE,"
    " currency VARCHAR(3) NOT NULL,"
    " unit_price_minor BIGINT NOT NULL DEFAULT 0,"
    " sku VARCHAR(64) NOT NULL DEFAULT '',"
    " name VARCHAR(200) NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS stock_value_totals ("
    " currency VARCHAR(3) NOT NULL,"
    " shard INTEGER NOT NULL,"
    " on_hand BIGINT NOT NULL DEFAULT 0,"
    " cost_minor BIGINT NOT NULL DEFAULT 0,"
    " retail_minor BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (currency, shard))",
)

# `WHERE TRUE`: SQLite needs it to read `ON CONFLICT` as the upsert's, not a join's. In id
# order, as later products come (ids are time-ordered): a valuation page of 50 consecutive
# products then reads a few neighbouring pages of the table, not 50 scattered ones.
FILL = (
    "INSERT INTO product_stock (product_id, on_hand, sellable_on_hand, sellable_reserved,"
    " cost_minor, cost_quantity, reorder_point, active, currency, unit_price_minor, sku, name)"
    " SELECT p.id, COALESCE(h.on_hand, 0), COALESCE(h.sellable_on_hand, 0),"
    " COALESCE(h.sellable_reserved, 0), COALESCE(k.cost, 0), COALESCE(k.qty, 0),"
    " p.reorder_point, p.active, p.currency, p.unit_price_minor, p.sku, p.name FROM products p"
    " LEFT JOIN (SELECT s.product_id, SUM(s.on_hand) AS on_hand,"
    " SUM(CASE WHEN c.sellable THEN s.on_hand ELSE 0 END) AS sellable_on_hand,"
    " SUM(CASE WHEN c.sellable THEN s.reserved ELSE 0 END) AS sellable_reserved"
    " FROM stock_levels s JOIN locations c ON c.id = s.location_id WHERE c.kind = 'bin'"
    " GROUP BY s.product_id) h ON h.product_id = p.id"
    " LEFT JOIN (SELECT product_id, SUM(received_quantity * unit_cost_minor) AS cost,"
    " SUM(received_quantity) AS qty FROM purchase_order_lines GROUP BY product_id) k"
    " ON k.product_id = p.id WHERE TRUE ORDER BY p.id ON CONFLICT (product_id) DO NOTHING"
)
# A product's value at average purchase cost: the unit cost rounded half up to minor units
# (integer division of positive numbers), times the units in bins; 0 until ever received.
COST = (
    "CASE WHEN {t}.cost_quantity > 0 THEN {t}.on_hand * ((2 * {t}.cost_minor + {t}.cost_quantity)"
    " / (2 * {t}.cost_quantity)) ELSE 0 END"
)
TOTALS = (
    "INSERT INTO stock_value_totals (currency, shard, on_hand, cost_minor, retail_minor)"
    f" SELECT s.currency, 0, SUM(s.on_hand), SUM({COST.format(t='s')}),"
    " SUM(s.on_hand * s.unit_price_minor) FROM product_stock s WHERE s.on_hand <> 0"
    " GROUP BY s.currency ON CONFLICT (currency, shard) DO NOTHING"
)
# The low rows' index carries everything the low-stock page shows, so the page reads that
# index alone (index-only): the low products lie scattered over the table, and fetching 50
# rows from 50 pages is what made a page cost more on a big catalogue than on a small one.
_LOW = " WHERE active AND reorder_point > sellable_on_hand - sellable_reserved"
_SHOWN = "sku, name, reorder_point, sellable_on_hand, sellable_reserved, active"
STOCKED = (
    "CREATE INDEX IF NOT EXISTS product_stock_stocked ON product_stock (product_id)"
    " WHERE on_hand <> 0"
)
POSTGRES_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS product_stock_low ON product_stock (product_id)"
    f" INCLUDE ({_SHOWN}){_LOW}",
    STOCKED,
)
SQLITE_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS product_stock_low ON product_stock (product_id, {_SHOWN}){_LOW}",
    STOCKED,
)

# --- SQLite: one writer at a time; booleans are 0 and 1. ----------------------------------


def _sqlite_level(sign: str, row: str) -> str:
    """Add (`+`) or take away (`-`) a level row's (`NEW`, `OLD`) units, if it is in a bin."""
    sellable = f"(SELECT sellable FROM locations WHERE id = {row}.location_id)"
    return (
        f"UPDATE product_stock SET on_hand = on_hand {sign} {row}.on_hand,"
        f" sellable_on_hand = sellable_on_hand {sign} CASE WHEN {sellable} THEN {row}.on_hand"
        " ELSE 0 END,"
        f" sellable_reserved = sellable_reserved {sign} CASE WHEN {sellable} THEN {row}.reserved"
        " ELSE 0 END"
        f" WHERE product_id = {row}.product_id"
        f" AND (SELECT kind FROM locations WHERE id = {row}.location_id) = 'bin';"
    )


def _sqlite_value(sign: str, row: str) -> str:
    """Add or take away a product_stock row's contribution to its currency's totals."""
    return (
        "INSERT INTO stock_value_totals (currency, shard, on_hand, cost_minor, retail_minor)"
        f" VALUES ({row}.currency, 0, {sign}{row}.on_hand, {sign}({COST.format(t=row)}),"
        f" {sign}{row}.on_hand * {row}.unit_price_minor)"
        " ON CONFLICT (currency, shard) DO UPDATE SET on_hand = on_hand + excluded.on_hand,"
        " cost_minor = cost_minor + excluded.cost_minor,"
        " retail_minor = retail_minor + excluded.retail_minor;"
    )


def _sqlite_cost(sign: str, row: str) -> str:
    """Add or take away a purchase order line's received cost and quantity."""
    return (
        f"UPDATE product_stock SET cost_minor = cost_minor {sign}"
        f" {row}.received_quantity * {row}.unit_cost_minor,"
        f" cost_quantity = cost_quantity {sign} {row}.received_quantity"
        f" WHERE product_id = {row}.product_id;"
    )


_SAME_LEVEL = "OLD.product_id = NEW.product_id AND OLD.location_id = NEW.location_id"
_PRODUCT_COPY = (
    "reorder_point = NEW.reorder_point, active = NEW.active, currency = NEW.currency,"
    " unit_price_minor = NEW.unit_price_minor, sku = NEW.sku, name = NEW.name"
)
_PRODUCT_CHANGED = (
    "OLD.reorder_point IS NOT NEW.reorder_point OR OLD.active IS NOT NEW.active"
    " OR OLD.currency IS NOT NEW.currency OR OLD.unit_price_minor IS NOT NEW.unit_price_minor"
    " OR OLD.sku IS NOT NEW.sku OR OLD.name IS NOT NEW.name"
)
_VALUE_CHANGED = (
    "OLD.on_hand <> NEW.on_hand OR OLD.cost_minor <> NEW.cost_minor"
    " OR OLD.cost_quantity <> NEW.cost_quantity OR OLD.unit_price_minor <> NEW.unit_price_minor"
    " OR OLD.currency <> NEW.currency"
)
SQLITE_TRIGGERS = (
    # stock_levels -> product_stock
    "CREATE TRIGGER IF NOT EXISTS stock_levels_summary_insert AFTER INSERT ON stock_levels"
    f" WHEN NEW.on_hand <> 0 OR NEW.reserved <> 0 BEGIN {_sqlite_level('+', 'NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS stock_levels_summary_delete AFTER DELETE ON stock_levels"
    f" WHEN OLD.on_hand <> 0 OR OLD.reserved <> 0 BEGIN {_sqlite_level('-', 'OLD')} END",
    "CREATE TRIGGER IF NOT EXISTS stock_levels_summary_update AFTER UPDATE OF on_hand, reserved,"
    f" product_id, location_id ON stock_levels WHEN {_SAME_LEVEL}"
    " AND (OLD.on_hand <> NEW.on_hand OR OLD.reserved <> NEW.reserved) BEGIN"
    " UPDATE product_stock SET on_hand = on_hand + NEW.on_hand - OLD.on_hand,"
    " sellable_on_hand = sellable_on_hand + CASE WHEN c.sellable THEN NEW.on_hand - OLD.on_hand"
    " ELSE 0 END, sellable_reserved = sellable_reserved + CASE WHEN c.sellable"
    " THEN NEW.reserved - OLD.reserved ELSE 0 END"
    " FROM (SELECT sellable FROM locations WHERE id = NEW.location_id AND kind = 'bin') AS c"
    " WHERE product_id = NEW.product_id; END",
    "CREATE TRIGGER IF NOT EXISTS stock_levels_summary_move AFTER UPDATE OF product_id,"
    f" location_id ON stock_levels WHEN NOT ({_SAME_LEVEL}) BEGIN"
    f" {_sqlite_level('-', 'OLD')} {_sqlite_level('+', 'NEW')} END",
    # product_stock -> stock_value_totals
    "CREATE TRIGGER IF NOT EXISTS product_stock_value_insert AFTER INSERT ON product_stock"
    f" WHEN NEW.on_hand <> 0 BEGIN {_sqlite_value('', 'NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS product_stock_value_delete AFTER DELETE ON product_stock"
    f" WHEN OLD.on_hand <> 0 BEGIN {_sqlite_value('-', 'OLD')} END",
    "CREATE TRIGGER IF NOT EXISTS product_stock_value_update AFTER UPDATE OF on_hand,"
    " cost_minor, cost_quantity, unit_price_minor, currency ON product_stock"
    f" WHEN {_VALUE_CHANGED} BEGIN {_sqlite_value('-', 'OLD')} {_sqlite_value('', 'NEW')} END",
    # products -> product_stock
    "CREATE TRIGGER IF NOT EXISTS products_summary_insert AFTER INSERT ON products BEGIN"
    " INSERT INTO product_stock (product_id, reorder_point, active, currency, unit_price_minor,"
    " sku, name) VALUES (NEW.id, NEW.reorder_point, NEW.active, NEW.currency,"
    " NEW.unit_price_minor, NEW.sku, NEW.name)"
    " ON CONFLICT (product_id) DO NOTHING; END",
    "CREATE TRIGGER IF NOT EXISTS products_summary_update AFTER UPDATE OF reorder_point, active,"
    f" currency, unit_price_minor, sku, name ON products WHEN {_PRODUCT_CHANGED} BEGIN"
    f" UPDATE product_stock SET {_PRODUCT_COPY} WHERE product_id = NEW.id; END",
    "CREATE TRIGGER IF NOT EXISTS products_summary_delete AFTER DELETE ON products BEGIN"
    " DELETE FROM product_stock WHERE product_id = OLD.id; END",
    # purchase_order_lines -> product_stock
    "CREATE TRIGGER IF NOT EXISTS purchase_lines_summary_insert AFTER INSERT ON"
    " purchase_order_lines WHEN NEW.received_quantity <> 0 BEGIN"
    f" {_sqlite_cost('+', 'NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS purchase_lines_summary_delete AFTER DELETE ON"
    " purchase_order_lines WHEN OLD.received_quantity <> 0 BEGIN"
    f" {_sqlite_cost('-', 'OLD')} END",
    "CREATE TRIGGER IF NOT EXISTS purchase_lines_summary_update AFTER UPDATE OF"
    " received_quantity, unit_cost_minor, product_id ON purchase_order_lines"
    " WHEN OLD.received_quantity <> NEW.received_quantity"
    " OR OLD.unit_cost_minor <> NEW.unit_cost_minor OR OLD.product_id <> NEW.product_id BEGIN"
    f" {_sqlite_cost('-', 'OLD')} {_sqlite_cost('+', 'NEW')} END",
)

# --- PostgreSQL ---------------------------------------------------------------------------

POSTGRES_FUNCTIONS = (
    # Units of one level row added to its product's summary, if the row is in a bin.
    "CREATE OR REPLACE FUNCTION product_stock_add(product TEXT, location TEXT,"
    " d_on_hand BIGINT, d_reserved BIGINT) RETURNS void LANGUAGE plpgsql AS $$ BEGIN"
    " IF d_on_hand = 0 AND d_reserved = 0 THEN RETURN; END IF;"
    " UPDATE product_stock s SET on_hand = s.on_hand + d_on_hand,"
    " sellable_on_hand = s.sellable_on_hand + CASE WHEN c.sellable THEN d_on_hand ELSE 0 END,"
    " sellable_reserved = s.sellable_reserved + CASE WHEN c.sellable THEN d_reserved ELSE 0 END"
    " FROM locations c WHERE s.product_id = product AND c.id = location AND c.kind = 'bin';"
    " END $$",
    "CREATE OR REPLACE FUNCTION stock_levels_summary() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP = 'UPDATE' AND OLD.product_id = NEW.product_id"
    " AND OLD.location_id = NEW.location_id THEN"
    " PERFORM product_stock_add(NEW.product_id, NEW.location_id, NEW.on_hand - OLD.on_hand,"
    " NEW.reserved - OLD.reserved); RETURN NULL; END IF;"
    " IF TG_OP IN ('UPDATE', 'DELETE') THEN"
    " PERFORM product_stock_add(OLD.product_id, OLD.location_id, -OLD.on_hand, -OLD.reserved);"
    " END IF;"
    " IF TG_OP IN ('UPDATE', 'INSERT') THEN"
    " PERFORM product_stock_add(NEW.product_id, NEW.location_id, NEW.on_hand, NEW.reserved);"
    " END IF; RETURN NULL; END $$",
    # A difference added to a currency's totals: to the first of its rows no other transaction
    # holds, or to a new row when every one is held (never waits; see the module).
    "CREATE OR REPLACE FUNCTION stock_value_add(cur TEXT, d_on_hand BIGINT, d_cost BIGINT,"
    " d_retail BIGINT) RETURNS void LANGUAGE plpgsql AS $$ BEGIN"
    " IF d_on_hand = 0 AND d_cost = 0 AND d_retail = 0 THEN RETURN; END IF;"
    " UPDATE stock_value_totals t SET on_hand = t.on_hand + d_on_hand,"
    " cost_minor = t.cost_minor + d_cost, retail_minor = t.retail_minor + d_retail"
    " WHERE t.currency = cur AND t.shard = (SELECT f.shard FROM stock_value_totals f"
    " WHERE f.currency = cur ORDER BY f.shard LIMIT 1 FOR UPDATE SKIP LOCKED);"
    " IF NOT FOUND THEN"
    " INSERT INTO stock_value_totals AS t (currency, shard, on_hand, cost_minor, retail_minor)"
    " VALUES (cur, 1 + floor(random() * 2147483646)::INTEGER, d_on_hand, d_cost, d_retail)"
    " ON CONFLICT (currency, shard) DO UPDATE SET on_hand = t.on_hand + EXCLUDED.on_hand,"
    " cost_minor = t.cost_minor + EXCLUDED.cost_minor,"
    " retail_minor = t.retail_minor + EXCLUDED.retail_minor;"
    " END IF; END $$",
    "CREATE OR REPLACE FUNCTION product_stock_value() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP = 'UPDATE' AND OLD.currency = NEW.currency THEN"
    " PERFORM stock_value_add(NEW.currency, NEW.on_hand - OLD.on_hand,"
    f" ({COST.format(t='NEW')}) - ({COST.format(t='OLD')}),"
    " NEW.on_hand * NEW.unit_price_minor - OLD.on_hand * OLD.unit_price_minor);"
    " RETURN NULL; END IF;"
    " IF TG_OP IN ('UPDATE', 'DELETE') THEN"
    f" PERFORM stock_value_add(OLD.currency, -OLD.on_hand, -({COST.format(t='OLD')}),"
    " -OLD.on_hand * OLD.unit_price_minor); END IF;"
    " IF TG_OP IN ('UPDATE', 'INSERT') THEN"
    f" PERFORM stock_value_add(NEW.currency, NEW.on_hand, {COST.format(t='NEW')},"
    " NEW.on_hand * NEW.unit_price_minor); END IF;"
    " RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION products_summary() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP = 'INSERT' THEN"
    " INSERT INTO product_stock (product_id, reorder_point, active, currency, unit_price_minor,"
    " sku, name) VALUES (NEW.id, NEW.reorder_point, NEW.active, NEW.currency,"
    " NEW.unit_price_minor, NEW.sku, NEW.name)"
    " ON CONFLICT (product_id) DO NOTHING;"
    " ELSIF TG_OP = 'DELETE' THEN DELETE FROM product_stock WHERE product_id = OLD.id;"
    f" ELSE UPDATE product_stock SET {_PRODUCT_COPY} WHERE product_id = NEW.id;"
    " END IF; RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION purchase_lines_summary() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP IN ('UPDATE', 'DELETE') THEN"
    " UPDATE product_stock SET"
    " cost_minor = cost_minor - OLD.received_quantity * OLD.unit_cost_minor,"
    " cost_quantity = cost_quantity - OLD.received_quantity WHERE product_id = OLD.product_id;"
    " END IF;"
    " IF TG_OP IN ('UPDATE', 'INSERT') THEN"
    " UPDATE product_stock SET"
    " cost_minor = cost_minor + NEW.received_quantity * NEW.unit_cost_minor,"
    " cost_quantity = cost_quantity + NEW.received_quantity WHERE product_id = NEW.product_id;"
    " END IF; RETURN NULL; END $$",
)
# (table, trigger, events and condition, function); dropped and created again when run again.
POSTGRES_TRIGGERS = (
    ("stock_levels", "stock_levels_summary", "INSERT OR UPDATE OR DELETE", "stock_levels_summary"),
    (
        "product_stock",
        "product_stock_value_update",
        f"UPDATE WHEN ({_VALUE_CHANGED})",
        "product_stock_value",
    ),
    ("product_stock", "product_stock_value_insert", "INSERT OR DELETE", "product_stock_value"),
    ("products", "products_summary_insert", "INSERT OR DELETE", "products_summary"),
    (
        "products",
        "products_summary_update",
        "UPDATE WHEN (" + _PRODUCT_CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ") + ")",
        "products_summary",
    ),
    (
        "purchase_order_lines",
        "purchase_lines_summary",
        "INSERT OR UPDATE OR DELETE",
        "purchase_lines_summary",
    ),
)


def _postgres_trigger(table: str, name: str, when: str, function: str) -> list[str]:
    update, _, condition = when.partition(" WHEN ")
    condition = f" WHEN {condition}" if condition else ""
    return [
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
        f"CREATE TRIGGER {name} AFTER {update} ON {table} FOR EACH ROW{condition}"
        f" EXECUTE FUNCTION {function}()",
    ]


async def build() -> None:
    """Create and fill the summary tables, then their indexes and triggers."""
    engine = engine_finder()
    postgres = isinstance(engine, PostgresEngine)
    statements = [*TABLES, FILL, TOTALS]
    if postgres:
        statements += [*POSTGRES_INDEXES, *POSTGRES_FUNCTIONS]
        for trigger in POSTGRES_TRIGGERS:
            statements += _postgres_trigger(*trigger)
    else:
        statements += [*SQLITE_INDEXES, *SQLITE_TRIGGERS]
    for sql in statements:
        await engine.run_ddl(sql)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(build)
    return manager
