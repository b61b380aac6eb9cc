"""The load generator of `erp bench`: a raw asyncio HTTP/1.1 keep-alive client in a process of
its own, so that it costs the servers as little CPU as a client can.

    python -m stack.bench.loadgen < job.json > result.json

The job (JSON on stdin, `Job`): the server's host and port, how many clients, the warm-up and
measured seconds, and per client a list of pre-encoded requests that the client sends one
after another on one connection, round robin. The result (JSON on stdout, `LoadResult`):
latencies in ms of the answers with a 2xx status that completed within the measured window,
the status counts, the window's length and this process's CPU seconds.

Why not httpx or aiohttp: per request they cost several times the CPU of this loop (header
objects, cookie jars, URL parsing), and on a machine of two cores that CPU is the servers'.
Requests are encoded once, answers are parsed only as far as their status and length.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

import msgspec

DESCRIPTION = "raw asyncio HTTP/1.1 keep-alive client (stack/bench/loadgen.py), one process"


class Request(msgspec.Struct, frozen=True):
    """One request: method, path (with query), headers, and a JSON body or none."""

    method: str
    path: str
    headers: dict[str, str] = {}
    body: str | None = None


class Job(msgspec.Struct, frozen=True):
    """What to run: one connection per list in `requests`, sending its requests round robin
    for `warmup` seconds (not counted) and then `seconds` (measured)."""

    host: str
    port: int
    seconds: float
    warmup: float
    requests: list[list[Request]]  # one list per client


@dataclass
class LoadResult:
    """Latencies (ms) of 2xx answers completed in the window; statuses of all answers there."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_s: float = 0.0
    total_ok: int = 0  # 2xx answers over the whole run, warm-up included (for CPU per order)
    errors: list[str] = field(default_factory=list)


def encode(request: Request, host: str, port: int) -> bytes:
    """The request's bytes on the wire, keep-alive."""
    body = request.body.encode() if request.body is not None else b""
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    if request.body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one answer; (status, whether the server keeps the connection open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers.get("connection", "").lower() != "close"


async def client(job: Job, wire: list[bytes], start: float, result: LoadResult) -> None:
    """One client: send its requests back to back until the window ends."""
    begin, end = start + job.warmup, start + job.warmup + job.seconds
    reader, writer = await asyncio.open_connection(job.host, job.port)
    n = 0
    try:
        while (sent := time.perf_counter()) < end:
            writer.write(wire[n % len(wire)])
            n += 1
            status, keep = await read_answer(reader)
            done = time.perf_counter()
            result.total_ok += 200 <= status < 300
            if begin <= done <= end:
                key = str(status)
                result.statuses[key] = result.statuses.get(key, 0) + 1
                if 200 <= status < 300:
                    result.latencies_ms.append((done - sent) * 1000)
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection(job.host, job.port)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def run(job: Job) -> LoadResult:
    """Run every client at once; the result of the measured window."""
    result = LoadResult(seconds=job.seconds)
    started_cpu = time.process_time()
    start = time.perf_counter()
    wires = [[encode(r, job.host, job.port) for r in reqs] for reqs in job.requests]
    outcomes = await asyncio.gather(
        *(client(job, wire, start, result) for wire in wires), return_exceptions=True
    )
    result.errors = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    result.cpu_s = time.process_time() - started_cpu
    return result


def launch(job: Job) -> LoadResult:
    """Run `job` in a new process of this module and return its result (RuntimeError with
    its stderr when it fails)."""
    from stack.env import PROJECT_ROOT

    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "stack.bench.loadgen"],
        input=msgspec.json.encode(job),
        capture_output=True,
        env=env,
        timeout=job.warmup + job.seconds + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed: {done.stderr.decode()[-2000:]}")
    return LoadResult(**json.loads(done.stdout))


def main() -> None:
    """Read the job from stdin, run it (on uvloop when installed), write the result."""
    job = msgspec.json.decode(sys.stdin.buffer.read(), type=Job)
    try:
        import uvloop

        outcome = uvloop.run(run(job))
    except ImportError:
        outcome = asyncio.run(run(job))
    sys.stdout.write(json.dumps(asdict(outcome)))


if __name__ == "__main__":
    main()
