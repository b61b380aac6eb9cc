"""Scans as real scanners send them all name the same product (no stack needed)."""

from __future__ import annotations

import pytest
import scans

EAN13 = "4006381333931"
GTIN14 = "04006381333931"
UPC_A = "036000291452"
EAN8 = "96385074"


@pytest.mark.smoke
@pytest.mark.parametrize(
    "raw",
    [
        EAN13,
        GTIN14,
        "01" + GTIN14,  # GS1-128 / DataMatrix element string, AI 01 alone
        "01" + GTIN14 + "10ABC123\x1d17261231",  # batch then expiry, with the separator
        "01" + GTIN14 + "1726123110ABC123",  # fixed-length AIs first: no separator needed
        "1726123110ABC123\x1d01" + GTIN14,  # AI 01 after others
        "]C101" + GTIN14 + "10ABC",  # with the AIM symbology identifier of GS1-128
        "]d201" + GTIN14 + "17261231",  # GS1 DataMatrix
        "01" + GTIN14 + "10ABC123\u241d17261231",  # the separator as the scan field shows it
        f"(01){GTIN14}(10)ABC123(17)261231",  # the human-readable form, typed
    ],
)
def test_every_form_of_one_gtin_names_the_same_product(raw: str) -> None:
    scan = scans.read(raw)
    assert scan.kind == "gtin"
    assert scan.gtin == GTIN14
    assert scan.names_product("SKU-1", EAN13)
    assert not scan.names_product("SKU-1", "4006381333948")


@pytest.mark.smoke
@pytest.mark.parametrize(("raw", "stored"), [(UPC_A, UPC_A), ("00" + UPC_A, UPC_A),
                                             (EAN8, EAN8), ("000000" + EAN8, EAN8)])  # fmt: skip
def test_upc_a_and_ean_8_with_or_without_leading_zeros(raw: str, stored: str) -> None:
    scan = scans.read(raw)
    assert scan.kind == "gtin"
    assert scan.names_product("X", stored)
    assert stored in scans.barcode_forms(scan.gtin or "")


@pytest.mark.smoke
def test_quantities_documents_and_codes() -> None:
    assert scans.read("3") == scans.Scan("3", "quantity", quantity=3)
    times = scans.read("4*" + EAN13)
    assert (times.kind, times.quantity, times.gtin, times.explicit) == ("gtin", 4, GTIN14, True)
    assert scans.read("so-42").number == "SO-000042"
    assert scans.read("PO-000012").number == "PO-000012"
    code = scans.read(" a-01-03 ")
    assert (code.kind, code.code) == ("code", "A-01-03")
    assert code.names_product("a-01-03", None)
    assert scans.read("").kind == "empty"
    assert scans.read("4006381333932").kind == "code"  # a wrong check digit is no GTIN
