"""The heads reach the system only through the gateway: no file in `heads/<head>/` imports
the rest of this repository, and every third-party module it imports is in its own
`requirements.txt`, so the folder works when copied alone."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

from stack.env import PROJECT_ROOT

HEADS = PROJECT_ROOT / "heads"
REPOSITORY = {"common", "core", "gateway", "events", "stack", "tests", "heads", "bench"}


def head_folders() -> list[Path]:
    """Every head: a folder of `heads/` with a README and a requirements.txt."""
    return (
        sorted(
            p
            for p in HEADS.iterdir()
            if (p / "README.md").is_file() and (p / "requirements.txt").is_file()
        )
        if HEADS.is_dir()
        else []
    )


def imported_modules(head: Path) -> dict[str, Path]:
    """Top-level module names imported (absolutely) by the head's Python files, with a file."""
    found: dict[str, Path] = {}
    for path in head.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path)
    return found


def own_modules(head: Path) -> set[str]:
    """Modules and packages inside the head's folder (importable from its root or tests)."""
    names = {p.stem for p in head.rglob("*.py")}
    return names | {p.name for p in head.rglob("*") if p.is_dir()}


def required_distributions(head: Path) -> set[str]:
    """Distribution names listed in the head's requirements files, normalised."""
    names = set()
    for file in head.glob("requirements*.txt"):
        for line in file.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):
                names.add(_normal(re.split(r"[\s\[<>=!~;]", line, maxsplit=1)[0]))
    return names


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_no_head_imports_the_repository_or_an_unlisted_package() -> None:
    # given every head and the distributions behind each importable module
    distributions = packages_distributions()
    problems = []
    for head in head_folders():
        listed = required_distributions(head)
        ours = own_modules(head)
        for module, path in imported_modules(head).items():
            where = path.relative_to(PROJECT_ROOT)
            # then nothing comes from the repository, and third-party code is listed
            if module in REPOSITORY and module not in ours:
                problems.append(f"{where} imports {module} from the repository")
            elif module in ours or module in sys.stdlib_module_names or module == "__future__":
                continue
            elif not {_normal(d) for d in distributions.get(module, [])} & listed:
                problems.append(f"{where} imports {module}, which no requirements file lists")
    assert not problems, "\n".join(problems)
