"""Catalogue use cases: create, change, archive and find products."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from msgspec import UNSET
from piccolo.columns import Column
from piccolo.querystring import QueryString

import events
from core import db, money, repo, search
from core.config import settings
from core.db import transaction
from core.errors import Conflict
from core.http.pagination import Page
from core.ids import new_id
from core.outbox import service as outbox

from . import rules, schemas
from .tables import Product

# The fields `q` finds a product by, in its search text (contract: name, SKU or barcode).
SEARCHED = ("sku", "name", "barcode")


def to_product(row: dict[str, Any]) -> schemas.Product:
    return schemas.Product(
        id=row["id"],
        sku=row["sku"],
        name=row["name"],
        description=row["description"],
        barcode=row["barcode"],
        unit_price=money.from_minor(row["unit_price_minor"], row["currency"]),
        currency=row["currency"],
        tax_rate=Decimal(row["tax_rate"]),
        reorder_point=row["reorder_point"],
        active=row["active"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _duplicate(sku: str | None, barcode: str | None) -> str:
    also = f" or barcode {barcode}" if barcode else ""
    return f"A product with SKU {sku}{also} exists."


async def create_product(data: schemas.ProductCreate) -> schemas.Product:
    currency = data.currency or settings().currency
    rules.check_product(data.barcode, data.unit_price, currency, data.tax_rate)
    values = {
        "id": new_id(),
        "sku": data.sku,
        "name": data.name,
        "description": data.description,
        "barcode": data.barcode,
        "unit_price_minor": money.to_minor(data.unit_price, currency),
        "currency": currency,
        "tax_rate": str(data.tax_rate),
        "reorder_point": data.reorder_point,
        "active": True,
        "search_text": search.text_of(data.sku, data.name, data.barcode),
    }
    async with transaction():
        product = to_product(await repo.insert(Product, values, _duplicate(data.sku, data.barcode)))
        await outbox.write(events.ProductCreated(subject=product.id, data=product))
    return product


async def get_product(product_id: str) -> schemas.Product:
    return to_product(await repo.fetch(Product, product_id, "product"))


async def list_products(
    *,
    q: str | None,
    sku: str | None,
    barcode: str | None,
    active: bool | None,
    cursor: str | None,
    limit: int,
) -> Page[schemas.Product]:
    """A page of products in id order; each filter given must hold (`q`: `core.search`)."""
    where = [search.condition("products", q)] if q else []
    for column, value in (("sku", sku), ("barcode", barcode), ("active", active)):
        if value is not None:
            where.append(QueryString(f"products.{column} = {{}}", value))
    return await repo.fetch_page_sql(_PAGE, "products.id", where, cursor, limit, to_product)


# Every column a `Product` is made of (not `search_text`), as `list_products` selects them.
_PAGE = (
    "SELECT products.id, sku, name, description, barcode, unit_price_minor, currency, tax_rate,"
    " reorder_point, active, version, created_at, updated_at FROM products"
)


async def update_product(
    product_id: str, data: schemas.ProductUpdate, expected_version: int | None
) -> schemas.Product:
    current = await get_product(product_id)
    barcode = current.barcode if data.barcode is UNSET else data.barcode
    unit_price = current.unit_price if data.unit_price is UNSET else data.unit_price
    currency = current.currency if data.currency is UNSET else data.currency
    tax_rate = current.tax_rate if data.tax_rate is UNSET else data.tax_rate
    rules.check_product(barcode, unit_price, currency, tax_rate)
    changes: dict[Column, Any] = {
        Product.unit_price_minor: money.to_minor(unit_price, currency),
        Product.currency: currency,
        Product.tax_rate: str(tax_rate),
        Product.barcode: barcode,
    }
    for field in ("sku", "name", "description", "reorder_point", "active"):
        if (value := getattr(data, field)) is not UNSET:
            changes[getattr(Product, field)] = value
    duplicate = _duplicate(current.sku if data.sku is UNSET else data.sku, barcode)
    async with transaction():
        row = await repo.update(
            Product, product_id, changes, expected_version, "product", duplicate
        )
        row = await search.refresh(Product, row, *SEARCHED)
        product = to_product(row)
        await outbox.write(events.ProductUpdated(subject=product.id, data=product))
    return product


async def archive_product(product_id: str, expected_version: int | None) -> schemas.Product:
    """Take a product out of the catalogue; its history stays."""
    current = await get_product(product_id)
    if not current.active:
        raise Conflict(f"Product {current.sku} is already archived.")
    async with transaction():
        changes: dict[Column, Any] = {Product.active: False}
        row = await repo.update(Product, product_id, changes, expected_version, "product")
        product = to_product(row)
        await outbox.write(events.ProductArchived(subject=product.id, data=product))
    return product


async def by_ids_or_skus(
    product_ids: list[str], skus: list[str]
) -> tuple[dict[str, schemas.Product], dict[str, schemas.Product]]:
    """The products with these ids, and those with these SKUs (archived ones included), in
    one query: (by id, by SKU)."""
    if not product_ids and not skus:
        return {}, {}
    ids, codes = sorted(set(product_ids)), sorted(set(skus))
    # Raw SQL: Piccolo's select of every column costs more CPU than the query (issue 13).
    found_by = [
        f"{column} IN ({', '.join('{}' for _ in keys)})"
        for column, keys in (("id", ids), ("sku", codes))
        if keys
    ]
    rows = await db.query(f"SELECT * FROM products WHERE {' OR '.join(found_by)}", *ids, *codes)
    found = [to_product(r) for r in rows]
    return {p.id: p for p in found if p.id in ids}, {p.sku: p for p in found if p.sku in codes}


async def barcodes(product_ids: list[str]) -> dict[str, str | None]:
    """The barcode (or None) of each product that exists, in one query (the pick list's)."""
    rows = await Product.select(Product.id, Product.barcode).where(
        Product.id.is_in(sorted(set(product_ids)))
    )
    return {r["id"]: r["barcode"] for r in rows}


async def skus(product_ids: list[str]) -> dict[str, str]:
    """The SKU of each product that exists, in one query (for messages people read)."""
    rows = await Product.select(Product.id, Product.sku).where(
        Product.id.is_in(sorted(set(product_ids)))
    )
    return {r["id"]: r["sku"] for r in rows}


async def archived(product_ids: list[str]) -> set[str]:
    """Which of these products are archived (inactive), in one query."""
    rows = await Product.select(Product.id).where(
        Product.id.is_in(sorted(set(product_ids))) & (Product.active == False)  # noqa: E712
    )
    return {r["id"] for r in rows}


async def reorder_points(product_ids: list[str]) -> dict[str, int]:
    """The reorder point of each product that exists."""
    rows = await Product.select(Product.id, Product.reorder_point).where(
        Product.id.is_in(sorted(set(product_ids)))
    )
    return {r["id"]: r["reorder_point"] for r in rows}
