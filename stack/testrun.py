"""`erp test`: pytest once on SQLite and, when `TEST_DATABASE_URL` is set, once on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from rich.console import Console

from stack.env import PROJECT_ROOT, redact

NO_TESTS_COLLECTED = 5


def backends() -> list[str]:
    """The backends to run: always SQLite, PostgreSQL when `TEST_DATABASE_URL` is set."""
    return ["sqlite", "postgres"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


def run(args: list[str], console: Console) -> int:
    """Run the test suite per backend; 1 if any run failed or collected nothing."""
    results: list[tuple[str, int]] = []
    totals: Counter[str] = Counter()
    for backend in backends():
        where = redact(os.environ["TEST_DATABASE_URL"]) if backend == "postgres" else "a temp file"
        console.rule(f"[bold]Tests on {backend}[/] ({where})")
        env = {**os.environ, "ERP_TEST_BACKEND": backend}
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.xml"
            command = [sys.executable, "-m", "pytest", f"--junitxml={report}", *args]
            code = subprocess.call(command, env=env, cwd=PROJECT_ROOT if not args else None)
            totals += counts(report)
        results.append((backend, code))
    failed = False
    for backend, code in results:
        if code == 0:
            console.print(f"[green]{backend}: passed[/]")
        else:
            why = "no tests collected" if code == NO_TESTS_COLLECTED else f"exit code {code}"
            console.print(f"[red]{backend}: failed ({why})[/]")
            failed = True
    # One closing line over every run, in the form CI reads.
    print(
        f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped"
    )
    return 1 if failed else 0


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
