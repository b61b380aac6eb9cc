"""`erp test`: pytest once on SQLite and, when `TEST_DATABASE_URL` is set, once on PostgreSQL;
each time also the heads' own suites against a whole running stack."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from rich.console import Console

from stack import heads_stack
from stack.env import PROJECT_ROOT, redact

NO_TESTS_COLLECTED = 5


def backends() -> list[str]:
    """The backends to run: always SQLite, PostgreSQL when `TEST_DATABASE_URL` is set."""
    return ["sqlite", "postgres"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


def targeted(args: list[str]) -> bool:
    """Whether `args` name test paths (then only those run, and no head phase)."""
    return any(not a.startswith("-") and Path(a.split("::")[0]).exists() for a in args)


def run(args: list[str], console: Console) -> int:
    """Run the suites per backend; 1 if any run failed or collected nothing.

    `erp test [pytest options]`: the main suite (`tests/`), then the head phase: a whole
    stack with demo data and each head's suite against it. `erp test PATH ...`: only those
    paths. `erp test --heads [pytest options]`: only the head phase.
    """
    heads_only = args[:1] == ["--heads"]
    args = args[1:] if heads_only else args
    with_heads = heads_only or not targeted(args)
    results: list[tuple[str, int]] = []
    totals: Counter[str] = Counter()
    for backend in backends():
        where = redact(os.environ["TEST_DATABASE_URL"]) if backend == "postgres" else "a temp file"
        env = {**os.environ, "ERP_TEST_BACKEND": backend}
        if not heads_only:
            console.rule(f"[bold]Tests on {backend}[/] ({where})")
            code, counted = _pytest(args, env, cwd=PROJECT_ROOT if not args else None)
            totals += counted
            results.append((backend, code))
        if with_heads and heads_stack.suites():
            for name, code, counted in _head_phase(backend, args, console):
                totals += counted
                results.append((f"{backend} {name}", code))
    failed = False
    for name, code in results:
        if code == 0:
            console.print(f"[green]{name}: passed[/]")
        else:
            why = "no tests collected" if code == NO_TESTS_COLLECTED else f"exit code {code}"
            console.print(f"[red]{name}: failed ({why})[/]")
            failed = True
    # One closing line over every run, in the form CI reads.
    print(
        f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped"
    )
    return 1 if failed else 0


def _pytest(args: list[str], env: dict[str, str], cwd: Path | None) -> tuple[int, Counter[str]]:
    """One pytest invocation; its exit code and its counts."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        command = [sys.executable, "-m", "pytest", f"--junitxml={report}", *args]
        code = subprocess.call(command, env=env, cwd=cwd)
        return code, counts(report)


def _head_phase(
    backend: str, args: list[str], console: Console
) -> list[tuple[str, int, Counter[str]]]:
    """Start a whole stack on `backend`, then each head's suite in its own pytest run."""
    console.rule(f"[bold]Heads on {backend}[/] (a whole stack with demo data)")
    outcomes = []
    try:
        with heads_stack.running(backend) as urls:
            for suite in heads_stack.suites():
                name = suite.relative_to(PROJECT_ROOT).as_posix()
                console.print(f"[bold]{name}[/] against {urls['ERP_GATEWAY_URL']}")
                env = {**os.environ, **urls, "ERP_TEST_BACKEND": backend}
                code, counted = _pytest([str(suite), *args], env, cwd=suite.parent)
                outcomes.append((name, code, counted))
    except RuntimeError as error:
        console.print(f"[red]The stack for the heads did not start:[/] {error}")
        outcomes.append(("heads stack", 1, Counter(failed=1)))
    return outcomes


def counts(report: Path) -> Counter[str]:
    """Passed, failed and skipped tests in a JUnit XML report (errors count as failed)."""
    result: Counter[str] = Counter()
    if not report.exists():
        return result
    for suite in ET.parse(report).getroot().iter("testsuite"):
        tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        result.update(passed=tests - skipped - failed, failed=failed, skipped=skipped)
    return result
