"""Starting child processes in their own process groups, logging them, and stopping them all."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """One process of the stack: its name (also its log and pid file), command and environment."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None


@dataclass(slots=True)
class Child:
    """A started process with its log file."""

    spec: ProcessSpec
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def exited(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return self.popen.poll()


def _die_with_parent() -> None:
    """In the child before exec (Linux): get SIGTERM if the supervisor itself is killed."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def tail(path: Path, lines: int = 20) -> list[str]:
    """The last `lines` lines of a log file (empty if it does not exist)."""
    try:
        with path.open("r", errors="replace") as fh:
            return [line.rstrip("\n") for line in deque(fh, maxlen=lines)]
    except FileNotFoundError:
        return []


class Supervisor:
    """Owns the stack's children: starts each in a new session, stops them all in reverse."""

    def __init__(self, home: Path) -> None:
        self.log_dir = home / "logs"
        self.run_dir = home / "run"
        self.children: list[Child] = []
        self.force = False

    def start(self, spec: ProcessSpec, base_env: dict[str, str]) -> Child:
        """Start `spec` with stdout/stderr to `logs/<name>.log` and its pid in `run/<name>.pid`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{spec.name}.log"
        with log_path.open("wb") as log:
            # A new session puts the child in its own process group: a terminal's Ctrl-C reaches
            # only us, and stopping the group also stops anything the child started.
            popen = subprocess.Popen(
                spec.argv,
                env={**base_env, **spec.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        child = Child(spec, popen, log_path)
        self.children.append(child)
        (self.run_dir / f"{spec.name}.pid").write_text(f"{popen.pid}\n")
        return child

    def running(self) -> list[int]:
        """Pids from `run/*.pid` that are still alive (a stack already running for this home)."""
        alive: list[int] = []
        for pid_file in self.run_dir.glob("*.pid"):
            try:
                pid = int(pid_file.read_text())
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError):
                pid_file.unlink(missing_ok=True)
                continue
            except PermissionError:
                pass
            alive.append(pid)
        return alive

    def first_dead(self) -> Child | None:
        """The first child that has exited, if any."""
        return next((c for c in self.children if c.exited() is not None), None)

    def stop_all(self, grace: float = 10.0) -> None:
        """SIGTERM every child's group (newest first), wait up to `grace` s, then SIGKILL."""
        for child in reversed(self.children):
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not self.force:
            if all(c.exited() is not None for c in self.children):
                break
            time.sleep(0.05)
        for child in self.children:
            # Killing the group even after the leader exited reaps stragglers it left behind.
            _signal_group(child, signal.SIGKILL)
            if child.exited() is None:
                child.popen.wait(timeout=5)
            (self.run_dir / f"{child.spec.name}.pid").unlink(missing_ok=True)
        self.children.clear()


def _signal_group(child: Child, sig: signal.Signals) -> None:
    """Send `sig` to the child's process group, ignoring a group that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)
