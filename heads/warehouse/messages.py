"""The messages the app sends to the screen in front (named in the past tense: what happened).

They do not bubble: the app posts each to the current screen, which handles what concerns it.
"""

from __future__ import annotations

from typing import Any

from client import ApiError
from outbox import Action
from textual.message import Message


class Note(Message, bubble=False):
    """Base of the app's messages to screens."""


class ActionApplied(Note):
    """The server applied a queued action; `answer` is its response body."""

    def __init__(self, action: Action, answer: Any) -> None:
        super().__init__()
        self.action = action
        self.answer = answer


class ActionRefused(Note):
    """The server refused an action on its first send; it was dropped (nothing changed)."""

    def __init__(self, action: Action, error: ApiError) -> None:
        super().__init__()
        self.action = action
        self.error = error


class ActionConflicted(Note):
    """The server refused an action replayed from the offline queue; it is kept for a
    decision (the Outbox screen)."""

    def __init__(self, action: Action, error: ApiError) -> None:
        super().__init__()
        self.action = action
        self.error = error


class StatusChanged(Note):
    """The connection, the waiting count or the warehouse changed: redraw the status line."""


class OrderChanged(Note):
    """A sales order changed (from the event stream); the app's queue is already updated."""

    def __init__(self, order: dict[str, Any], event_type: str) -> None:
        super().__init__()
        self.order = order
        self.event_type = event_type


class HoldsMoved(Note):
    """Where an order's units are held changed (a swap by another picker, a count): its pick
    list should be loaded again. `order_id` is the order's id."""

    def __init__(self, order_id: str) -> None:
        super().__init__()
        self.order_id = order_id
