"""The import rules of pyproject.toml's `[tool.importlinter]` cover the whole of core: every
area with a `tables.py` has the contract that only the area itself imports it. `lint-imports`
(run by `.ci/run`) checks the contracts; this test checks that none is missing."""

from __future__ import annotations

import tomllib
from typing import Any

from stack.env import PROJECT_ROOT


def contracts() -> list[dict[str, Any]]:
    """The import-linter contracts as pyproject.toml lists them."""
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    found: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return found


def test_every_area_s_tables_are_protected() -> None:
    # given each area of core that has tables
    areas = sorted(p.parent.name for p in (PROJECT_ROOT / "core").glob("*/tables.py"))
    assert areas
    # then a protected contract lets only that area (and the table registry) import them
    protected = {
        module: set(c["allowed_importers"])
        for c in contracts()
        if c["type"] == "protected"
        for module in c["protected_modules"]
    }
    for area in areas:
        allowed = protected.get(f"core.{area}.tables")
        assert allowed is not None, f"no contract protects core.{area}.tables"
        assert allowed <= {f"core.{area}", "core.piccolo_app", "core.migrations"}, allowed


def test_every_rules_module_is_held_pure() -> None:
    # given the modules named rules (core's areas', and the webhooks' in events)
    root = PROJECT_ROOT
    modules = [
        ".".join(p.relative_to(root).with_suffix("").parts)
        for p in [*root.glob("core/*/rules.py"), *root.glob("events/*rules.py")]
    ]
    # then the purity contract names each of them, or the wildcard of core's
    pure = next(c for c in contracts() if "piccolo" in c.get("forbidden_modules", []))
    sources = set(pure["source_modules"])
    for module in modules:
        covered = module in sources or (module.startswith("core.") and "core.*.rules" in sources)
        assert covered, f"{module} is not in the purity contract"
