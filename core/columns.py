"""Column helpers every table uses: an id, a version and timestamps."""

from __future__ import annotations

from piccolo.columns import Integer, Timestamptz, Varchar


def id_column() -> Varchar:
    return Varchar(length=36, primary_key=True)


def version_column() -> Integer:
    return Integer(default=1, null=False)


def stamp_column() -> Timestamptz:
    return Timestamptz(null=False)
