"""The transactional outbox: one row per event, written in the transaction of its change."""

from piccolo.columns import BigInt, Text, Timestamptz, Varchar
from piccolo.table import Table

from core.columns import id_column


class OutboxEvent(Table, tablename="outbox"):
    id = id_column()
    type = Varchar(length=64, null=False, index=True)
    subject = Varchar(length=64, null=False)
    time = Timestamptz(null=False)
    data = Text(null=False)
    # `data.customer_id` when the event has one (orders, invoices): the customer's log is read
    # by it, through the partial index `outbox_customer_sequence` (customer, then sequence).
    customer_id = Varchar(length=36, null=True, default=None)
    # Set by the relay as it publishes, in one order for everybody.
    sequence = BigInt(null=True, default=None, unique=True)
    published_at = Timestamptz(null=True, default=None)
