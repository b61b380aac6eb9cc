"""`common/` is the plumbing every package may import, so it imports none of them."""

from __future__ import annotations

import ast
from pathlib import Path

COMMON = Path(__file__).resolve().parents[2] / "common"
OURS = {"core", "events", "gateway", "stack", "heads", "tests", "bench"}


def test_common_imports_nothing_of_the_other_packages() -> None:
    # given every import statement in common/
    imported: set[tuple[str, str]] = set()
    for source in COMMON.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {(source.name, alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add((source.name, node.module))
    # then none names core, events, gateway, stack or another package of the repository
    assert [(f, m) for f, m in sorted(imported) if m.split(".")[0] in OURS] == []
