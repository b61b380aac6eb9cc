"""Stock lookup: scan a product to see where it is (every bin, with what is held for orders),
or scan a bin to see what is in it."""

from __future__ import annotations

from typing import Any

from client import ApiError
from scans import Scan
from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from screens.base import TaskScreen


class LookupScreen(TaskScreen):
    """Where is it, and what is here."""

    TITLE = "Stock lookup: scan a product or a bin"
    PROMPT = "Scan a product (barcode or SKU) or a bin label"

    def body(self) -> ComposeResult:
        yield Static(id="subject")
        table: DataTable[str] = DataTable(id="stock", cursor_type="row")
        table.can_focus = False
        yield table

    def scanned(self, scan: Scan) -> None:
        if scan.kind == "code" and (found := self.wh.directory.bin(scan, self.wh.warehouse_id)):
            self.show_bin(found)
        elif scan.kind in ("gtin", "code"):
            self.show_product(scan)
        elif scan.kind != "empty":
            self.refuse(f"{scan.raw!r} is neither a product nor a bin.")

    @work(exclusive=True, group="lookup")
    async def show_product(self, scan: Scan) -> None:
        """The product's availability and its stock per bin (every warehouse)."""
        try:
            product = await self.wh.directory.product(scan)
            if product is None:
                self.refuse(f"No product or bin {scan.raw!r}.")
                return
            total = await self.wh.api.get(f"/products/{product['id']}/availability")
            rows = await self.wh.api.all("/stock", product_id=product["id"])
        except ApiError as error:
            self.problem(error, "look it up")
            return
        self.query_one("#subject", Static).update(
            f"{product['sku']}  {product['name']}\nbarcode {product.get('barcode') or '-'} · "
            f"sellable: {total['on_hand']} on hand, {total['reserved']} held, "
            f"{total['available']} free"
        )
        directory = self.wh.directory
        shown = [
            (self._where(r["location_id"]), r) for r in rows if r["location_id"] in directory.bins
        ]
        self._fill(("Bin", "On hand", "Held", "Free"), sorted(shown, key=lambda x: x[0]))
        self.say(f"{product['sku']} is in {len(shown)} bin(s).")

    def _where(self, location_id: str) -> str:
        """`MAIN A-01-03`: the warehouse and the bin."""
        row = self.wh.directory.bins[location_id]
        warehouse = self.wh.directory.warehouse(row["warehouse_id"])
        return f"{warehouse['code'] if warehouse else '?'} {row['code']}"

    @work(exclusive=True, group="lookup")
    async def show_bin(self, found: dict[str, Any]) -> None:
        """What the bin holds, product by product."""
        try:
            rows = [
                r for r in await self.wh.api.all("/stock", location_id=found["id"]) if r["on_hand"]
            ]
            products = await self.wh.directory.products_by_id([r["product_id"] for r in rows])
        except ApiError as error:
            self.problem(error, "look it up")
            return
        kind = "picking bin" if found["sellable"] else "not for picking"
        self.query_one("#subject", Static).update(f"Bin {found['code']} ({kind})")
        shown = [(products.get(r["product_id"], {}).get("sku", "?"), r) for r in rows]
        self._fill(("SKU", "On hand", "Held", "Free"), sorted(shown, key=lambda x: x[0]))
        self.say(f"{found['code']} holds {len(rows)} product(s).")

    def _fill(self, columns: tuple[str, ...], rows: list[tuple[str, dict[str, Any]]]) -> None:
        table = self.query_one("#stock", DataTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        for name, row in rows:
            table.add_row(name, str(row["on_hand"]), str(row["reserved"]), str(row["available"]))
