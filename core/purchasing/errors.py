"""Errors of purchasing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.errors import Conflict, FieldError


class IllegalTransition(Conflict):
    code, title = "illegal_transition", "Not allowed in this state"

    def __init__(self, action: str, status: str) -> None:
        super().__init__(
            f"A purchase order that is {status} cannot take the action {action}.",
            action=action,
            current_status=status,
        )


@dataclass(frozen=True, slots=True)
class OverReceipt:
    """A product received beyond what is outstanding: the first receipt line naming it."""

    index: int
    product_id: str
    requested: int
    outstanding: int


class ExceedsOutstanding(Conflict):
    code, title = "exceeds_outstanding", "More than is outstanding"

    def __init__(self, over: Sequence[OverReceipt], names: Mapping[str, str] | None = None) -> None:
        """`names`: a product's SKU by id, for the message (the id where absent)."""
        named = names or {}
        super().__init__(
            "Receiving more than is outstanding for "
            + ", ".join(
                f"{named.get(o.product_id, o.product_id)} ({o.outstanding} outstanding)"
                for o in over
            )
            + ".",
            errors=[
                FieldError(
                    f"lines[{o.index}].quantity",
                    f"{o.requested} to receive, {o.outstanding} outstanding",
                )
                for o in over
            ],
        )
        self.over = list(over)
