"""Resolving the stack's environment: data folder, database, secret, ports, log level."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from common import settings as env
from common.database_url import database_url as database_url_of
from common.database_url import redact

__all__ = ["PROJECT_ROOT", "StackEnv", "redact", "resolve"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class StackEnv:
    """The settings every process of the stack shares."""

    home: Path
    database_url: str
    secret: str
    log_level: str

    def child_env(self, **extra: str) -> dict[str, str]:
        """The environment of a child process: ours, the shared settings, and `extra`."""
        path = os.environ.get("PYTHONPATH")
        return {
            **os.environ,
            "ERP_HOME": str(self.home),
            "DATABASE_URL": self.database_url,
            "ERP_SECRET": self.secret,
            "ERP_LOG_LEVEL": self.log_level,
            "PYTHONUNBUFFERED": "1",
            # The checkout is importable in children even when it is not pip-installed.
            "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep}{path}" if path else str(PROJECT_ROOT),
            **extra,
        }


def resolve() -> StackEnv:
    """Read the environment, apply the defaults, and export them to this process too."""
    home = env.home()
    # The data folder holds the secret, the database and the logs: its owner's alone when we
    # create it (a folder that exists keeps its mode).
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    database_url = database_url_of(home=home)
    # core reads these at import time; set them before the first `import core…`.
    os.environ["ERP_HOME"] = str(home)
    os.environ["DATABASE_URL"] = database_url
    from core.config import load_secret

    secret = load_secret(home)
    os.environ["ERP_SECRET"] = secret
    log_level = env.LOG_LEVEL.get()
    return StackEnv(home, database_url, secret, log_level)
