"""The demo company's catalogue: product families by category, expanded deterministically."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from core.catalog.rules import gtin_check_digit


@dataclass(frozen=True, slots=True)
class Family:
    """A product name with `{}` for its variants, and the price band of the family."""

    pattern: str
    variants: tuple[str, ...]
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class Category:
    """A category: SKU prefix, count to draw, VAT rate, families and description phrases."""

    prefix: str
    name: str
    count: int
    tax_rate: str
    families: tuple[Family, ...]
    phrases: tuple[str, ...]


def f(pattern: str, variants: str, low: int, high: int) -> Family:
    """A family from a `|`-separated variant list (empty for a single product)."""
    return Family(pattern, tuple(variants.split("|")) if variants else ("",), low, high)


CATEGORIES: tuple[Category, ...] = (
    Category(
        "KIT",
        "Kitchen",
        40,
        "0.20",
        (
            f("Stainless Steel Chef's Knife {}", "16 cm|20 cm|24 cm", 25, 90),
            f("Santoku Knife {}", "14 cm|18 cm", 30, 80),
            f("Bread Knife {}", "22 cm|26 cm", 18, 45),
            f("Cast Iron Skillet {}", "20 cm|26 cm|30 cm", 28, 75),
            f("Non-Stick Frying Pan {}", "20 cm|24 cm|28 cm", 19, 55),
            f("Enamelled Dutch Oven {}", "3.8 l Red|5.2 l Red|5.2 l Slate Grey", 89, 240),
            f("Stainless Steel Saucepan {}", "16 cm|18 cm|20 cm", 24, 60),
            f("Bamboo Cutting Board {}", "Small|Medium|Large", 9, 35),
            f("Glass Storage Jar {}", "0.5 l|1 l|2 l", 4, 15),
            f("Silicone Spatula {}", "Red|Grey|Olive", 5, 12),
            f("French Press Coffee Maker {}", "0.35 l|1 l", 22, 49),
            f("Pepper Mill {}", "Beech 18 cm|Walnut 18 cm|Walnut 24 cm", 18, 45),
            f("Linen Tea Towel {}", "Natural|Blue Stripe|Charcoal", 7, 14),
            f("Digital Kitchen Scale 5 kg", "", 19, 35),
            f("Ceramic Mixing Bowl Set (3 pcs)", "", 29, 49),
            f("Stainless Steel Whisk {}", "25 cm|30 cm", 6, 14),
        ),
        (
            "Dishwasher safe.",
            "Built for daily use in busy kitchens.",
            "Five-year warranty.",
            "Easy to clean and store.",
            "Chosen by professional cooks.",
        ),
    ),
    Category(
        "OFF",
        "Office",
        35,
        "0.20",
        (
            f("Ballpoint Pen {} (Pack of 10)", "Blue|Black|Red", 4, 9),
            f("Gel Pen {} (Pack of 5)", "Blue|Black", 5, 10),
            f("A4 Copy Paper 80 g ({})", "500 sheets|5 x 500 sheets", 5, 29),
            f("Spiral Notebook A5 {}", "Lined|Squared|Dotted", 3, 8),
            f("Hardcover Notebook A4 {}", "Lined|Squared", 8, 16),
            f("Lever Arch File {}", "Black|Blue|Red|Green", 3, 6),
            f("Desk Organiser {}", "Bamboo|Mesh Black", 15, 35),
            f("Stapler {}", "Compact|Heavy Duty", 8, 32),
            f("Sticky Notes 76 x 76 mm {}", "Yellow|Neon Mix", 4, 9),
            f("Highlighter Set (4 colours)", "", 4, 8),
            f("Ergonomic Office Chair {}", "Black|Grey", 189, 349),
            f("LED Desk Lamp {}", "White|Black", 29, 69),
            f("Whiteboard {}", "60 x 90 cm|90 x 120 cm", 35, 95),
            f("Whiteboard Markers (Pack of {})", "4|8", 5, 12),
            f("Paper Shredder {}", "8 Sheets|12 Sheets", 59, 149),
            f("Laminating Pouches A4 (Pack of {})", "100|250", 9, 24),
        ),
        (
            "Ideal for home offices and shared workspaces.",
            "Refills available.",
            "Made from recycled materials.",
            "Comes in a recyclable box.",
        ),
    ),
    Category(
        "TLS",
        "Tools",
        35,
        "0.20",
        (
            f("Cordless Drill Driver {}", "12 V|18 V|18 V Brushless", 69, 229),
            f("Claw Hammer {}", "450 g|570 g", 14, 32),
            f("Screwdriver Set ({} pcs)", "6|12|24", 12, 45),
            f("Adjustable Wrench {}", "200 mm|250 mm|300 mm", 12, 29),
            f("Combination Pliers {}", "160 mm|200 mm", 11, 24),
            f("Spirit Level {}", "40 cm|60 cm|120 cm", 12, 45),
            f("Tape Measure {}", "5 m|8 m", 7, 19),
            f("Utility Knife with {} Blades", "5 Spare|10 Spare", 6, 15),
            f("Hex Key Set ({} pcs)", "9|13", 8, 22),
            f('Socket Set 1/2" ({} pcs)', "24|40", 39, 99),
            f("Work Gloves {}", "Size 9|Size 10|Size 11", 5, 12),
            f("Safety Glasses {}", "Clear|Tinted", 6, 14),
            f("Jigsaw {}", "650 W|800 W", 59, 149),
            f("Tool Box {}", "40 cm|50 cm", 19, 49),
            f("Wood Chisel Set ({} pcs)", "4|6", 25, 59),
        ),
        (
            "Tested to DIN standards.",
            "Comfortable soft-grip handle.",
            "For workshop and site.",
            "Three-year warranty.",
            "Chrome vanadium steel.",
        ),
    ),
    Category(
        "GRD",
        "Garden",
        30,
        "0.10",
        (
            f("Garden Hose {}", "15 m|25 m|50 m", 19, 69),
            f("Pruning Shears {}", "Bypass|Anvil", 14, 39),
            f("Terracotta Plant Pot {}", "14 cm|20 cm|30 cm|40 cm", 4, 39),
            f("Watering Can {}", "5 l Green|10 l Green|10 l Galvanised", 12, 39),
            f("Organic Potting Soil {}", "20 l|40 l", 6, 12),
            f("Vegetable Seed Mix {}", "Salad|Herbs|Tomato", 3, 6),
            f("Garden Kneeler {}", "Foam|Folding Bench", 9, 45),
            f("Bird Feeder {}", "Hanging|Wooden House", 12, 39),
            f("Solar Garden Light {}", "Single|Set of 4", 9, 39),
            f("Hand Trowel {}", "Stainless|Ash Handle", 7, 19),
            f("Leaf Rake {}", "Plastic|Steel", 12, 29),
            f("Rain Barrel {}", "200 l|300 l", 49, 119),
            f("Lawn Seed {}", "Sports 1 kg|Shade 1 kg|Meadow 1 kg", 9, 19),
            f("Flower Bulbs {}", "Tulip Mix (25)|Daffodil (20)|Allium (10)", 6, 14),
            f("Hedge Shears {}", "Wavy Blade|Telescopic", 19, 49),
        ),
        ("Weatherproof.", "For balcony, patio and garden.", "UV-resistant.", "Made in Europe."),
    ),
    Category(
        "FOD",
        "Food & Drink",
        35,
        "0.05",
        (
            f("Single-Origin Coffee Beans {}", "Ethiopia 500 g|Colombia 500 g|Brazil 1 kg", 9, 28),
            f("Espresso Blend {}", "250 g|1 kg", 6, 24),
            f("Loose Leaf Tea {}", "Earl Grey 100 g|Sencha 100 g|Darjeeling 100 g", 6, 14),
            f("Extra Virgin Olive Oil {}", "0.5 l|1 l|3 l Tin", 7, 39),
            f("Balsamic Vinegar of Modena {}", "250 ml|500 ml", 5, 19),
            f("Italian Pasta {} 500 g", "Spaghetti|Penne|Fusilli|Linguine", 2, 4),
            f("Sea Salt Flakes {}", "125 g|250 g", 4, 9),
            f("Wildflower Honey {}", "250 g|500 g", 6, 14),
            f("Dark Chocolate 70% {}", "100 g|Box of 10", 3, 29),
            f("Sparkling Mineral Water {}", "6 x 1 l|12 x 0.5 l", 4, 9),
            f("Organic Apple Juice {}", "1 l|6 x 1 l", 2, 15),
            f("Roasted Almonds {}", "200 g|500 g", 4, 11),
            f("Basmati Rice {}", "1 kg|5 kg", 3, 14),
            f("Herbal Infusion {} (20 bags)", "Peppermint|Chamomile|Rooibos", 3, 5),
            f("Tomato Passata {}", "500 g|6 x 500 g", 2, 9),
            f("Oat Biscuits {}", "200 g|Family Pack 500 g", 2, 6),
        ),
        (
            "Best before date printed on the pack.",
            "Organic certified.",
            "Sourced from small producers.",
            "Store in a cool, dry place.",
        ),
    ),
    Category(
        "BKS",
        "Books",
        25,
        "0.05",
        (
            f("Field Guide to {}", "European Birds|Mushrooms|Wild Flowers|Trees", 19, 34),
            f("The Home Cook's {}", "Baking Book|Guide to Pasta|Vegetable Year", 22, 39),
            f("Practical Woodworking {}", "Vol. 1|Vol. 2", 24, 36),
            f("Bookkeeping for {}", "Small Business|Freelancers", 19, 29),
            f("Garden Planner {}", "2026|2027", 12, 18),
            f("Atlas of {}", "Europe|the World", 29, 59),
            f("Children's Picture Book: {}", "The Lost Kite|Harbour Cat|Night Train", 9, 16),
            f("Pocket Dictionary {}", "English-German|English-French|English-Spanish", 9, 15),
            f("Travel Guide: {}", "Lisbon|Vienna|Copenhagen|Krakow", 14, 24),
            f("Knitting Patterns {}", "for Beginners|Nordic Classics", 16, 26),
        ),
        ("Hardcover.", "Paperback, illustrated.", "New edition.", "With an index and maps."),
    ),
)


def _price(rng: random.Random, family: Family, position: int) -> Decimal:
    """A shelf price rising with the variant's position in the band, ending in .49 … .99."""
    step = (family.high - family.low) / max(len(family.variants) - 1, 1)
    euros = round(family.low + step * position * rng.uniform(0.9, 1.0))
    cents = rng.choice(("0.49", "0.90", "0.95", "0.99"))
    return Decimal(euros - 1 if euros > 1 else 0) + Decimal(cents)


