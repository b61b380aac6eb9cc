"""The pick list of an order, as a pure function of its lines, its holds and its picks. No I/O.

Source: the contract ("pick list": per line the product, ordered, picked, and the bins holding
it with quantities, in walk order) and the warehouse head, which reads exactly this shape.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import schemas

Key = tuple[str, str]  # (product_id, location_id)


@dataclass(frozen=True, slots=True)
class Hold:
    """What the order holds at one bin of one product (picked units included)."""

    product_id: str
    location_id: str
    code: str
    warehouse_id: str | None
    quantity: int


def _to_pick(holds: Sequence[Hold], picked: Mapping[Key, int]) -> dict[str, list[tuple[Hold, int]]]:
    """Per product, the bins with units held and not yet picked there, in bin-code order.

    A pick makes the order hold all that was picked at the bin picked from (`hold_picks`), so
    a bin's units to pick are its hold less its picks."""
    out: dict[str, list[tuple[Hold, int]]] = defaultdict(list)
    for h in sorted(holds, key=lambda h: (h.code, h.location_id)):
        left = h.quantity - picked.get((h.product_id, h.location_id), 0)
        if left > 0:
            out[h.product_id].append((h, left))
    return out


def _line(
    line: schemas.SalesOrderLine, barcode: str | None, bins: list[tuple[Hold, int]]
) -> tuple[schemas.PickListLine, list[Hold]]:
    """One line, taking its units from the product's bins (consumed in place, in order)."""
    remaining = line.quantity - line.picked_quantity
    want, taken, used = remaining - line.short_quantity, [], []
    while want > 0 and bins:
        hold, left = bins[0]
        take = min(want, left)
        taken.append(schemas.PickBin(hold.location_id, hold.code, take))
        used.append(hold)
        want -= take
        bins[0] = (hold, left - take)
        if bins[0][1] == 0:
            bins.pop(0)
    shown = schemas.PickListLine(
        line_no=line.line_no,
        product_id=line.product_id,
        sku=line.sku,
        barcode=barcode,
        name=line.name,
        ordered=line.quantity,
        picked=line.picked_quantity,
        remaining=remaining,
        short=line.short_quantity,
        bins=taken,
    )
    return shown, used


def build(
    order: schemas.SalesOrder,
    holds: Sequence[Hold],
    picked: Mapping[Key, int],
    barcodes: Mapping[str, str | None],
) -> schemas.PickList:
    """The order's pick list: each line's units to pick spread over the bins holding them
    (lines of the same product share its bins in line order), lines in walk order."""
    bins = _to_pick(holds, picked)
    lines: list[tuple[tuple[int, str, int], schemas.PickListLine, list[Hold]]] = []
    for line in order.lines:
        shown, used = _line(line, barcodes.get(line.product_id), bins[line.product_id])
        walk = (0, shown.bins[0].code, line.line_no) if shown.bins else (1, "", line.line_no)
        lines.append((walk, shown, used))
    lines.sort(key=lambda x: x[0])
    first = [h for _, _, used in lines for h in used] + sorted(holds, key=lambda h: h.code)
    warehouse = next((h.warehouse_id for h in first if h.warehouse_id), None)
    return schemas.PickList(
        order_id=order.id,
        number=order.number,
        status=order.status,
        warehouse_id=warehouse,
        lines=[shown for _, shown, _ in lines],
    )
