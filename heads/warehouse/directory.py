"""What the terminal knows by heart: the warehouses and their bins (loaded once at sign-in,
so a bin label is recognised without a round trip), and the products met so far.

Shapes are the API's: a warehouse `{id, code, name}`, a location `{id, warehouse_id, code,
kind, sellable}`, a product `{id, sku, name, barcode, ...}`.
"""

from __future__ import annotations

from typing import Any

from client import Api, ApiError
from scans import Scan, barcode_forms

Row = dict[str, Any]


class Directory:
    """Warehouses, bins and products, cached for one session."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.warehouses: list[Row] = []
        self.bins: dict[str, Row] = {}
        self.products: dict[str, Row] = {}

    async def load(self) -> None:
        """Load every warehouse and bin (a few dozen rows in a real warehouse)."""
        self.warehouses = await self.api.all("/warehouses")  # creation order: the first is home
        bins = await self.api.all("/locations", cap=5000, kind="bin")
        self.bins = {b["id"]: b for b in bins}

    def warehouse(self, warehouse_id: str | None) -> Row | None:
        """The warehouse with this id, if known."""
        return next((w for w in self.warehouses if w["id"] == warehouse_id), None)

    def bin_code(self, location_id: str) -> str:
        """A bin's label for the screen (`A-01-03`), or a short id for an unknown location."""
        row = self.bins.get(location_id)
        return row["code"] if row else f"?{location_id[-6:]}"

    def bin(self, scan: Scan, warehouse_id: str | None) -> Row | None:
        """The bin a scanned label names in this warehouse (labels are unique per warehouse;
        codes are case-insensitive), else None."""
        if scan.kind != "code":
            return None
        for row in self.bins.values():
            if row["code"].upper() == scan.code and row["warehouse_id"] == warehouse_id:
                return row
        return None

    async def product(self, scan: Scan) -> Row | None:
        """The product a scan names: by barcode (any GTIN form) or by SKU; None if none.
        Raises ApiError when the gateway cannot answer."""
        queries: list[dict[str, str]] = []
        if scan.gtin is not None:
            queries = [{"barcode": form} for form in barcode_forms(scan.gtin)]
        elif scan.kind == "code":
            queries = [{"sku": scan.code}, {"barcode": scan.raw}]
        for query in queries:
            page = await self.api.get("/products", limit=2, **query)
            exact = [p for p in page["items"] if _same(p, query)]
            if exact:
                self.products[exact[0]["id"]] = exact[0]
                return exact[0]
        return None

    async def product_by_id(self, product_id: str) -> Row:
        """A product by id, from the cache or the API."""
        if product_id not in self.products:
            self.products[product_id] = await self.api.get(f"/products/{product_id}")
        return self.products[product_id]

    async def products_by_id(self, ids: list[str]) -> dict[str, Row]:
        """Several products by id (the unknown ones fetched one by one)."""
        found: dict[str, Row] = {}
        for product_id in dict.fromkeys(ids):
            try:
                found[product_id] = await self.product_by_id(product_id)
            except ApiError as error:
                if error.status != 404:
                    raise
        return found


def _same(product: Row, query: dict[str, str]) -> bool:
    """Whether a product found by a filter matches it exactly (SKUs case-insensitively)."""
    if "sku" in query:
        return str(product["sku"]).upper() == query["sku"].upper()
    return product.get("barcode") == query["barcode"]
