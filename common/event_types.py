"""Event-type patterns, read one way by the event log's `type`, the stream's `types` and the
webhooks' `event_types`.

An event type is `erp.<aggregate>.<event>`. A pattern is either one type exactly or the prefix
of many: one ending in `.*` (`erp.sales_order.*`) or `.` (`erp.sales_order.`), or with fewer
than three parts (`erp.sales_order`, `erp`), is a prefix (ending in `.`); anything else is
exact. Whether a pattern can ever match is a question about the known types (`can_match`):
an exact type must be one, a prefix must be `erp.` or an aggregate's. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

ROOT = "erp."
# The form of a pattern as a client may write one (lower-case names, dots, one final `*`).
FORM = re.compile(r"[a-z_.]+\*?")
MAX_LENGTH = 64


@dataclass(frozen=True, slots=True)
class TypePattern:
    """What a pattern selects: one exact type (`exact`) or every type under a prefix."""

    value: str
    exact: bool

    def matches(self, event_type: str) -> bool:
        """Whether an event of this type passes."""
        return event_type == self.value if self.exact else event_type.startswith(self.value)


def pattern(text: str) -> TypePattern:
    """Read one pattern (see the module's doc), as it is written (blanks are not trimmed); no
    check that it can match."""
    stem = text.removesuffix("*")
    if stem != text or stem.endswith(".") or stem.count(".") < 2:
        return TypePattern(stem if stem.endswith(".") else stem + ".", exact=False)
    return TypePattern(text, exact=True)


def well_formed(text: str) -> bool:
    """Whether `text` has a pattern's form (`FORM`, at most `MAX_LENGTH` characters)."""
    return len(text) <= MAX_LENGTH and FORM.fullmatch(text) is not None


def aggregate_prefixes(known: Iterable[str]) -> frozenset[str]:
    """`erp.sales_order.confirmed` → `erp.sales_order.`: the prefixes that name an aggregate."""
    return frozenset(t.rsplit(".", 1)[0] + "." for t in known)


def can_match(selected: TypePattern, known: frozenset[str]) -> bool:
    """Whether the pattern can match one of the `known` types: an exact one must be known, a
    prefix must be `erp.` or a known aggregate's."""
    if selected.exact:
        return selected.value in known
    return selected.value == ROOT or selected.value in aggregate_prefixes(known)


def matches_any(patterns: Iterable[str], event_type: str) -> bool:
    """Whether any of `patterns` matches the type."""
    return any(pattern(p).matches(event_type) for p in patterns)
