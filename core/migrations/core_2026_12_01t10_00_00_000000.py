"""`webhook_subscriptions.previous_secret_sealed` and `previous_secret_until_ms`: after
`POST /webhooks/{id}/rotate-secret` the old secret signs beside the new one for 24 hours (the
contract, Standard Webhooks' several `v1,` signatures), so a receiver can switch without
dropping a delivery. Existing subscriptions have no previous secret.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook subscriptions: the previous secret during a rotation"

PARAMS = {
    "default": None,
    "null": True,
    "primary_key": False,
    "unique": False,
    "index": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    for name, column in (("previous_secret_sealed", Text), ("previous_secret_until_ms", BigInt)):
        manager.add_column(
            table_class_name="WebhookSubscription",
            tablename="webhook_subscriptions",
            column_name=name,
            db_column_name=name,
            column_class_name=column.__name__,
            column_class=column,
            params=PARAMS,
            schema=None,
        )
    return manager
