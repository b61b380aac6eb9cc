"""Counting the SQL statements a use case issues, on whichever engine the tests run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from piccolo.engine.base import Engine

from core import db


@contextmanager
def counted() -> Iterator[list[str]]:
    """The statements run inside the block, as text, in order (the engine class is patched,
    as `test_reports_dashboard.py::test_seven_statements_however_much_data` does)."""
    engine_class: type[Engine[Any]] = type(db.engine())
    run = engine_class.run_querystring
    statements: list[str] = []

    async def counting(self: Engine[Any], querystring: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(querystring))
        return await run(self, querystring, *args, **kwargs)

    engine_class.run_querystring = counting  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        engine_class.run_querystring = run  # type: ignore[method-assign]
