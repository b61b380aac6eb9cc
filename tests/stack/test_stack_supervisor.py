"""Starting and stopping children in their own process groups."""

import os
import sys
import time
from pathlib import Path

import pytest

from stack.supervisor import ProcessSpec, Supervisor, tail

# A child that starts a grandchild and ignores SIGTERM: only the group kill stops both.
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(grandchild.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(") ")[1][0] != "Z"


def _wait_for_line(path: Path) -> str:
    for _ in range(100):
        if lines := tail(path):
            return lines[-1]
        time.sleep(0.05)
    raise AssertionError(f"no output in {path}")


def test_stop_all_kills_the_whole_group_after_the_grace_period(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    child = supervisor.start(ProcessSpec("stubborn", [sys.executable, "-c", STUBBORN]), {})
    grandchild = int(_wait_for_line(child.log_path))
    assert (tmp_path / "run" / "stubborn.pid").read_text().strip() == str(child.pid)
    assert os.getpgid(child.pid) == child.pid

    started = time.monotonic()
    supervisor.stop_all(grace=0.5)

    assert time.monotonic() - started < 5
    assert not _alive(child.pid)
    for _ in range(50):
        if not _alive(grandchild):
            break
        time.sleep(0.05)
    assert not _alive(grandchild)
    assert not (tmp_path / "run" / "stubborn.pid").exists()


def test_a_dead_child_is_reported(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    supervisor.start(
        ProcessSpec("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"]), {}
    )
    quitter = supervisor.start(ProcessSpec("quitter", [sys.executable, "-c", "print('bye')"]), {})

    for _ in range(100):
        if supervisor.first_dead() is not None:
            break
        time.sleep(0.05)

    assert supervisor.first_dead() is quitter
    assert quitter.exited() == 0
    assert tail(quitter.log_path) == ["bye"]
    assert len(supervisor.running()) == 1
    supervisor.stop_all()
    assert supervisor.running() == []


@pytest.mark.parametrize("lines", [1, 3])
def test_tail_returns_the_last_lines(tmp_path: Path, lines: int) -> None:
    log = tmp_path / "x.log"
    log.write_text("one\ntwo\nthree\n")

    assert tail(log, lines) == ["one", "two", "three"][-lines:]
    assert tail(tmp_path / "missing.log") == []
