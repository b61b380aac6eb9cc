"""The log files of the stack's processes: one per process, kept across runs and capped in size.

Children write straight to their log's file descriptor (opened `O_APPEND`), so the log does not
depend on `erp up` staying alive. That rules out rotating by renaming while a child runs (what
`logging.handlers.RotatingFileHandler` does): the child would go on writing into the renamed
file. So a log is renamed only before its process starts (`new_run`: the previous run's log
becomes `<name>.log.1`), and while it runs it is capped by copy-then-truncate (`cap`), which
`O_APPEND` makes safe: the child's next write lands at the new end, not past a hole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections import deque
from pathlib import Path
from typing import Any

from common import logs

KEEP = 5  # earlier logs kept per process: <name>.log.1 (newest) … <name>.log.5
MAX_BYTES = 10 * 1024 * 1024  # a log above this is moved to <name>.log.1 while it runs


def rotated(path: Path, n: int) -> Path:
    """The `n`-th earlier log of `path` (1 = the newest)."""
    return path.with_name(f"{path.name}.{n}")


def _shift(path: Path, keep: int) -> None:
    """Make room for a new `<name>.log.1`: each earlier log moves up one, the oldest goes."""
    rotated(path, keep).unlink(missing_ok=True)
    for n in range(keep - 1, 0, -1):
        with contextlib.suppress(FileNotFoundError):
            os.replace(rotated(path, n), rotated(path, n + 1))


def new_run(path: Path, keep: int = KEEP) -> None:
    """Before a process's first start in a run: its previous log becomes `<name>.log.1`."""
    if keep <= 0:
        path.unlink(missing_ok=True)
        return
    if path.exists() and path.stat().st_size > 0:
        _shift(path, keep)
        os.replace(path, rotated(path, 1))


def cap(path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> bool:
    """Copy a log grown past `max_bytes` to `<name>.log.1` and empty it; True if it did.
    Lines written between the copy and the truncation are lost (a few at most)."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
    except FileNotFoundError:
        return False
    if keep > 0:
        _shift(path, keep)
        shutil.copyfile(path, rotated(path, 1))
    os.truncate(path, 0)
    return True


def open_for_child(path: Path) -> int:
    """A descriptor appending to `path` (created 0644 if missing), for a child's stdout/stderr."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def note(path: Path, msg: str, **fields: Any) -> None:
    """Append one line of the log schema (`common.logs`) from the supervisor to a child's log,
    so a reader sees where a run or a restart begins."""
    fd = open_for_child(path)
    try:
        os.write(fd, (logs.line("INFO", "erp.supervisor", msg, **fields) + "\n").encode())
    finally:
        os.close(fd)


def tail(path: Path, lines: int = 20) -> list[str]:
    """The last `lines` lines of a log file (empty if it does not exist)."""
    try:
        with path.open("r", errors="replace") as fh:
            return [line.rstrip("\n") for line in deque(fh, maxlen=lines)]
    except FileNotFoundError:
        return []
