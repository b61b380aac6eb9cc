"""The served OpenAPI document passes Redocly's and Spectral's recommended rules with no errors
(warnings are printed, not failed). Both linters are pinned in `.ci/node/package-lock.json` and
installed by `.ci/run`; without them the test fails under CI and is skipped elsewhere:

    npm ci --prefix .ci/node --ignore-scripts
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stack.env import PROJECT_ROOT

BIN = PROJECT_ROOT / ".ci" / "node" / "node_modules" / ".bin"
RULESET = PROJECT_ROOT / ".spectral.yaml"
INSTALL = "npm ci --prefix .ci/node --ignore-scripts (as .ci/run does)"


def linter(name: str) -> Path:
    """The installed linter's command; a failure under CI, a skip elsewhere, when missing."""
    path = BIN / name
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed"
    elif not path.exists():
        missing = f"{name} is not installed in .ci/node; run: {INSTALL}"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must lint the OpenAPI document, but {missing}", pytrace=False)
        pytest.skip(missing)
    return path


@pytest.fixture(scope="module")
def document(served_openapi: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lint") / "openapi.json"
    path.write_bytes(served_openapi)
    return path


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    env["NO_COLOR"] = "1"
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_redocly_recommended_rules_find_no_errors(document: Path) -> None:
    done = run([str(linter("redocly")), "lint", "--extends", "recommended", "--format", "json",
                str(document)])  # fmt: skip
    report: dict[str, Any] = json.loads(done.stdout)
    totals = report["totals"]
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    print(f"redocly: {totals['errors']} errors, {totals['warnings']} warnings")
    assert totals["errors"] == 0, json.dumps(errors, indent=1)[:5000]


def test_spectral_oas_rules_find_no_errors(document: Path) -> None:
    done = run([str(linter("spectral")), "lint", "--ruleset", str(RULESET), "--format", "json",
                "--quiet", "--fail-severity", "error", str(document)])  # fmt: skip
    start = done.stdout.find("[")
    assert start >= 0, done.stdout + done.stderr
    problems: list[dict[str, Any]] = json.loads(done.stdout[start:])
    errors = [p for p in problems if p["severity"] == 0]  # 0 error, 1 warning, 2 info, 3 hint
    warnings = [p for p in problems if p["severity"] == 1]
    print(f"spectral: {len(errors)} errors, {len(warnings)} warnings")
    assert not errors, json.dumps(errors, indent=1)[:5000]
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