def products(rng: random.Random) -> list[dict[str, object]]:
    """About 200 product bodies for `POST /products`, the same for the same generator state."""
    result: list[dict[str, object]] = []
    barcodes: set[str] = set()
    for category in CATEGORIES:
        items = [(fam, i) for fam in category.families for i in range(len(fam.variants))]
        chosen = sorted(rng.sample(range(len(items)), category.count))
        for number, index in enumerate(chosen, start=1):
            family, position = items[index]
            name = family.pattern.format(family.variants[position]).strip()
            barcode = _ean13(rng)
            while barcode in barcodes:
                barcode = _ean13(rng)
            barcodes.add(barcode)
            result.append(
                {
                    "sku": f"{category.prefix}-{number:04d}",
                    "name": name,
                    "description": f"{name}. {rng.choice(category.phrases)} ({category.name})",
                    "barcode": barcode,
                    "unit_price": str(_price(rng, family, position)),
                    "currency": "EUR",
                    "tax_rate": category.tax_rate,
                    "reorder_point": rng.choice((5, 10, 10, 15, 20, 25, 50)),
                }
            )
    return result


def _ean13(rng: random.Random) -> str:
    """An EAN-13 in GS1's prefix 2 (for in-store use), so it never names a real product."""
    body = "2" + "".join(rng.choices("0123456789", k=11))
    return body + str(gtin_check_digit(body))
