"""The Piccolo app of core: every table, and the migrations folder."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.catalog.tables import Product
from core.idempotency.tables import IdempotencyRecord
from core.identity.tables import ApiKey, SignInThrottle, User
from core.inventory.tables import Location, Reservation, StockLevel, StockMove, Warehouse
from core.invoicing.tables import Invoice, Payment
from core.numbering import Counter
from core.outbox.tables import OutboxEvent
from core.parties.tables import Customer, Supplier
from core.purchasing.tables import PurchaseOrder, PurchaseOrderLine
from core.sales.tables import Pick, SalesOrder, SalesOrderLine
from core.webhooks.tables import WebhookDelivery, WebhookJob, WebhookSubscription

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[
        User,
        ApiKey,
        SignInThrottle,
        IdempotencyRecord,
        OutboxEvent,
        Product,
        Customer,
        Supplier,
        Warehouse,
        Location,
        StockLevel,
        StockMove,
        Reservation,
        Counter,
        SalesOrder,
        SalesOrderLine,
        Pick,
        PurchaseOrder,
        PurchaseOrderLine,
        Invoice,
        Payment,
        WebhookSubscription,
        WebhookJob,
        WebhookDelivery,
    ],
    migration_dependencies=[],
    commands=[],
)
