"""The Piccolo app of core: every table, and the migrations folder."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.catalog.tables import Product
from core.idempotency.tables import IdempotencyRecord
from core.identity.tables import ApiKey, User
from core.inventory.tables import Location, Warehouse
from core.outbox.tables import OutboxEvent
from core.parties.tables import Customer, Supplier

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[
        User,
        ApiKey,
        IdempotencyRecord,
        OutboxEvent,
        Product,
        Customer,
        Supplier,
        Warehouse,
        Location,
    ],
    migration_dependencies=[],
    commands=[],
)
