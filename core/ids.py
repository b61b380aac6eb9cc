"""Identifiers: UUIDv7 strings, time-ordered so `ORDER BY id` is creation order."""

from events.ids import new_id

__all__ = ["new_id"]
