"""The large seed's history (`stack.large_history`) as table rows, and its outbox events.

Rows are tuples in the column order of each `*_COLUMNS`; `Stamp` turns a moment (seconds
since the epoch) into what the driver stores (a string on SQLite, as Piccolo writes it; an
aware datetime on PostgreSQL).

Events are those the actions would have written (`erp.sales_order.*`, `erp.invoice.*`,
`erp.purchase_order.*`, and `erp.stock.changed` / `erp.availability.changed` for each hold
and shipment), published: numbered 1, 2, … in time order, with `published_at` set and the
owner column `customer_id` as core writes it (`events.owner_of`), after any sequence already
taken. Only the newest `keep` are
written, as if older ones had been pruned; their data is the resource at that moment, except
that stock and availability figures are today's (the history keeps no per-moment levels).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from core.ids import new_id
from core.inventory.locations import VIRTUAL
from events import resources as res

from .large_history import History, Order, PurchaseOrder

Stamp = Callable[[float], Any]
Row = tuple[Any, ...]
CUR = "EUR"
RATE = "0.20"

ORDER_COLUMNS = (
    "id", "number", "customer_id", "status", "currency", "subtotal_minor", "tax_minor",
    "total_minor", "created_by", "confirmed_at", "shipped_at", "version", "created_at",
    "updated_at",
)  # fmt: skip
ORDER_LINE_COLUMNS = (
    "id", "order", "line_no", "product_id", "sku", "name", "quantity", "unit_price_minor",
    "tax_rate", "subtotal_minor", "tax_minor", "picked_quantity", "short_quantity",
)  # fmt: skip
RESERVATION_COLUMNS = ("id", "reference", "product_id", "location_id", "quantity", "created_at")
PICK_COLUMNS = ("id", "order", "product_id", "location_id", "quantity", "created_by", "created_at")
INVOICE_COLUMNS = (
    "id", "number", "sales_order_id", "customer_id", "status", "currency", "subtotal_minor",
    "tax_minor", "total_minor", "paid_minor", "issued_at", "paid_at", "version", "created_at",
    "updated_at",
)  # fmt: skip
PAYMENT_COLUMNS = ("id", "invoice", "amount_minor", "created_by", "created_at")
PO_COLUMNS = (
    "id", "number", "supplier_id", "status", "currency", "total_minor", "created_by",
    "ordered_at", "version", "created_at", "updated_at",
)  # fmt: skip
PO_LINE_COLUMNS = (
    "id", "order", "line_no", "product_id", "quantity", "unit_cost_minor", "received_quantity",
)  # fmt: skip
OUTBOX_COLUMNS = (
    "id", "type", "subject", "time", "data", "customer_id", "sequence", "published_at",
)  # fmt: skip


def money(minor: int) -> Decimal:
    """Minor units of EUR as the resources show them (two decimals)."""
    return Decimal(minor).scaleb(-2)


def _when(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


def order_rows(history: History, stamp: Stamp) -> dict[str, list[Row]]:
    """Rows of `sales_orders`, `sales_order_lines`, `reservations`, `picks`, `invoices` and
    `payments`."""
    out: dict[str, list[Row]] = defaultdict(list)
    for o in history.orders:
        s = stamp
        updated = max(t for t in (o.created, o.confirmed, o.picked, o.shipped, o.cancelled) if t)
        if o.payments:
            updated = max(updated, o.payments[-1][2])
        version = {"draft": 1, "cancelled": 2, "confirmed": 2, "picking": 3, "invoiced": 5}
        out["sales_orders"].append(
            (o.id, f"SO-{o.number:06d}", o.customer, o.status, CUR, o.subtotal, o.tax,
             o.subtotal + o.tax, None, _opt(s, o.confirmed), _opt(s, o.shipped),
             version.get(o.status, 6), s(o.created), s(updated))
        )  # fmt: skip
        for n, line in enumerate(o.lines, start=1):
            p = line.product
            out["sales_order_lines"].append(
                (new_id(), o.id, n, p.id, p.sku, p.name, line.quantity, p.price, RATE,
                 line.subtotal, line.tax, line.picked, 0)
            )  # fmt: skip
            if o.status in ("confirmed", "picking"):
                out["reservations"].append(
                    (new_id(), o.id, p.id, line.bin, line.quantity, s(o.confirmed or o.created))
                )
            if line.picked:
                out["picks"].append(
                    (new_id(), o.id, p.id, line.bin, line.picked, None, s(o.picked or o.created))
                )
        if o.invoice_id:
            _invoice_rows(o, s, out)
    return out


def _opt(stamp: Stamp, t: float | None) -> Any:
    return None if t is None else stamp(t)


def _invoice_rows(o: Order, s: Stamp, out: dict[str, list[Row]]) -> None:
    total, paid = o.subtotal + o.tax, o.paid
    paid_at = o.payments[-1][2] if paid >= total else None
    updated = o.payments[-1][2] if o.payments else o.shipped or 0.0
    out["invoices"].append(
        (o.invoice_id, f"INV-{o.invoice_number:06d}", o.id, o.customer,
         "paid" if paid_at else "issued", CUR, o.subtotal, o.tax, total, paid,
         s(o.shipped or 0.0), _opt(s, paid_at), 1 + len(o.payments), s(o.shipped or 0.0),
         s(updated))
    )  # fmt: skip
    for payment_id, amount, at in o.payments:
        out["payments"].append((payment_id, o.invoice_id, amount, None, s(at)))


def purchase_rows(history: History, stamp: Stamp) -> dict[str, list[Row]]:
    """Rows of `purchase_orders`, `purchase_order_lines` and the receipts' `stock_moves`."""
    out: dict[str, list[Row]] = defaultdict(list)
    supplier = VIRTUAL["supplier"]
    for po in history.purchase_orders:
        lines = _po_lines(po)
        total = sum(q * cost for _, q, cost in lines.values())
        last = po.receipts[-1].at if po.receipts else po.ordered or po.created
        version = {"draft": 1, "ordered": 2, "cancelled": 2}.get(po.status, 3)
        out["purchase_orders"].append(
            (po.id, f"PO-{po.number:06d}", po.supplier, po.status, CUR, total, None,
             _opt(stamp, po.ordered), version, stamp(po.created), stamp(last))
        )  # fmt: skip
        received = po.status == "received"
        for n, (product_id, quantity, cost) in enumerate(lines.values(), start=1):
            out["purchase_order_lines"].append(
                (new_id(), po.id, n, product_id, quantity, cost, quantity if received else 0)
            )
        for r in po.receipts:
            out["stock_moves"].append(
                (new_id(), r.product.id, supplier, r.bin, r.quantity, "receipt", po.id, None,
                 stamp(r.at))
            )  # fmt: skip
    return out


