"""Text search that ignores Unicode case and accents, index-backed on both databases.

A searchable table keeps a `search_text` column: its searched fields folded by `fold` and
joined by `SEPARATOR`, written by the area's service with the row (`text_of`, `refresh`). A
filter `q` is folded the same way and matched as a literal substring (`%` and `_` are text):

- PostgreSQL: `search_text LIKE '%q%'` with the wildcards escaped, over a pg_trgm GIN index;
  the pattern is written into the statement (`constant`), so each term gets its own plan.
- SQLite: an FTS5 table `<table>_search` with the trigram tokenizer over the same column
  (external content, kept in step by triggers), joined on rowid.

Trigrams need three characters: a `q` that folds to one or two scans the table instead.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.custom_types import Combinable
from piccolo.querystring import QueryString
from piccolo.table import Table

from core.db import is_sqlite

# Between the fields of a row's search text, so a match never spans two fields.
SEPARATOR = "\x1f"
# Shortest `q` (folded) the trigram indexes can serve; shorter ones scan.
MIN_INDEXED = 3
# Latin letters whose mark is part of the letter, so NFKD leaves them whole (as unaccent does).
_LETTERS = str.maketrans(
    {"ø": "o", "đ": "d", "ð": "d", "ħ": "h", "\u0131": "i", "ł": "l", "ŀ": "l", "ŧ": "t"}
    | {"æ": "ae", "œ": "oe", "þ": "th"}
)


def fold(text: str) -> str:
    """`text` as search compares it: case folded, compatibility-decomposed, marks dropped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Folded again: NFKD can reveal a capital (U+210C, black-letter H, becomes "H").
    return bare.casefold().translate(_LETTERS)


def text_of(*fields: str | None) -> str:
    """The `search_text` of a row whose searched fields are `fields` (None counts as "")."""
    return SEPARATOR.join(fold(field or "") for field in fields)


def matching(table: type[Table], q: str) -> Combinable:
    """Rows of `table` whose search text contains `q` (folded), as literal text."""
    return WhereRaw("{}", condition(table._meta.tablename, q))


def condition(name: str, q: str) -> QueryString:
    """`matching` as SQL, for statements written out (`name`: the table's)."""
    needle = fold(q).replace(SEPARATOR, "")
    if is_sqlite():
        if len(needle) < MIN_INDEXED:
            return QueryString(f"instr({name}.search_text, {{}}) > 0", needle)
        phrase = '"' + needle.replace('"', '""') + '"'  # an FTS5 string: every character literal
        return QueryString(
            f"{name}.rowid IN (SELECT rowid FROM {name}_search WHERE {name}_search MATCH {{}})",
            phrase,
        )
    if "\x00" in needle:  # PostgreSQL text holds no NUL: nothing matches (the API's 422s it)
        return QueryString("FALSE")
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return QueryString(f"{name}.search_text LIKE {constant(f'%{escaped}%')}")


def constant(text: str) -> str:
    """`text` as a PostgreSQL string constant, to write into a `QueryString`'s template.

    Why the pattern is written in, not bound: bound, the search is one prepared statement for
    every term, and after five runs PostgreSQL may plan it once for all (a generic plan), which
    cannot know how many rows the term matches. Guessing 0.5 %, for a small page it walks the
    primary key and filters, which for a term matching one product in thousands reads them all
    (a demo SKU on the quick large seed: 10 200 rows, 4 ms, against 0.1 ms through the trigram
    index; issue 13, as `/sales-orders?status=` had). Written in, each term is planned for its
    own estimate: the trigram index for a rare term, the walk in id order for a common one.

    Safe for any text without NUL (which PostgreSQL text cannot hold; `condition` keeps it
    out): an `E'...'` constant with every backslash and quote escaped means the same whatever
    `standard_conforming_strings` is, and braces are doubled for the template's formatter.
    """
    body = text.replace("\\", "\\\\").replace("'", "''")
    return f"E'{body}'".replace("{", "{{").replace("}", "}}")


async def refresh(table: type[Table], row: dict[str, Any], *fields: str) -> dict[str, Any]:
    """Rewrite a just-updated row's search text from its `fields` when they changed it.

    Called in the update's transaction, on the row the update returned: the row is locked
    (PostgreSQL) or the database is (SQLite), so the text agrees with the committed fields even
    when two updates race.
    """
    text = text_of(*(row[field] for field in fields))
    if row["search_text"] == text:
        return row
    pk = table._meta.primary_key
    await table.update({table.search_text: text}).where(pk == row[pk._meta.name])  # type: ignore[attr-defined]
    return {**row, "search_text": text}
