"""What every document aggregate shares: its fields named as its columns, what changed, and the
fields it has in common with its API resource.

An aggregate is a frozen dataclass or msgspec struct whose scalar fields are named as its
table's columns, with its lines (or payments) as a tuple of the same kind named as theirs.
The rules return a changed copy; the store writes the fields that differ. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any, TypeVar

import msgspec

R = TypeVar("R", bound=msgspec.Struct)


def columns(aggregate: type[Any], *, without: Iterable[str] = ()) -> list[str]:
    """The field names of a dataclass or msgspec struct that are columns (all but those named
    in `without`)."""
    skip = set(without)
    names = getattr(aggregate, "__struct_fields__", None)
    if names is None:
        names = tuple(f.name for f in fields(aggregate))
    return [n for n in names if n not in skip]


def values(item: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named fields of an aggregate, as a row to write."""
    return {name: getattr(item, name) for name in names}


def changes(before: Any, after: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named fields whose value differs between two versions of one aggregate."""
    return {n: v for n in names if (v := getattr(after, n)) != getattr(before, n)}


def build(resource: type[R], item: Any, **computed: Any) -> R:
    """`resource` made from an aggregate without I/O: each field the aggregate holds under the
    same name is copied (an id, a status, a stamp), so a new one needs no mapping; `computed`
    gives the rest (money from minor units, derived figures, the lines) and wins over a copy.
    """
    copied = {n: getattr(item, n) for n in resource.__struct_fields__ if hasattr(item, n)}
    return resource(**(copied | computed))


def quoted(names: Iterable[str], table: str, prefix: str = "") -> str:
    """`t."a" AS "pa", t."b" AS "pb"`: a select list of `table`'s columns, each renamed with
    `prefix` (so a join's two tables cannot clash)."""
    return ", ".join(f'{table}."{n}" AS "{prefix}{n}"' for n in names)
