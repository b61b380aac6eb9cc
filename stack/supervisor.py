"""Starting child processes in their own process groups, logging them, restarting one that dies
(with backoff, until it keeps dying), and stopping them all."""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from common import settings
from stack import logfiles
from stack.logfiles import tail

__all__ = [
    "Child",
    "Died",
    "ProcessSpec",
    "RestartPolicy",
    "Restarted",
    "Supervisor",
    "describe_exit",
    "tail",
]


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """One process of the stack: its name (also its log and pid file), command and environment."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None


RESTART_LIMIT = int(
    settings.RESTART_LIMIT.default
)  # restarts of one process within RESTART_WINDOW s before the stack stops
RESTART_WINDOW = settings.RESTART_WINDOW.default


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """When a process that died is started again: after `first` s, doubling per recent death up
    to `cap` s, each delay jittered by ±20 % (so two processes do not restart in lockstep); and
    never again once it died more than `limit` times within `window` s (it keeps dying).
    `limit` 0 means no restarts: the first death stops the stack."""

    limit: int = RESTART_LIMIT
    window: float = RESTART_WINDOW
    first: float = 1.0
    cap: float = 30.0

    @classmethod
    def from_env(cls) -> RestartPolicy:
        """`ERP_RESTART_LIMIT` (default 5) and `ERP_RESTART_WINDOW` (seconds, default 300);
        ValueError naming the variable when one is not a number >= 0."""
        limit = settings.RESTART_LIMIT.get()
        if limit != int(limit):
            raise ValueError(f"ERP_RESTART_LIMIT must be a whole number, not {limit:g}")
        return cls(limit=int(limit), window=settings.RESTART_WINDOW.get())

    def recent(self, deaths: Iterable[float], now: float) -> int:
        """How many of `deaths` (monotonic times) fall within the window ending `now`."""
        return sum(1 for when in deaths if now - when <= self.window)

    def delay(self, deaths: Iterable[float], now: float) -> float | None:
        """Seconds to wait before the next start, or None when the process keeps dying."""
        recent = self.recent(deaths, now)
        if recent > self.limit:
            return None
        backoff = self.first * 2.0 ** max(0, recent - 1)
        return min(self.cap, backoff * random.uniform(0.8, 1.2))


@dataclass(slots=True)
class Child:
    """A started process with its log file, its environment and its deaths (monotonic times)."""

    spec: ProcessSpec
    popen: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    deaths: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    restart_at: float | None = None  # set while it waits for its next start
    last_exit: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def exited(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return self.popen.poll()


@dataclass(frozen=True, slots=True)
class Died:
    """A child ended: it starts again in `delay` s, or (`delay` None) it keeps dying."""

    child: Child
    code: int
    recent: int  # deaths within the policy's window, this one included
    delay: float | None


@dataclass(frozen=True, slots=True)
class Restarted:
    """A child was started again (a new pid, the same command, port and log)."""

    child: Child


def describe_exit(code: int) -> str:
    """`exit code 1`, or `exit code -9 (SIGKILL)` for a process ended by a signal."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"exit code {code} ({signal.Signals(-code).name})"
    return f"exit code {code}"


def _die_with_parent() -> None:
    """In the child before exec (Linux): get SIGTERM if the supervisor itself is killed."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Supervisor:
    """Owns the stack's children: starts each in a new session, restarts one that dies (see
    `watch`), keeps their logs (stack/logfiles.py), stops them all in reverse."""

    def __init__(
        self,
        home: Path,
        policy: RestartPolicy | None = None,
        log_keep: int = logfiles.KEEP,
        log_max_bytes: int = logfiles.MAX_BYTES,
    ) -> None:
        self.log_dir = home / "logs"
        self.run_dir = home / "run"
        self.policy = policy or RestartPolicy()
        self.log_keep = log_keep
        self.log_max_bytes = log_max_bytes
        self.children: list[Child] = []
        self.force = False

    def start(self, spec: ProcessSpec, base_env: dict[str, str]) -> Child:
        """Start `spec` with stdout/stderr to `logs/<name>.log` (the previous run's log becomes
        `<name>.log.1`) and its pid in `run/<name>.pid`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{spec.name}.log"
        logfiles.new_run(log_path, self.log_keep)
        env = {**base_env, **spec.env}
        logfiles.note(log_path, f"{spec.name} started by erp up")
        child = Child(spec, self._spawn(spec.argv, env, log_path), log_path, env)
        self.children.append(child)
        self._write_pid(child)
        return child

    def _spawn(
        self, argv: list[str], env: dict[str, str], log_path: Path
    ) -> subprocess.Popen[bytes]:
        log = logfiles.open_for_child(log_path)
        try:
            # A new session puts the child in its own process group: a terminal's Ctrl-C reaches
            # only us, and stopping the group also stops anything the child started.
            return subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        finally:
            os.close(log)

    def _write_pid(self, child: Child) -> None:
        (self.run_dir / f"{child.spec.name}.pid").write_text(f"{child.pid}\n")

    def watch(self, now: float | None = None) -> list[Died | Restarted]:
        """One look at every child: note each death (with its restart delay, or that it keeps
        dying), restart those whose delay is over, cap the logs. Call it a few times a second."""
        now = time.monotonic() if now is None else now
        events: list[Died | Restarted] = []
        for child in self.children:
            if child.restart_at is None and (code := child.exited()) is not None:
                child.deaths.append(now)
                child.last_exit = code
                delay = self.policy.delay(child.deaths, now)
                recent = self.policy.recent(child.deaths, now)
                events.append(Died(child, code, recent, delay))
                # One that keeps dying is left dead: never restarted, its death counted once.
                child.restart_at = now + delay if delay is not None else float("inf")
            elif child.restart_at is not None and now >= child.restart_at:
                self._restart(child)
                events.append(Restarted(child))
            logfiles.cap(child.log_path, self.log_max_bytes, self.log_keep)
        return events

    def _restart(self, child: Child) -> None:
        """Start a dead child again: same command, environment (so the same port and store)
        and log, which it appends to."""
        _signal_group(child, signal.SIGKILL)  # whatever the dead leader left behind
        ended = describe_exit(child.last_exit or 0)
        logfiles.note(child.log_path, f"{child.spec.name} restarted by erp up", after=ended)
        child.popen = self._spawn(child.spec.argv, child.env, child.log_path)
        child.restart_at = None
        self._write_pid(child)

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
