"""Products: create and find, the 412 path of an edit that lost a race, archive, and the CSV
import (one bad row; a re-run creates nothing twice) and export."""

from __future__ import annotations

import csv
import io

import csv_import
import pytest
import ui
from portal_testing import api, button, click, ok, problems, shown, signed_in, table, unique


def products_page(username: str = "admin"):
    return ok(signed_in(username).switch_page("views/products.py").run())


def search(at, text: str):
    at.text_input(key="p-q").input(text).run()
    return ok(at)


@pytest.mark.smoke
def test_a_new_product_is_found_in_the_catalogue() -> None:
    # given the products page, when a new product is created through its form
    sku = unique("T-NEW")
    at = products_page()
    at.text_input(key="p-new-sku").input(sku)
    at.text_input(key="p-new-name").input(f"Test kettle {sku}")
    at.text_input(key="p-new-unit_price").input("19.90")
    ok(click(at, "Create product"))
    assert f"Created {sku}" in shown(at)
    # then searching the catalogue finds it
    rows = table(search(at, sku))
    assert [r["sku"] for r in rows] == [sku]
    assert rows[0]["unit_price"] == "19.90"


def test_the_catalogue_pages_forward_and_back_to_the_same_rows() -> None:
    # given the catalogue's first page of a list longer than one page
    at = products_page("sales")
    first = [r["sku"] for r in table(at)]
    assert first
    assert at.button(key="products-prev").disabled
    assert not at.button(key="products-next").disabled, "the demo catalogue fits one page"
    # when Next is clicked twice
    at = ok(at.button(key="products-next").click().run())
    second = [r["sku"] for r in table(at)]
    assert "Page 2" in shown(at)
    assert second
    assert not set(second) & set(first)
    at = ok(at.button(key="products-next").click().run())
    assert "Page 3" in shown(at)
    assert not {r["sku"] for r in table(at)} & set(first + second)
    # then Previous leads back through the second page to the first page's rows
    at = ok(at.button(key="products-prev").click().run())
    assert [r["sku"] for r in table(at)] == second
    at = ok(at.button(key="products-prev").click().run())
    assert "Page 1" in shown(at)
    assert [r["sku"] for r in table(at)] == first
    assert at.button(key="products-prev").disabled


def test_a_refused_create_shows_the_problem() -> None:
    # given an existing SKU, when a product is created with it
    taken = api("admin").get("/products", limit=1)["items"][0]["sku"]
    at = products_page()
    at.text_input(key="p-new-sku").input(taken)
    at.text_input(key="p-new-name").input("Duplicate")
    at.text_input(key="p-new-unit_price").input("12.50")
    at = click(at, "Create product")
    # then the conflict is shown in words (title and status), not as a traceback
    assert not at.exception
    assert len(problems(at)) == 1, problems(at)
    assert "(409)" in problems(at)[0]


def test_an_edit_that_lost_a_race_is_refused_and_can_be_reapplied() -> None:
    # given a product opened for editing
    sku = unique("T-RACE")
    created = api("admin").post("/products", {"sku": sku, "name": "Race", "unit_price": "5.00"})
    pid = created.body["id"]
    at = search(products_page(), sku)
    at.selectbox(key="p-pick").set_value(pid).run()
    ok(at)
    # and, meanwhile, someone else changes its price
    _, etag = api("sales").get_with_etag(f"/products/{pid}")
    api("sales").patch(f"/products/{pid}", {"unit_price": "6.00"}, if_match=etag)
    # when the first person saves a new name from the version they opened
    at.text_input(key=f"edit-{pid}-name").input("Race (renamed)")
    at = click(at, "Save changes")
    # then the save is refused with 412, nothing of theirs is saved, and the conflict is shown
    assert not at.exception
    assert any("412" in p for p in problems(at)), problems(at)
    assert api("admin").get(f"/products/{pid}")["name"] == "Race"
    assert "Someone changed this product" in shown(at)
    # when they reload and re-apply their change
    at = ok(click(at, "Reload and re-apply my changes"))
    # then both changes hold, and the form shows the product as it is now
    now = api("admin").get(f"/products/{pid}")
    assert (now["name"], now["unit_price"]) == ("Race (renamed)", "6.00")
    assert "applied to the latest version" in shown(at)
    assert at.text_input(key=f"edit-{pid}-unit_price").value == "6.00"


def test_a_product_is_archived_from_its_page() -> None:
    # given an active product opened on its page
    sku = unique("T-ARCH")
    pid = (
        api("admin").post("/products", {"sku": sku, "name": "Old", "unit_price": "1.00"}).body["id"]
    )
    at = search(products_page(), sku)
    at.selectbox(key="p-pick").set_value(pid).run()
    # when it is archived
    at = ok(button(at, "Archive").click().run())
    # then it is archived and the page says so
    assert api("admin").get(f"/products/{pid}")["active"] is False
    assert "archived" in shown(at)


def import_file(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(csv_import.COLUMNS))
    writer.writeheader()
    writer.writerows({c: r.get(c, "") for c in csv_import.COLUMNS} for r in rows)
    return out.getvalue().encode()


def run_import(at, data: bytes):
    tab = at.file_uploader(key="p-import-file").set_value(("products.csv", data, "text/csv"))
    tab.run()
    return click(at, "Import")


@pytest.mark.smoke
def test_a_csv_import_reports_the_bad_row_and_a_rerun_creates_nothing_twice() -> None:
    # given a file of three products, the second with a price that is no number
    skus = [unique("T-CSV") for _ in range(3)]
    data = import_file(
        [
            {"sku": skus[0], "name": "Imported one", "unit_price": "3.50", "reorder_point": "4"},
            {"sku": skus[1], "name": "Imported two", "unit_price": "a lot"},
            {"sku": skus[2], "name": "Imported three", "unit_price": "7.25", "tax_rate": "0.10"},
        ]
    )
    at = products_page()
    # when it is imported
    at = run_import(at, data)
    assert not at.exception
    # then two are created, and the bad row is reported with the server's reason
    assert "2 created · 0 already imported · 1 refused" in shown(at)
    refused = table(at, -1)
    assert [(r["Line"], r["SKU"]) for r in refused] == [(3, skus[1])]
    assert "unit_price" in refused[0]["Reasons"]
    found = {p["sku"]: p for p in api("admin").walk("/products", {"q": "T-CSV"})}
    assert found[skus[0]]["reorder_point"] == 4
    assert skus[1] not in found
    # when the same file is imported again
    at = run_import(at, data)
    # then nothing is created twice: the good rows are replays
    assert "0 created · 2 already imported · 1 refused" in shown(at)
    assert sum(p["sku"] in skus for p in api("admin").walk("/products", {"q": "T-CSV"})) == 2


def test_the_export_writes_the_columns_the_import_reads() -> None:
    # given a product, when the catalogue's rows are written as CSV
    product = api("admin").get("/products", limit=1)["items"][0]
    text = ui.csv_text([csv_import.export_row(product)])
    # then the header is the import's columns plus `active`, and the row reads back
    header = text.splitlines()[0].split(",")
    assert header == [*csv_import.COLUMNS, "active"]
    assert csv_import.body(csv_import.rows(text.encode())[0])["sku"] == product["sku"]
