"""CPU time and peak memory of the stack's processes, read with psutil.

`cpu_seconds` sums user + system CPU of a process and all its descendants; taken before and
after a load, the difference ÷ the orders placed is `cpu_ms_per_order`. The database's share
is its server processes serving the bench database: PostgreSQL's backends whose title names it
(`postgres: user erp_bench_123 127.0.0.1(…) idle`), which leaves out the server's shared
background work (WAL writer, checkpointer) and the backends of other databases on the same
server. On SQLite the database runs inside core, so it has no figure of its own.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import psutil


def _tree(pid: int) -> list[psutil.Process]:
    """The process `pid` and its descendants that still run."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its descendants so far (0 when gone)."""
    return _cpu(_tree(pid))


def postgres_backends(database: str) -> list[psutil.Process]:
    """The PostgreSQL server processes serving `database` (by their process title)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info.get("cmdline") or [])
        if cmdline.startswith("postgres:") and f" {database} " in f"{cmdline} ":
            found.append(process)
    return found


def database_cpu_seconds(database: str | None) -> float | None:
    """CPU seconds of the backends serving `database` (None on SQLite: it runs in core)."""
    return None if database is None else _cpu(postgres_backends(database))


def _rss_mb(process: psutil.Process) -> float:
    try:
        return float(process.memory_info().rss) / 2**20
    except psutil.NoSuchProcess:
        return 0.0


def rss_mb(pid: int) -> float:
    """The resident memory now of the largest process of `pid`'s tree (a server's workers are
    its children), in MiB (0 when gone)."""
    return max((_rss_mb(p) for p in _tree(pid)), default=0.0)


def reset_peak(pid: int) -> bool:
    """Start the peak memory (VmHWM) of `pid` and its descendants over from their current RSS
    (Linux: `5` written to /proc/PID/clear_refs); False where that cannot be done. The bench
    resets it after its data is made: sign-ins hash with Argon2id (64 MiB each, several at
    once), which is not what a load of orders or pages costs."""
    try:
        for process in _tree(pid):
            Path(f"/proc/{process.pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb(process: psutil.Process) -> float:
    """The peak resident memory of one process in MiB: Linux's VmHWM, else the current RSS."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return _rss_mb(process)


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of the largest process of `pid`'s tree, in MiB: what one
    worker of a server holds at most (`core_rss_mb`); `peak_rss_total_mb` adds them up."""
    return max((_peak_mb(p) for p in _tree(pid)), default=0.0)


def peak_rss_total_mb(pid: int) -> float:
    """The peaks of `pid` and its descendants added up, in MiB (each counts the pages it
    shares with the others, so this is an upper bound of what the tree took at once)."""
    return sum(_peak_mb(p) for p in _tree(pid))
