"""The event-type patterns and the visibility rule, each defined once (`common`) for core's log,
the gateway's stream and the webhooks. Table-driven, no I/O."""

from __future__ import annotations

import pytest

from common.event_types import TypePattern, can_match, matches_any, pattern
from common.visibility import Term, Visibility

KNOWN = frozenset({"erp.sales_order.confirmed", "erp.sales_order.shipped", "erp.product.created"})


@pytest.mark.parametrize(
    ("text", "expected", "can"),
    [
        ("erp.sales_order.confirmed", TypePattern("erp.sales_order.confirmed", True), True),
        ("erp.sales_order.*", TypePattern("erp.sales_order.", False), True),
        ("erp.sales_order.", TypePattern("erp.sales_order.", False), True),
        ("erp.sales_order", TypePattern("erp.sales_order.", False), True),
        ("erp.sales_order*", TypePattern("erp.sales_order.", False), True),
        ("erp", TypePattern("erp.", False), True),
        ("erp.*", TypePattern("erp.", False), True),
        ("erp.sales_order.lost", TypePattern("erp.sales_order.lost", True), False),
        ("erp.sales.*", TypePattern("erp.sales.", False), False),
        ("erp.sales_order.confirmed.*", TypePattern("erp.sales_order.confirmed.", False), False),
        ("", TypePattern(".", False), False),
    ],
)
def test_a_pattern_is_read_one_way(text: str, expected: TypePattern, can: bool) -> None:
    assert pattern(text) == expected
    assert can_match(pattern(text), KNOWN) is can


def test_matching() -> None:
    assert matches_any(["erp.product.created", "erp.sales_order.*"], "erp.sales_order.shipped")
    assert not matches_any(["erp.sales_order.confirmed"], "erp.sales_order.shipped")
    assert not matches_any([], "erp.product.created")


CUSTOMER = Visibility(("erp.product.", "erp.sales_order."), ("erp.sales_order.",), "c1")
NO_CUSTOMER = Visibility(("erp.sales_order.",), ("erp.sales_order.",))


@pytest.mark.parametrize(
    ("seen", "event_type", "owner", "visible"),
    [
        (Visibility(("erp.",)), "erp.anything.new", None, True),
        (Visibility(()), "erp.product.created", None, False),
        (CUSTOMER, "erp.product.created", None, True),
        (CUSTOMER, "erp.sales_order.confirmed", "c1", True),
        (CUSTOMER, "erp.sales_order.confirmed", "c2", False),
        (CUSTOMER, "erp.sales_order.confirmed", None, False),
        (CUSTOMER, "erp.stock.moved", None, False),
        (
            Visibility(("erp.sales_order.",), ("erp.sales_order.",)),
            "erp.sales_order.x",
            None,
            False,
        ),
    ],
)
def test_who_sees_which_event(
    seen: Visibility, event_type: str, owner: str | None, visible: bool
) -> None:
    assert seen.sees(event_type, owner) is visible


def test_the_terms_are_what_cores_sql_ors_together() -> None:
    assert CUSTOMER.terms() == (Term("erp.product."), Term("erp.sales_order.", "c1"))
    assert NO_CUSTOMER.terms() == ()
    assert Visibility(("erp.",)).everything
