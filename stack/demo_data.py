"""The demo company's master data: warehouses, bins, products, customers, suppliers, users."""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from stack import demo_history
from stack.demo_catalog import products

SEED = 2026
DEMO_PASSWORD = "demo"
STAFF = (("admin", "admin"), ("sales", "sales"), ("warehouse", "warehouse"))

# (code, name, [(bin, sellable)]): 12 bins in MAIN, 6 in EAST; receiving and QC not sellable.
WAREHOUSES: tuple[tuple[str, str, tuple[tuple[str, bool], ...]], ...] = (
    (
        "MAIN",
        "Main warehouse",
        (
            ("A-01-01", True),
            ("A-01-02", True),
            ("A-01-03", True),
            ("A-02-01", True),
            ("A-02-02", True),
            ("A-02-03", True),
            ("B-01-01", True),
            ("B-01-02", True),
            ("B-01-03", True),
            ("B-02-01", True),
            ("RECV-01", False),
            ("QC-01", False),
        ),
    ),
    (
        "EAST",
        "East depot",
        (
            ("A-01-01", True),
            ("A-01-02", True),
            ("A-01-03", True),
            ("A-02-01", True),
            ("A-02-02", True),
            ("RECV-01", False),
        ),
    ),
)

# (company, street, postal code, city, country)
CUSTOMERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Alpine Bistro GmbH", "Maria-Theresien-Strasse 14", "6020", "Innsbruck", "AT"),
    ("Harbour Lane Café", "12 Harbour Lane", "BS1 4RW", "Bristol", "GB"),
    ("Northwind Interiors", "Keizersgracht 221", "1016 DV", "Amsterdam", "NL"),
    ("Bellavista Trattoria", "Via dei Mille 8", "80121", "Napoli", "IT"),
    ("Fjord Outdoor AS", "Bryggen 3", "5003", "Bergen", "NO"),
    ("Maison Clément", "27 Rue Oberkampf", "75011", "Paris", "FR"),
    ("Greenhouse Collective", "Prenzlauer Allee 45", "10405", "Berlin", "DE"),
    ("Lindqvist Snickeri AB", "Storgatan 19", "41138", "Göteborg", "SE"),
    ("Copperpot Catering", "5 Mill Street", "D08 T9K2", "Dublin", "IE"),
    ("Atelier Rosa", "Carrer de Verdi 61", "08012", "Barcelona", "ES"),
    ("Danube Office Supplies Kft.", "Andrássy út 52", "1062", "Budapest", "HU"),
    ("Oakridge Builders Ltd", "88 Station Road", "LS1 5AB", "Leeds", "GB"),
    ("Café Central Wien", "Herrengasse 14", "1010", "Wien", "AT"),
    ("Tulip & Thorn Florists", "Oudegracht 110", "3511 AX", "Utrecht", "NL"),
    ("Baltic Deli OÜ", "Telliskivi 60", "10412", "Tallinn", "EE"),
    ("Sunridge Coworking", "Rua Augusta 200", "1100-053", "Lisboa", "PT"),
    ("Kowalski Hardware", "ul. Floriańska 22", "31-021", "Kraków", "PL"),
    ("Little Acorn Nursery", "3 Church Walk", "OX1 3BD", "Oxford", "GB"),
    ("Brasserie du Port", "14 Quai du Port", "13002", "Marseille", "FR"),
    ("Helvetia Bakery AG", "Bahnhofstrasse 31", "8001", "Zürich", "CH"),
    ("Studio Nordlys", "Vesterbrogade 98", "1620", "København", "DK"),
    ("Riverside Community Kitchen", "41 River Road", "CF10 5AA", "Cardiff", "GB"),
    ("Vineyard Hill Estates", "Weinstrasse 7", "67098", "Bad Dürkheim", "DE"),
    ("Parkview Dental Practice", "Avenue Louise 150", "1050", "Bruxelles", "BE"),
    ("Summit Climbing Gym", "Landsberger Strasse 88", "80339", "München", "DE"),
)

SUPPLIERS: tuple[tuple[str, str], ...] = (
    ("Nordic Steelworks AB", "orders@nordicsteelworks.example.com"),
    ("Lusitania Ceramics Lda", "sales@lusitaniaceramics.example.com"),
    ("Greenleaf Wholesale BV", "inkoop@greenleafwholesale.example.com"),
)
# Who supplies what: the index in SUPPLIERS per SKU prefix (the catalogue's categories).
SUPPLIED_BY = {"TLS": 0, "OFF": 0, "KIT": 1, "GRD": 2, "FOD": 2, "BKS": 2}

_SKIPPED = {"gmbh", "ag", "as", "ab", "ltd", "kft", "ou", "bv", "lda", "the", "du", "de", "of"}


def slug(name: str, words: int = 2) -> str:
    """A short login name from a company name: its first words, lowercase ASCII, hyphenated."""
    plain = name.lower().replace("ø", "o").replace("æ", "ae").replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode()
    parts = [p for p in re.split(r"[^a-z0-9]+", folded) if p and p not in _SKIPPED]
    return "-".join(parts[:words])


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    """A customer body for `POST /customers` and the username of its login."""

    body: dict[str, object]
    username: str


def customers() -> list[DemoCustomer]:
    """The 25 demo customers, each with a billing and shipping address and a login name."""
    result: list[DemoCustomer] = []
    for name, street, postal_code, city, country in CUSTOMERS:
        username = slug(name)
        address = {"line1": street, "city": city, "postal_code": postal_code, "country": country}
        body: dict[str, object] = {
            "name": name,
            "email": f"purchasing@{username.replace('-', '')}.example.com",
            "billing_address": address,
            "shipping_address": address,
        }
        result.append(DemoCustomer(body, username))
    return result


def suppliers() -> list[dict[str, object]]:
    """The three demo suppliers."""
    return [{"name": name, "email": email} for name, email in SUPPLIERS]


def catalogue() -> list[dict[str, object]]:
    """The 200 demo products (deterministic: a fixed random seed)."""
    return products(random.Random(SEED))


def stock_today(reorder_points: list[int]) -> list[int]:
    """What each product has available once the history is done: most well stocked, about one
    in ten below its reorder point, a few at zero."""
    rng = random.Random(SEED + 1)
    counts = []
    for i, point in enumerate(reorder_points):
        if i % 40 == 17:  # out of stock
            counts.append(0)
        elif i % 12 == 5:  # below the reorder point: shows up in the low-stock report
            counts.append(rng.randint(1, max(point - 1, 1)))
        else:
            counts.append(point * rng.randint(2, 6) + rng.randint(0, 9))
    return counts


def history(now: datetime) -> demo_history.History:
    """The 90 days of business before `now` (the same plan for the same day and catalogue)."""
    products = catalogue()
    plan = demo_history.Catalogue(
        prices=[Decimal(str(p["unit_price"])) for p in products],
        suppliers=[SUPPLIED_BY[str(p["sku"])[:3]] for p in products],
        targets=stock_today([int(str(p["reorder_point"])) for p in products]),
        customers=len(CUSTOMERS),
    )
    return demo_history.plan(plan, now.date(), now)
