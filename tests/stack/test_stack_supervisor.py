"""Starting and stopping children in their own process groups."""

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stack.supervisor import Died, ProcessSpec, Restarted, RestartPolicy, Supervisor, tail

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


def _output(path: Path) -> list[str]:
    """The child's own lines of a log: without the supervisor's notes (JSON from erp.supervisor)."""
    return [line for line in tail(path, 1000) if '"logger": "erp.supervisor"' not in line]


def _wait_for_line(path: Path) -> str:
    for _ in range(100):
        if lines := _output(path):
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
    assert _output(quitter.log_path) == ["bye"]
    assert len(supervisor.running()) == 1
    supervisor.stop_all()
    assert supervisor.running() == []


@pytest.mark.parametrize("lines", [1, 3])
def test_tail_returns_the_last_lines(tmp_path: Path, lines: int) -> None:
    log = tmp_path / "x.log"
    log.write_text("one\ntwo\nthree\n")

    assert tail(log, lines) == ["one", "two", "three"][-lines:]
    assert tail(tmp_path / "missing.log") == []


# --- restarts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deaths", "now", "low", "high"),
    [
        ([0.0], 0.0, 0.8, 1.2),  # first death: about `first`
        ([0.0, 1.0], 1.0, 1.6, 2.4),  # second: twice that
        ([0.0, 1.0, 2.0, 3.0], 3.0, 6.4, 9.6),  # fourth: eight times
        ([0.0, 1.0, 2.0, 3.0, 4.0], 4.0, 12.8, 16.0),  # fifth: capped at 16
        ([-1000.0, -900.0, 0.0], 0.0, 0.8, 1.2),  # deaths outside the window are forgotten
    ],
)
def test_the_restart_delay_doubles_with_jitter_up_to_the_cap(
    deaths: list[float], now: float, low: float, high: float
) -> None:
    # given a policy starting at 1 s, capped at 16 s, allowing 5 restarts in 100 s
    policy = RestartPolicy(limit=5, window=100, first=1, cap=16)
    # when the delays after these deaths are drawn many times
    delays = [policy.delay(deaths, now) for _ in range(200)]
    # then each lies within the backoff's jitter, never above the cap
    assert all(d is not None and low <= d <= high for d in delays), (min(delays), max(delays))


@pytest.mark.parametrize(
    ("limit", "deaths", "keeps_dying"),
    [(5, 5, False), (5, 6, True), (1, 1, False), (1, 2, True), (0, 1, True)],
)
def test_a_process_that_dies_too_often_in_the_window_is_not_restarted(
    limit: int, deaths: int, keeps_dying: bool
) -> None:
    # given a policy allowing `limit` restarts within 60 s
    policy = RestartPolicy(limit=limit, window=60)
    # when the process died `deaths` times within it
    delay = policy.delay([float(n) for n in range(deaths)], float(deaths))
    # then it is given up exactly when it died more than `limit` times
    assert (delay is None) is keeps_dying


def test_a_killed_child_is_restarted_with_the_same_command_and_log(tmp_path: Path) -> None:
    # given a supervised child that prints its pid and sleeps
    policy = RestartPolicy(limit=3, window=60, first=0.2, cap=1)
    supervisor = Supervisor(tmp_path, policy)
    argv = [
        sys.executable,
        "-c",
        "import os, time; print('pid', os.getpid(), flush=True); time.sleep(60)",
    ]
    child = supervisor.start(ProcessSpec("sleeper", argv), {})
    first_pid = child.pid
    _wait_for_line(child.log_path)
    try:
        # when it is killed with SIGKILL
        os.kill(first_pid, signal.SIGKILL)
        events = _watch_until(supervisor, Restarted)
        # then its death is reported with the signal and a short delay, and it runs again
        died = next(e for e in events if isinstance(e, Died))
        assert died.code == -signal.SIGKILL and died.recent == 1
        assert died.delay is not None and 0.16 <= died.delay <= 0.24
        assert child.pid != first_pid and child.exited() is None
        assert (tmp_path / "run" / "sleeper.pid").read_text().strip() == str(child.pid)
        # and both runs are in the one log, the restart noted between them
        for _ in range(100):
            if f"pid {child.pid}" in child.log_path.read_text():
                break
            time.sleep(0.05)
        log = child.log_path.read_text()
        assert log.index(f"pid {first_pid}") < log.index("restarted by erp up")
        assert log.index("restarted by erp up") < log.rindex(f"pid {child.pid}")
        assert "exit code -9 (SIGKILL)" in log
    finally:
        supervisor.stop_all(grace=1)


