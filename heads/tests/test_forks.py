"""Each head is a template a team forks by copying its folder: the copy alone, with only its
own requirements in a fresh virtual environment, passes its smoke tests against the stack.

Runs in `erp test`'s head phase (`ERP_GATEWAY_URL` names the running stack). A head opts in
with a `requirements.txt` and tests marked `smoke`; `requirements-dev.txt`, when present,
holds what its tests need beyond running (pytest and friends).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

HEADS = Path(__file__).resolve().parent.parent
FORKABLE = sorted(p.name for p in HEADS.iterdir() if (p / "requirements.txt").is_file())
INSTALL_TIMEOUT = 900


def _install(copy: Path, env_dir: Path) -> Path:
    """A fresh virtual environment (no site packages) with the copy's own requirements."""
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    requirements = ["-r", "requirements.txt"]
    if (copy / "requirements-dev.txt").is_file():
        requirements += ["-r", "requirements-dev.txt"]
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
        cwd=copy,
        check=True,
        timeout=INSTALL_TIMEOUT,
    )
    return python


@pytest.mark.parametrize("head", FORKABLE)
def test_a_copied_head_passes_its_smoke_tests_alone(head: str, tmp_path: Path) -> None:
    # given the head's folder copied alone into an empty folder, with its own environment
    copy = tmp_path / "fork" / head
    shutil.copytree(
        HEADS / head, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache")
    )
    python = _install(copy, tmp_path / "venv")
    # when its smoke tests run there, against the running stack, with nothing else importable
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("VIRTUAL")}
    result = subprocess.run(
        [str(python), "-m", "pytest", "-m", "smoke", "-q", "-p", "no:cacheprovider"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # then they pass (and there were some)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert sys.executable != str(python)
