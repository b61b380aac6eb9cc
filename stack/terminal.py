"""`erp terminal`: open the warehouse terminal (heads/warehouse) in this console, against the
gateway of the stack `erp up` runs for ERP_HOME (it writes `ERP_HOME/run/urls.json`), or
against `--gateway URL` or `ERP_GATEWAY_URL`. The head is started as its own program, as a
forked copy would be."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx
from rich.console import Console
from rich.markup import escape

from common import settings as env
from stack.env import PROJECT_ROOT

HEAD = PROJECT_ROOT / "heads" / "warehouse" / "app.py"
URLS_FILE = Path("run") / "urls.json"


def running_gateway(home: Path) -> str | None:
    """The gateway URL the running stack printed, if `erp up` runs for `home`."""
    try:
        urls = json.loads((home / URLS_FILE).read_text())
    except (OSError, ValueError):
        return None
    gateway = urls.get("gateway") if isinstance(urls, dict) else None
    return gateway if isinstance(gateway, str) and gateway else None


def _answers(gateway: str) -> bool:
    try:
        return httpx.get(f"{gateway}/api/v1/health/live", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def run(gateway: str | None, console: Console) -> int:
    """Replace this process with the terminal; 1 (said why) when there is no gateway to use.

    The gateway is `--gateway`, else `ERP_GATEWAY_URL` (as the head itself reads it), else the
    one `erp up` wrote for ERP_HOME."""
    home = env.home()
    url = gateway or env.GATEWAY_URL.get() or running_gateway(home)
    if url is None:
        console.print(
            f"[red]No stack is running for {escape(str(home))}.[/] Start one with "
            "[bold]erp up[/] (in another console), or give [bold]--gateway URL[/]."
        )
        return 1
    if not _answers(url):
        console.print(f"[red]Nothing answers at {escape(url)}[/] (is the stack still starting?).")
        return 1
    argv = [sys.executable, str(HEAD), "--gateway", url]
    os.execv(sys.executable, argv)
    return 0  # not reached
