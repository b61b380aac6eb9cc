"""A child process that ends when the process that started it dies, even by SIGKILL.

A launcher killed with SIGKILL cannot pass anything on: its children are re-parented and go on
serving its port (issue 13: orphaned core workers kept answering, with the environment of a
run that was over, and a new launcher could not bind). On Linux the kernel sends the child a
signal when its parent dies (`prctl(PR_SET_PDEATHSIG)`); elsewhere a daemon thread watches the
parent's pid. Either way the child gets `sig` (default SIGTERM, so a server drains first).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["die_with_parent"]

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_EVERY = 1.0  # seconds between looks at the parent, where the kernel does not tell


def die_with_parent(parent: int, sig: int = signal.SIGTERM) -> None:
    """Arrange for this process to get `sig` when `parent` (its parent's pid, read before the
    fork) dies; if it died already, get it now. Call it first thing in the child."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
            # The parent may have died before prctl: then we were re-parented already.
            if os.getppid() != parent:
                os.kill(os.getpid(), sig)
            return
    threading.Thread(target=_watch, args=(parent, sig), daemon=True, name="lifeline").start()


def _watch(parent: int, sig: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_EVERY)
    os.kill(os.getpid(), sig)
