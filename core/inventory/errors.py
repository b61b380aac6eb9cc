"""Errors of the stock ledger."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Conflict, FieldError


@dataclass(frozen=True, slots=True)
class ShortLine:
    """A line that cannot be served: what was asked and what is available."""

    index: int
    product_id: str
    requested: int
    available: int


class InsufficientStock(Conflict):
    code, title = "insufficient_stock", "Not enough stock"

    def __init__(
        self, short: list[ShortLine], what: str = "lines", detail: str | None = None
    ) -> None:
        super().__init__(
            detail
            or "Not enough stock for "
            + ", ".join(f"{s.product_id} ({s.available} available)" for s in short)
            + ".",
            errors=[
                FieldError(
                    f"{what}[{s.index}].quantity" if what else "quantity",
                    f"{s.requested} requested, {s.available} available",
                )
                for s in short
            ],
            short_lines=[
                {"product_id": s.product_id, "requested": s.requested, "available": s.available}
                for s in short
            ],
        )
        self.short = short


class NotABin(Conflict):
    code, title = "not_a_bin", "Not a stock location"
