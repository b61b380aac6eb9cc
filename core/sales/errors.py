"""Errors of sales orders."""

from __future__ import annotations

from core.errors import Conflict


class IllegalTransition(Conflict):
    code, title = "illegal_transition", "Not allowed in the order's current state"


class OverPick(Conflict):
    code, title = "over_pick", "More picked than ordered"


class NotFullyPicked(Conflict):
    code, title = "not_fully_picked", "Not every line is picked"


class OrderShort(Conflict):
    """Units of the order are held nowhere since a count (the contract: it cannot ship)."""

    code, title = "order_short", "Units of the order are held nowhere"


class ArchivedProduct(Conflict):
    """A draft names a product archived since it was written (the contract: confirming it is
    409 naming the line; orders confirmed before the archive go on)."""

    code, title = "product_archived", "The order names an archived product"
