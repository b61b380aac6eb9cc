"""Core's workers fit the machine and behave as one server (issue 13): how many the CPU quota
allows (stack/cpus.py), the pool they share (core.db.pool_size), the per-client cap held by
the server as a whole (stack/steering.py), and no worker outliving its launcher
(stack/lifeline.py). The workers are real processes on a real SQLite database."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.settings import SettingsError, networks
from core.db import pool_size
from stack import steering
from stack.cpus import cgroup_cpu_limit, usable_cpus
from stack.serve import MAX_AUTO_WORKERS, argv, workers_for

# The cgroup files


def cgroups(tmp_path: Path, own: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A fake /sys/fs/cgroup holding `files` (path: text) and a /proc/self/cgroup saying `own`."""
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    root.mkdir(parents=True, exist_ok=True)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(own)
    return root, proc


@pytest.mark.parametrize(
    ("own", "files", "limit"),
    [
        # v2 in a container (a cgroup namespace): its own cgroup is the mount's root
        ("0::/\n", {"cpu.max": "150000 100000\n"}, 1.5),
        ("0::/\n", {"cpu.max": "max 100000\n"}, None),
        # v2 on a host: the quota of the cgroup or of an ancestor, the smallest
        ("0::/a/b\n", {"a/cpu.max": "200000 100000", "a/b/cpu.max": "max 100000"}, 2.0),
        ("0::/a/b\n", {"a/cpu.max": "400000 100000", "a/b/cpu.max": "100000 50000"}, 2.0),
        # v2 beside v1 (the "unified" mount)
        ("0::/c\n", {"unified/c/cpu.max": "50000 100000"}, 0.5),
        # v1, its controller mounted as cpu,cpuacct; -1 is no quota
        (
            "4:cpu,cpuacct:/docker/x\n",
            {
                "cpu,cpuacct/docker/x/cpu.cfs_quota_us": "300000",
                "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000",
            },
            3.0,
        ),
        (
            "1:cpu:/\n",
            {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"},
            None,
        ),
        # v1 seen from inside a container: the host's path is missing, the mount's root counts
        (
            "1:cpu:/host/path\n",
            {"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"},
            1.0,
        ),
        # nothing readable
        ("", {}, None),
        ("0::/\n", {"cpu.max": "garbage"}, None),
    ],
)
def test_the_cgroup_cpu_quota_is_read(
    tmp_path: Path, own: str, files: dict[str, str], limit: float | None
) -> None:
    root, proc = cgroups(tmp_path, own, files)
    assert cgroup_cpu_limit(root, proc) == limit


def test_usable_cpus_is_the_affinity_lowered_to_the_quota_rounded_up(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    # given a quota of half a CPU: one
    assert usable_cpus(*cgroups(tmp_path / "a", "0::/\n", {"cpu.max": "50000 100000"})) == 1
    # a quota far above the CPUs this process may run on: those CPUs
    assert usable_cpus(*cgroups(tmp_path / "b", "0::/\n", {"cpu.max": "6400000 100000"})) == (
        affinity
    )
    # no quota: the affinity mask, not the machine's count
    assert usable_cpus(*cgroups(tmp_path / "c", "", {})) == affinity


def test_auto_workers_follow_the_usable_cpus_on_postgresql() -> None:
    postgres = {"DATABASE_URL": "postgresql://u@127.0.0.1:5432/erp", "ERP_CORE_WORKERS": "0"}
    assert workers_for("core", postgres) == min(MAX_AUTO_WORKERS, usable_cpus())


# The pool


@pytest.mark.parametrize(
    ("environ", "bounds"),
    [
        ({}, (2, 20)),  # one process holds the whole default
        ({"ERP_CORE_WORKERS": "2"}, (2, 10)),
        ({"ERP_CORE_WORKERS": "3", "ERP_DB_POOL_SIZE": "20"}, (2, 6)),  # never above the total
        ({"ERP_CORE_WORKERS": "4", "ERP_DB_POOL_SIZE": "6"}, (1, 1)),
        ({"ERP_CORE_WORKERS": "8", "ERP_DB_POOL_SIZE": "4"}, (1, 1)),  # at least one each
        ({"ERP_CORE_WORKERS": "0", "ERP_DB_POOL_SIZE": "7"}, (2, 7)),  # no launcher: one
    ],
)
def test_the_pool_size_is_one_cores_total_divided_among_its_workers(
    environ: dict[str, str], bounds: tuple[int, int]
) -> None:
    assert pool_size(environ) == bounds


@pytest.mark.parametrize("value", ["0", "-1", "lots"])
def test_a_wrong_pool_size_names_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="ERP_DB_POOL_SIZE"):
        pool_size({"ERP_DB_POOL_SIZE": value})


# Steering


def accepted_by(group: list[socket.socket], source: str) -> int:
    """Which socket of `group` accepts a connection from the loopback address `source`."""
    port = group[0].getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), 5, (source, 0)):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for i, sock in enumerate(group):
                try:
                    accepted, _ = sock.accept()
                except BlockingIOError:
                    continue
                accepted.close()
                return i
            time.sleep(0.005)
    raise AssertionError("no socket of the group accepted the connection")


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT steering is Linux's")
def test_the_kernel_hands_one_address_to_one_worker_and_spreads_a_trusted_proxy() -> None:
    # given two workers' sockets, loopback's 127.0.0.1 trusted (core's default)
    group = steering.sockets("127.0.0.1", 0, 2, networks("", "127.0.0.1,::1"), 64)
    assert group is not None
    try:
        for sock in group:
            sock.setblocking(False)
        # when clients connect 12 times each
        seen = {
            source: collections.Counter(accepted_by(group, source) for _ in range(12))
            for source in ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")
        }
    finally:
        for sock in group:
            sock.close()
    # then each untrusted address always reaches the same worker, and both workers get some
    untrusted = [seen[s] for s in ("127.0.0.2", "127.0.0.3", "127.0.0.4")]
    assert all(len(counts) == 1 for counts in untrusted), seen
    assert {worker for counts in untrusted for worker in counts} == {0, 1}, seen
    # and the trusted proxy's connections go to both (by the kernel's own hash of the ports:
    # 12 connections all landing on one of two workers happens once in 2,048 runs)
    assert set(seen["127.0.0.1"]) == {0, 1}, seen


