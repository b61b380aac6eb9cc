"""`erp terminal` finds the running stack's gateway in ERP_HOME/run/urls.json (written by
`erp up` once its panel is printed), and says clearly when no stack runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stack.env import PROJECT_ROOT
from stack.terminal import HEAD, running_gateway
from stack.up import URLS_FILE, write_urls


def test_erp_up_writes_the_printed_urls_for_local_tools(tmp_path: Path) -> None:
    # given the URLs erp up planned (including ones it does not print for heads)
    urls = {"nats": "nats://127.0.0.1:4", "core": "http://127.0.0.1:5",
            "gateway": "http://127.0.0.1:8000", "portal": "http://127.0.0.1:8501"}  # fmt: skip
    # when it writes them
    write_urls(tmp_path, urls)
    # then the file has the gateway and the portal, and erp terminal reads the gateway back
    saved = json.loads((tmp_path / URLS_FILE).read_text())
    assert saved == {"gateway": "http://127.0.0.1:8000", "portal": "http://127.0.0.1:8501"}
    assert running_gateway(tmp_path) == "http://127.0.0.1:8000"


def test_erp_terminal_without_a_running_stack_says_so(tmp_path: Path) -> None:
    # given a data folder where no stack runs
    env = {**os.environ, "ERP_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    # when erp terminal is run, then it exits 1 with a clear message (and creates nothing)
    result = subprocess.run(
        [sys.executable, "-m", "stack.cli", "terminal"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "No stack is running" in result.stdout
    assert "erp up" in result.stdout
    assert not (tmp_path / "home").exists()
    assert running_gateway(tmp_path / "home") is None
    assert HEAD.is_file()


def test_erp_terminal_takes_the_gateway_from_erp_gateway_url(tmp_path: Path) -> None:
    # given no stack for ERP_HOME but ERP_GATEWAY_URL naming a gateway (here one that is down)
    url = "http://127.0.0.1:9"
    env = {**os.environ, "ERP_HOME": str(tmp_path / "home"), "ERP_GATEWAY_URL": url,
           "COLUMNS": "200"}  # fmt: skip
    # when erp terminal is run, then it goes to that gateway (and says nothing answers there)
    result = subprocess.run(
        [sys.executable, "-m", "stack.cli", "terminal"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"Nothing answers at {url}" in result.stdout