def _po_lines(po: PurchaseOrder) -> dict[str, tuple[str, int, int]]:
    """The order's lines by product: product, quantity, unit cost (60 % of the price)."""
    lines: dict[str, tuple[str, int, int]] = {}
    for r in po.receipts:
        _, quantity, cost = lines.get(r.product.id, (r.product.id, 0, r.product.price * 6 // 10))
        lines[r.product.id] = (r.product.id, quantity + r.quantity, cost)
    return lines


def move_rows(history: History, stamp: Stamp) -> Iterator[Row]:
    """The shipments, transfers and count corrections as `stock_moves` rows."""
    for product, src, dst, quantity, cause, reference, at in history.stock.moves:
        yield (new_id(), product, src, dst, quantity, cause, reference, None, stamp(at))


def level_rows(history: History, stamp: Stamp, now: float) -> list[Row]:
    """`stock_levels`: on hand as the moves add up, reserved as the open orders hold."""
    stock = history.stock
    keys = set(stock.on_hand) | {k for k, v in stock.reserved.items() if v}
    return [
        (new_id(), p, loc, stock.on_hand.get(k, 0), stock.reserved.get(k, 0), 1, stamp(now),
         stamp(now))
        for k in sorted(keys)
        for p, loc in (k,)
    ]  # fmt: skip


# --- events -------------------------------------------------------------------------------

Stub = tuple[float, int, str, Any, Any]  # when, tie-break, type, about what, detail


def _stubs(history: History) -> list[Stub]:
    """Every event the history would have written, unrendered, oldest first."""
    out: list[Stub] = []
    add = out.append
    for o in history.orders:
        add((o.created, len(out), "erp.sales_order.created", o, None))
        if o.cancelled:
            add((o.cancelled, len(out), "erp.sales_order.cancelled", o, None))
        if o.confirmed:
            add((o.confirmed, len(out), "erp.sales_order.confirmed", o, None))
            for line in o.lines:
                add((o.confirmed, len(out), "erp.stock.changed", line, "reservation"))
                add((o.confirmed, len(out), "erp.availability.changed", line.product.id, None))
        if o.picked:
            add((o.picked, len(out), "erp.sales_order.picking", o, None))
        if o.shipped:
            for line in o.lines:
                add((o.shipped, len(out), "erp.stock.changed", line, "shipment"))
                add((o.shipped, len(out), "erp.availability.changed", line.product.id, None))
            add((o.shipped, len(out), "erp.sales_order.shipped", o, None))
            add((o.shipped, len(out), "erp.sales_order.invoiced", o, None))
            add((o.shipped, len(out), "erp.invoice.issued", o, 0))
        for n, (_, _, at) in enumerate(o.payments, start=1):
            add((at, len(out), "erp.invoice.payment_recorded", o, n))
            if n == len(o.payments) and o.status == "paid":
                add((at, len(out), "erp.invoice.paid", o, n))
                add((at, len(out), "erp.sales_order.paid", o, None))
    for po in history.purchase_orders:
        if po.ordered:
            add((po.ordered, len(out), "erp.purchase_order.ordered", po, None))
        if po.receipts:
            add((po.receipts[-1].at, len(out), "erp.purchase_order.received", po, None))
        if po.status == "cancelled":
            add((po.created + 7200, len(out), "erp.purchase_order.cancelled", po, None))
    out.sort()
    return out


def newest_events(history: History, keep: int) -> list[Stub]:
    """The newest `keep` of the history's events, unrendered, oldest first."""
    return _stubs(history)[-keep:] if keep > 0 else []


def event_rows(history: History, stubs: list[Stub], stamp: Stamp, after: int = 0) -> Iterator[Row]:
    """The events as published `outbox` rows, numbered `after` + 1, + 2, … in time order (the
    relay numbers new rows after the highest sequence)."""
    render = _Renderer(history)
    encode = msgspec.json.Encoder().encode
    for sequence, (at, _, type_, about, detail) in enumerate(stubs, start=after + 1):
        subject, data, owner = render(type_, about, detail, at)
        yield (new_id(), type_, subject, stamp(at), encode(data).decode(), owner, sequence,
               stamp(at))  # fmt: skip


class _Renderer:
    """Each stub's subject, data (a resource of `events.resources`) and owning customer."""

    def __init__(self, history: History) -> None:
        stock = history.stock
        self.levels = stock
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (product, loc), on_hand in stock.on_hand.items():
            if loc not in VIRTUAL.values():
                totals[product][0] += on_hand
                totals[product][1] += stock.reserved.get((product, loc), 0)
        self.totals = totals

    def __call__(self, type_: str, about: Any, detail: Any, at: float) -> tuple[str, Any, Any]:
        aggregate, event = type_.split(".")[1:]
        if aggregate == "sales_order":
            return about.id, _order(about, event, at), about.customer
        if aggregate == "invoice":
            return about.invoice_id, _invoice(about, detail), about.customer
        if aggregate == "purchase_order":
            return about.id, _purchase(about, event), None
        if aggregate == "stock":
            key = (about.product.id, about.bin)
            on_hand, reserved = self.levels.on_hand.get(key, 0), self.levels.reserved.get(key, 0)
            data = res.StockLevelChange(
                about.product.id, about.bin, on_hand, reserved, on_hand - reserved, detail
            )
            return about.product.id, data, None
        on_hand, reserved = self.totals[about]
        return about, res.Availability(about, on_hand, reserved, on_hand - reserved), None


# The order's status and version after each of its events.
_ORDER_STEP: dict[str, tuple[res.SalesOrderStatus, int]] = {
    "created": ("draft", 1),
    "cancelled": ("cancelled", 2),
    "confirmed": ("confirmed", 2),
    "picking": ("picking", 3),
    "shipped": ("shipped", 4),
    "invoiced": ("invoiced", 5),
    "paid": ("paid", 6),
}


def _order(o: Order, event: str, at: float) -> res.SalesOrder:
    status, version = _ORDER_STEP[event]
    picked = version >= 3
    shipped = version >= 4
    lines = [
        res.SalesOrderLine(
            n, ln.product.id, ln.product.sku, ln.product.name, ln.quantity,
            money(ln.product.price), Decimal(RATE), money(ln.subtotal), money(ln.tax),
            money(ln.subtotal + ln.tax), ln.picked if picked else 0, 0,
        )
        for n, ln in enumerate(o.lines, start=1)
    ]  # fmt: skip
    return res.SalesOrder(
        o.id, f"SO-{o.number:06d}", o.customer, status, CUR, lines, money(o.subtotal),
        money(o.tax), money(o.subtotal + o.tax), version, _when(o.created) or _now(),
        _when(at) or _now(), _when(o.confirmed if event != "cancelled" else None),
        _when(o.shipped if shipped else None), o.invoice_id if version >= 5 else None,
    )  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def _invoice(o: Order, payments: int) -> res.Invoice:
    """The invoice after its first `payments` payments."""
    made = o.payments[:payments]
    total, paid = o.subtotal + o.tax, sum(a for _, a, _ in made)
    issued = _when(o.shipped) or _now()
    paid_at = _when(made[-1][2]) if made and paid >= total else None
    return res.Invoice(
        o.invoice_id, f"INV-{o.invoice_number:06d}", o.id, o.customer,
        "paid" if paid_at else "issued", CUR, money(o.subtotal), money(o.tax), money(total),
        money(paid), money(total - paid),
        [res.Payment(i, money(a), _when(t) or issued) for i, a, t in made], issued, paid_at,
        1 + payments, issued, (_when(made[-1][2]) if made else None) or issued,
    )  # fmt: skip


def _purchase(po: PurchaseOrder, event: str) -> res.PurchaseOrder:
    lines = _po_lines(po)
    received = event == "received"
    status: res.PurchaseOrderStatus = {
        "ordered": "ordered",
        "received": "received",
        "cancelled": "cancelled",
    }[event]  # type: ignore[assignment]
    total = sum(q * cost for _, q, cost in lines.values())
    created = _when(po.created) or _now()
    at = {"ordered": po.ordered, "received": po.receipts[-1].at if po.receipts else None}
    return res.PurchaseOrder(
        po.id, f"PO-{po.number:06d}", po.supplier, status, CUR,
        [
            res.PurchaseOrderLine(n, p, q, money(cost), q if received else 0, 0 if received else q)
            for n, (p, q, cost) in enumerate(lines.values(), start=1)
        ],
        money(total), {"ordered": 2, "received": 3, "cancelled": 2}[event], created,
        _when(at.get(event) or po.created + 7200) or created, _when(po.ordered),
    )  # fmt: skip
