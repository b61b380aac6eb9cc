"""What a scan is: a scanner is a keyboard wedge that types a code and presses Enter.

`read(text)` turns one line into a `Scan`:
- a product's GTIN, parsed with `biip` (EAN-13, UPC-A, EAN-8, GTIN-14 with leading zeros, and
  GS1-128 / GS1 DataMatrix element strings with AI 01 among others such as 10 and 17, with or
  without the group separator, or in the printed "(01)…(10)…" form), kept as its GTIN-14;
- a quantity (1 to 4 digits alone) for the next product scan, or `3*CODE` (3 of CODE);
- a sales or purchase order number (`SO-000042`, `PO-000012`);
- any other text: a bin label or a SKU, which only the screen can tell apart (it knows the bins).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import biip
from biip.gs1_messages import GS1Message

Kind = Literal["empty", "quantity", "gtin", "document", "code"]
MAX_QUANTITY = 9999
_QUANTITY = re.compile(r"\d{1,4}")
_TIMES = re.compile(r"(\d{1,4})\s*[*xX\u00d7]\s*(\S.*)")
_DOCUMENT = re.compile(r"(PO|SO)-?(\d{1,12})", re.IGNORECASE)
# Scanners may add an AIM symbology identifier (]C1 for GS1-128, ]d2 for DataMatrix, ...), and
# a GS1 element string may use FNC1 as a group separator (ASCII 29); biip handles both.
_GS = "\x1d"
GS_SHOWN = "\u241d"  # how the scan field shows a separator typed as Ctrl+] (see screens/base)


@dataclass(frozen=True, slots=True)
class Scan:
    """One scanned (or typed) line, classified.

    `gtin` is the 14-digit GTIN for product barcodes; `code` the upper-cased text for bins and
    SKUs; `number` the normalised document number (`SO-000042`); `quantity` how many units the
    scan stands for (1 unless `N*` was given, or the quantity itself for a `quantity` scan).
    """

    raw: str
    kind: Kind
    quantity: int = 1
    gtin: str | None = None
    code: str = ""
    number: str = ""
    explicit: bool = False  # the quantity was scanned with the code (`3*CODE`)

    def names_product(self, sku: str, barcode: str | None) -> bool:
        """Whether this scan stands for the product with this SKU and barcode."""
        if self.gtin is not None:
            return barcode is not None and gtin14(barcode) == self.gtin
        if self.kind != "code":
            return False
        return self.code == sku.upper() or (barcode is not None and self.code == barcode.upper())


def gtin14(value: str) -> str | None:
    """The GTIN-14 of a GTIN of any length (EAN-13, UPC-A, EAN-8, GTIN-14), else None."""
    try:
        result = biip.parse(value.strip())
    except biip.ParseError:
        return None
    if result.gtin is None or result.gtin.value != result.value.strip():
        return None
    return result.gtin.as_gtin_14()


def barcode_forms(gtin: str) -> list[str]:
    """The ways a product's barcode may be stored for this GTIN-14: as printed on its label
    (EAN-13, UPC-A or EAN-8, when the leading digits are zeros) and as the GTIN-14 itself."""
    forms = [gtin[-n:] for n in (13, 12, 8) if set(gtin[:-n]) <= {"0"}]
    return [*forms, gtin]


def _gtin_of(text: str) -> str | None:
    """The GTIN-14 a barcode or GS1 element string carries (AI 01), else None."""
    if text.startswith("("):
        try:
            element = GS1Message.parse_hri(text).element_strings.get(ai="01")
        except biip.ParseError:
            return None
        return element.gtin.as_gtin_14() if element and element.gtin else None
    try:
        result = biip.parse(text, config=biip.ParseConfig(separator_chars=[_GS]))
    except biip.ParseError:
        return None
    return result.gtin.as_gtin_14() if result.gtin is not None else None


def read(text: str) -> Scan:
    """Classify one scanned line (see the module docstring)."""
    raw = text.replace(GS_SHOWN, _GS).strip()
    if not raw:
        return Scan(raw, "empty", quantity=0)
    if _QUANTITY.fullmatch(raw):
        return Scan(raw, "quantity", quantity=int(raw))
    if times := _TIMES.fullmatch(raw):
        inner = read(times.group(2))
        if inner.kind in ("gtin", "code"):
            return Scan(raw, inner.kind, int(times.group(1)), inner.gtin, inner.code, explicit=True)
    if document := _DOCUMENT.fullmatch(raw):
        prefix, digits = document.group(1).upper(), document.group(2)
        return Scan(raw, "document", number=f"{prefix}-{digits.zfill(6)}", code=raw.upper())
    if (gtin := _gtin_of(raw)) is not None:
        return Scan(raw, "gtin", gtin=gtin)
    return Scan(raw, "code", code=raw.upper())
