"""The ledger's pure decisions: level deltas in lock order, and allocation over bins."""

from __future__ import annotations

import pytest

from core.inventory.errors import InsufficientStock
from core.inventory.rules import Move, allocate, deltas, rebalance


def test_deltas_take_from_one_location_and_give_to_another_in_lock_order() -> None:
    moves = [Move("p2", "a", "b", 3), Move("p1", "b", "c", 2), Move("p2", "a", "c", 1)]
    assert deltas(moves) == {
        ("p1", "b"): (-2, 0),
        ("p1", "c"): (2, 0),
        ("p2", "a"): (-4, 0),
        ("p2", "b"): (3, 0),
        ("p2", "c"): (1, 0),
    }
    assert list(deltas(moves)) == sorted(deltas(moves))


def test_shipping_consumes_the_reservation_too() -> None:
    assert deltas([Move("p", "bin", "customer", 2, consume_reserved=True)]) == {
        ("p", "bin"): (-2, -2),
        ("p", "customer"): (2, 0),
    }


@pytest.mark.parametrize(
    ("lines", "free", "expected"),
    [
        ([("p", 3)], {"p": [("a", 5)]}, [("p", "a", 3)]),
        ([("p", 7)], {"p": [("a", 5), ("b", 5)]}, [("p", "a", 5), ("p", "b", 2)]),
        (
            [("p", 2), ("p", 4)],
            {"p": [("a", 3), ("b", 3)]},
            [("p", "a", 2), ("p", "a", 1), ("p", "b", 3)],
        ),
        ([("p", 1), ("q", 1)], {"p": [("a", 1)], "q": [("b", 9)]}, [("p", "a", 1), ("q", "b", 1)]),
    ],
)
def test_allocate_spreads_lines_over_bins(lines: list, free: dict, expected: list) -> None:
    assert allocate(lines, free) == expected


def test_allocate_is_all_or_nothing_and_names_every_short_line() -> None:
    with pytest.raises(InsufficientStock) as caught:
        allocate([("p", 1), ("q", 5), ("r", 2)], {"p": [("a", 1)], "q": [("a", 4)], "r": []})
    assert [(s.index, s.product_id, s.requested, s.available) for s in caught.value.short] == [
        (1, "q", 5, 4),
        (2, "r", 2, 0),
    ]
    assert [e.field for e in caught.value.errors] == ["lines[1].quantity", "lines[2].quantity"]


@pytest.mark.parametrize(
    ("held", "picked", "delta"),
    [
        # nothing picked beyond what is held: nothing moves
        ({("p", "A"): 5}, {("p", "A"): 3}, {}),
        # picking at B moves the hold from A
        ({("p", "A"): 5}, {("p", "B"): 2}, {("p", "A"): -2, ("p", "B"): 2}),
        # an earlier pick at B keeps its hold when A is picked later (the bug this guards)
        ({("p", "A"): 4, ("p", "B"): 6}, {("p", "B"): 6, ("p", "A"): 4}, {}),
        (
            {("p", "A"): 6, ("p", "C"): 4},
            {("p", "B"): 6, ("p", "A"): 4},
            {("p", "A"): -2, ("p", "B"): 6, ("p", "C"): -4},
        ),
        # nothing spare: the bin reserves afresh
        ({}, {("p", "A"): 2}, {("p", "A"): 2}),
        # other products' holds are never taken
        ({("q", "A"): 5}, {("p", "A"): 1}, {("p", "A"): 1}),
    ],
)
def test_rebalance_keeps_every_picked_bin_held(held: dict, picked: dict, delta: dict) -> None:
    assert rebalance(held, picked) == delta