# Real workers


@pytest.fixture
def core_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a core on a migrated SQLite database of its own."""
    env = {**os.environ, "ERP_HOME": str(tmp_path), "ERP_LOG_LEVEL": "WARNING",
           "DATABASE_URL": f"sqlite:///{tmp_path}/erp.sqlite3"}  # fmt: skip
    env.pop("ERP_RELAY_WAKE", None)
    subprocess.run([sys.executable, "-m", "stack.cli", "migrate"], env=env, check=True)
    return env


@pytest.fixture
def two_workers(core_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Core launched with two workers (a cap of 3 connections per client); its launcher and
    port, once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**core_env, "ERP_MAX_CONNECTIONS_PER_CLIENT": "3", "ERP_HEADER_TIMEOUT": "30"}
    command = [*argv("core", "127.0.0.1", port, "warning"), "--workers", "2"]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not answers(port):
            assert process.poll() is None and time.monotonic() < deadline, "core did not start"
            time.sleep(0.2)
        yield process, port
    finally:
        # The whole group: workers that outlived their launcher (a failing test) included.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def answers(port: int) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/api/v1/health/live"
        return httpx.get(url, timeout=2, headers={"connection": "close"}).status_code == 200
    except httpx.TransportError:
        return False


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its reaper does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.stack
@pytest.mark.skipif(sys.platform != "linux", reason="/proc")
def test_a_killed_launcher_takes_its_workers_with_it(
    two_workers: tuple[subprocess.Popen[bytes], int],
) -> None:
    # given core serving with two workers
    launcher, port = two_workers
    workers = children_of(launcher.pid)
    assert len(workers) == 2
    # when the launcher is killed with SIGKILL (nothing of it runs to pass anything on)
    launcher.kill()
    launcher.wait()
    # then the workers end too, and nothing serves the port any more
    deadline = time.monotonic() + 20  # SIGTERM: uvicorn drains for up to 5 s
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)
    assert not answers(port)


def refused(sock: socket.socket) -> bool:
    """Whether the server answered a 429 on `sock` (a request is sent to find out)."""
    sock.sendall(b"GET /api/v1/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.settimeout(10)
    return b" 429 " in sock.recv(200).split(b"\r\n", 1)[0] + b" "


@pytest.mark.stack
@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT steering is Linux's")
def test_two_workers_hold_the_per_client_cap_together(
    two_workers: tuple[subprocess.Popen[bytes], int],
) -> None:
    # given core with two workers and a cap of 3 connections per client address
    _, port = two_workers
    # when one address holds 3 connections and opens 6 more
    held = [socket.create_connection(("127.0.0.1", port), 5, ("127.0.0.2", 0)) for _ in range(3)]
    try:
        time.sleep(0.5)  # every held connection accepted and counted
        more = [
            socket.create_connection(("127.0.0.1", port), 5, ("127.0.0.2", 0)) for _ in range(6)
        ]
        try:
            # then every one of the 6 is refused (one worker's count is the address's), and
            # another address still gets through
            assert [refused(sock) for sock in more] == [True] * 6
            assert answers_from(port, "127.0.0.3")
        finally:
            for sock in more:
                sock.close()
    finally:
        for sock in held:
            sock.close()


def answers_from(port: int, source: str) -> bool:
    with socket.create_connection(("127.0.0.1", port), 5, (source, 0)) as sock:
        sock.sendall(b"GET /api/v1/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        sock.settimeout(10)
        return sock.recv(200).startswith(b"HTTP/1.1 200")


SUPERVISED = """
import os, sys, time
from pathlib import Path
from stack.supervisor import ProcessSpec, Supervisor
spec = ProcessSpec("sleeper", ["sleep", "60"])
child = Supervisor(Path(sys.argv[1])).start(spec, dict(os.environ))
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="/proc")
def test_a_killed_erp_up_takes_its_children_with_it(tmp_path: Path) -> None:
    # given a supervisor (erp up's) that started a child in a session of its own
    parent = subprocess.Popen(
        [sys.executable, "-c", SUPERVISED, str(tmp_path)], stdout=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
        # when the supervisor is killed with SIGKILL
        parent.kill()
        parent.wait()
        # then its child ends too, though no one stopped its group
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if "child" in locals() and alive(child):  # only when the test failed
            os.kill(child, signal.SIGKILL)
