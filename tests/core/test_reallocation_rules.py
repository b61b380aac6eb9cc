"""The pure decisions behind pick swaps and counts below reserved: table-driven, no I/O."""

from __future__ import annotations

import pytest

from core.inventory import rules
from core.inventory.rules import Shift
from core.sales.rules import LineState, shortages, unpick

A, B, C = ("p", "A"), ("p", "B"), ("p", "C")


@pytest.mark.parametrize(
    ("delta", "free", "others", "shifts", "lacking"),
    [
        # free units at the picked bin come first: no swap
        ({B: 2, A: -2}, {B: 2}, {B: [("o2", 2)]}, [], {}),
        # the contract's story: the other order's hold moves to the bin freed
        ({B: 2, A: -2}, {B: 0}, {B: [("o2", 2)]}, [Shift("o2", "p", "B", "A", 2)], {}),
        # part free, part swapped
        ({B: 2, A: -2}, {B: 1}, {B: [("o2", 2)]}, [Shift("o2", "p", "B", "A", 1)], {}),
        # nothing to swap with: lacking
        ({B: 2, A: -2}, {B: 0}, {}, [], {B: 2}),
        # a swap can only go where this order frees units
        ({B: 2}, {B: 0}, {B: [("o2", 2)]}, [], {B: 2}),
        # several freed bins, in key order
        (
            {B: 2, A: -1, C: -1},
            {B: 0},
            {B: [("o2", 1), ("o3", 1)]},
            [Shift("o2", "p", "B", "A", 1), Shift("o3", "p", "B", "C", 1)],
            {},
        ),
    ],
)
def test_swaps(delta: dict, free: dict, others: dict, shifts: list, lacking: dict) -> None:
    assert rules.swaps(delta, free, others) == (shifts, lacking)


def test_make_room_takes_unpicked_holds_newest_first_then_picked_units() -> None:
    # o1 (older) holds 3 with 2 picked, o2 holds 2 unpicked; the count leaves 4 too few
    room = rules.make_room(A, 4, [("o1", 3, 2), ("o2", 2, 0)], [("B", 2)])
    # o2's 2 unpicked, then o1's 1 unpicked, then 1 of o1's picked units
    assert room.shifts == [Shift("o2", "p", "A", "B", 2)]
    assert room.lost == {"o1": 2}
    assert room.unpicked == {"o1": 1}
    assert rules.shifted_levels(room.shifts) == {A: -2, B: 2}


@pytest.mark.parametrize(
    ("lines", "held", "short"),
    [
        ([LineState("p", 3, 0)], {"p": 3}, [0]),
        ([LineState("p", 3, 0)], {"p": 1}, [2]),
        ([LineState("p", 3, 2), LineState("p", 2, 0)], {"p": 3}, [1, 1]),
        ([LineState("p", 2, 0), LineState("q", 2, 0)], {"p": 2}, [0, 2]),
    ],
)
def test_shortages_lie_on_unpicked_units_in_line_order(
    lines: list[LineState], held: dict, short: list[int]
) -> None:
    assert shortages(lines, held) == short


def test_unpick_takes_from_the_last_line_back() -> None:
    lines = [LineState("p", 2, 2), LineState("q", 1, 1), LineState("p", 2, 1)]
    assert unpick(lines, "p", 2) == [1, 1, 0]