def test_a_child_that_keeps_dying_is_given_up_after_the_limit(tmp_path: Path) -> None:
    # given a child that exits with code 3 as soon as it starts, allowed 2 restarts
    policy = RestartPolicy(limit=2, window=60, first=0.1, cap=0.2)
    supervisor = Supervisor(tmp_path, policy)
    supervisor.start(ProcessSpec("quitter", [sys.executable, "-c", "raise SystemExit(3)"]), {})
    try:
        # when it is watched until it is given up
        events = _watch_until(supervisor, Died, lambda e: e.delay is None)
        # then it was restarted twice, and its third death says it keeps dying
        deaths = [e for e in events if isinstance(e, Died)]
        assert [(d.code, d.recent, d.delay is None) for d in deaths] == [
            (3, 1, False),
            (3, 2, False),
            (3, 3, True),
        ]
        assert sum(isinstance(e, Restarted) for e in events) == 2
        # and watching further neither restarts it nor counts it again
        assert supervisor.watch(time.monotonic() + 100) == []
    finally:
        supervisor.stop_all(grace=1)


def _watch_until(
    supervisor: Supervisor,
    kind: type,
    matches: Callable[[Any], bool] = lambda event: True,
    within: float = 20,
) -> list[Died | Restarted]:
    """Watch the children until an event of `kind` that `matches`; every event seen."""
    seen: list[Died | Restarted] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        seen += supervisor.watch()
        if any(isinstance(e, kind) and matches(e) for e in seen):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"no {kind.__name__} within {within} s: {seen}")


# --- logs -----------------------------------------------------------------------------------


def _run_once(supervisor: Supervisor, name: str, text: str) -> None:
    """Start a child that prints `text`, wait for it to end, stop everything."""
    child = supervisor.start(ProcessSpec(name, [sys.executable, "-c", f"print({text!r})"]), {})
    child.popen.wait(timeout=10)
    supervisor.stop_all(grace=1)


def test_the_previous_runs_logs_are_kept(tmp_path: Path) -> None:
    # given seven runs of a process, each printing which run it is, keeping 5 earlier logs
    for run in range(1, 8):
        _run_once(Supervisor(tmp_path, log_keep=5), "core", f"run {run}")
    logs = tmp_path / "logs"
    # then the current log is the last run's, .1 the one before, … .5 the oldest kept
    assert "run 7" in (logs / "core.log").read_text()
    for n in range(1, 6):
        assert f"run {7 - n}" in (logs / f"core.log.{n}").read_text()
    assert not (logs / "core.log.6").exists()
    assert "run 1" not in "".join(p.read_text() for p in logs.iterdir())


def test_a_log_over_its_cap_is_moved_aside_while_the_child_goes_on_writing(
    tmp_path: Path,
) -> None:
    # given a child writing 4000 numbered lines (about 200 kB) in bursts, with a log cap of 20 kB
    done = tmp_path / "done"
    writer = (
        "import pathlib, sys, time\n"
        "for n in range(4000):\n"
        "    print(f'line {n:05d} ' + 'x' * 40, flush=True)\n"
        "    if n % 200 == 0: time.sleep(0.05)\n"
        f"pathlib.Path({str(done)!r}).touch()\n"
        "time.sleep(60)\n"
    )
    supervisor = Supervisor(tmp_path, log_keep=3, log_max_bytes=20_000)
    child = supervisor.start(ProcessSpec("chatty", [sys.executable, "-c", writer]), {})
    try:
        # when the supervisor watches while it writes
        deadline = time.monotonic() + 30
        while not done.exists():
            assert time.monotonic() < deadline, "the child never finished writing"
            supervisor.watch()
            time.sleep(0.02)
        # then the log and the 3 kept parts stay near the cap and hold no NUL bytes (the child
        # appends at the new end after a truncation), and read oldest to newest they carry the
        # latest lines in order, ending with the last one
        parts = [child.log_path.with_name(f"chatty.log.{n}") for n in (3, 2, 1)] + [child.log_path]
        sizes = [p.stat().st_size for p in parts]
        assert all(size < 40_000 for size in sizes), sizes
        assert not any(b"\0" in p.read_bytes() for p in parts)
        assert not child.log_path.with_name("chatty.log.4").exists()
        lines = [line for p in parts for line in p.read_text().splitlines()]
        numbers = [int(line.split()[1]) for line in lines if line.startswith("line")]
        assert numbers == sorted(set(numbers))
        assert numbers[-1] == 3999 and numbers[0] > 0
    finally:
        supervisor.stop_all(grace=1)
