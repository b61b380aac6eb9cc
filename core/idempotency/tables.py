"""Remembered answers to `POST`s sent with an `Idempotency-Key`."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class IdempotencyRecord(Table, tablename="idempotency_keys"):
    # sha256 of principal id + key: one record per key per principal.
    id = Varchar(length=64, primary_key=True)
    request_hash = Varchar(length=64, null=False)
    state = Varchar(length=8, null=False)  # "running" until the answer is stored, then "done"
    status = Integer(null=True, default=None)
    response = Text(null=True, default=None)  # encrypted: answers may hold secrets (API keys)
    created_at = Timestamptz(null=False, index=True)
