"""`erp up`: start NATS, core, the relay, the webhook dispatcher, the gateway and the portal,
print where they are, supervise them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from common import settings
from common.nats import redact as redact_nats
from events import wake
from stack import demo, logfiles, serve
from stack.env import PROJECT_ROOT, StackEnv, redact, resolve
from stack.nats import nats_accepts, nats_command
from stack.ports import free_port, free_udp_port, next_free_port
from stack.supervisor import (
    Child,
    Died,
    ProcessSpec,
    Restarted,
    RestartPolicy,
    Supervisor,
    describe_exit,
    tail,
)

Probe = Callable[[], tuple[bool, str]]
START_TIMEOUT = settings.START_TIMEOUT.get()
URLS_FILE = Path("run") / "urls.json"  # relative to ERP_HOME
PORTAL_APP = PROJECT_ROOT / "heads" / "portal" / "app.py"


class StartError(RuntimeError):
    """A process of the stack failed to start or died."""

    def __init__(self, child: Child, reason: str) -> None:
        super().__init__(f"{child.spec.name} {reason}")
        self.child = child


@dataclass(frozen=True, slots=True)
class Planned:
    """A process to start and how to tell that it is ready."""

    spec: ProcessSpec
    ready: Probe


def http_ok(url: str) -> Probe:
    """A readiness probe: `GET url` answers 200."""

    def probe() -> tuple[bool, str]:
        try:
            response = httpx.get(url, timeout=2)
        except httpx.HTTPError as error:
            return False, f"GET {url}: {type(error).__name__}"
        return response.status_code == 200, f"GET {url}: {response.status_code} {response.text}"

    return probe


def tcp_ok(port: int) -> Probe:
    """A readiness probe: the NATS server on `port` greets a new connection."""
    return lambda: (nats_accepts(port), f"nothing accepts NATS connections on port {port}")


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}"


def plan(env: StackEnv, console: Console) -> tuple[list[Planned], dict[str, str]]:
    """The processes of the stack in start order (each waits for its probe), and their URLs."""
    urls = {"nats": settings.NATS_URL.get() or ""}
    planned = [] if urls["nats"] else [_nats(env, urls)]
    planned.append(_core(env, urls))
    planned.append(_relay())
    planned.append(_webhooks())
    # The portal's URL is known before the gateway starts, so its landing page links it.
    portal_port = _portal_port(urls, console)
    planned.append(_gateway(env, urls, console))
    planned.append(_portal(env, urls, portal_port))
    # The slot for the processes still to come: a planner returns
    # Planned(ProcessSpec(name, argv, env, url), probe) and may set urls[name].
    return planned, urls


def _nats(env: StackEnv, urls: dict[str, str]) -> Planned:
    """The embedded JetStream server on a free port, storing into ERP_HOME/nats."""
    port = free_port()
    store = env.home / "nats"
    store.mkdir(exist_ok=True)
    urls["nats"] = f"nats://127.0.0.1:{port}"
    return Planned(ProcessSpec("nats", nats_command(store, port), url=urls["nats"]), tcp_ok(port))


def _core(env: StackEnv, urls: dict[str, str]) -> Planned:
    """Core on a free loopback port; only the gateway talks to it."""
    port = free_port()
    urls["core"] = _url("127.0.0.1", port)
    argv = serve.argv("core", "127.0.0.1", port, env.log_level)
    return Planned(
        ProcessSpec("core", argv, url=urls["core"]), http_ok(f"{urls['core']}/api/v1/health/ready")
    )


def _relay() -> Planned:
    """The outbox relay (after core, which has applied the migrations); it waits out NATS or
    the database by itself, so it is ready once started (the supervisor notices a death)."""
    argv = [sys.executable, "-m", "events.relay"]
    return Planned(ProcessSpec("relay", argv), lambda: (True, "started"))


def _webhooks() -> Planned:
    """The webhook dispatcher (after the relay, which creates the stream); ready once started."""
    argv = [sys.executable, "-m", "events.webhooks"]
    return Planned(ProcessSpec("webhooks", argv), lambda: (True, "started"))


def private_webhooks() -> str:
    """`ERP_WEBHOOKS_ALLOW_PRIVATE` for the stack: the local demo allows private targets."""
    return os.environ.get(settings.WEBHOOKS_ALLOW_PRIVATE.name) or "1"


def _gateway(env: StackEnv, urls: dict[str, str], console: Console) -> Planned:
    """The gateway on ERP_GATEWAY_PORT (or the next free port), 127.0.0.1 unless told."""
    host = settings.GATEWAY_HOST.get()
    wanted = settings.GATEWAY_PORT.get()
    port = next_free_port(wanted, host)
    if port != wanted:
        console.print(f"[yellow]Port {wanted} is taken: the gateway uses {port} instead.[/]")
    urls["gateway"] = _url(host, port)
    extra = {"ERP_CORE_URL": urls["core"]}
    if "portal" in urls:  # the landing page links the portal only when one runs
        extra["ERP_PORTAL_URL"] = urls["portal"]
    # The gateway serves the storefront's folder (gateway/shop.py) at /shop/ when it has one.
    if (settings.SHOP_DIR.get() / "index.html").is_file():
        urls["shop"] = f"{urls['gateway']}/shop/"
    argv = serve.argv("gateway", host, port, env.log_level)
    spec = ProcessSpec("gateway", argv, extra, url=urls["gateway"])
    return Planned(spec, http_ok(f"{urls['gateway']}/api/v1/health/ready"))


def _portal_port(urls: dict[str, str], console: Console) -> int:
    """ERP_PORTAL_PORT (default 8501) or the next free port; sets urls["portal"]."""
    wanted = settings.PORTAL_PORT.get()
    port = next_free_port(wanted, "127.0.0.1")
    if port != wanted:
        console.print(f"[yellow]Port {wanted} is taken: the portal uses {port} instead.[/]")
    urls["portal"] = _url("127.0.0.1", port)
    return port


def _portal(env: StackEnv, urls: dict[str, str], port: int) -> Planned:
    """The Streamlit portal (heads/portal) on 127.0.0.1, after the gateway it talks to."""
    argv = [sys.executable, "-m", "streamlit", "run", str(PORTAL_APP), "--server.port", str(port)]
    argv += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    argv += ["--browser.gatherUsageStats", "false"]  # the rest: heads/portal/.streamlit/
    level = env.log_level.lower() if env.log_level in ("DEBUG", "INFO", "WARNING") else "error"
    argv += ["--server.fileWatcherType", "none", "--logger.level", level]
    extra = {"ERP_GATEWAY_URL": urls["gateway"]}
    spec = ProcessSpec("portal", argv, extra, url=urls["portal"])
    return Planned(spec, http_ok(f"{urls['portal']}/_stcore/health"))


def _wait_ready(child: Child, ready: Probe, timeout: float) -> None:
    """Block until the probe passes; StartError if the child exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not (answer := ready())[0]:
        if (code := child.exited()) is not None:
            raise StartError(child, f"exited with code {code} while starting")
        if time.monotonic() > deadline:
            raise StartError(child, f"was not ready after {timeout:.0f} s ({answer[1][:300]})")
        time.sleep(0.25)


def _stop_on_signals(supervisor: Supervisor) -> None:
    """SIGINT and SIGTERM end the stack; a second one while stopping kills at once."""

    def first(signum: int, frame: FrameType | None) -> None:
        _force_on_signals(supervisor)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, first)
    signal.signal(signal.SIGTERM, first)


def _force_on_signals(supervisor: Supervisor) -> None:
    """While stopping, a signal cuts the grace period short instead of interrupting."""

    def again(signum: int, frame: FrameType | None) -> None:
        supervisor.force = True

    signal.signal(signal.SIGINT, again)
    signal.signal(signal.SIGTERM, again)


def _report(console: Console, error: StartError) -> None:
    """Print the failing process's last log lines."""
    console.print(f"[bold red]{escape(str(error))}.[/] Last lines of {error.child.log_path}:")
    # Our own readiness probes would fill the tail; leave them out.
    lines = [line for line in tail(error.child.log_path, 500) if "/health/" not in line]
    lines = lines[-25:] or ["(nothing but readiness checks)"]
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


async def _prepare(env: StackEnv, load_demo: bool, console: Console) -> demo.SeedResult | None:
    """Apply migrations, then load the demo data when the database has no products."""
    from core import db

    # Ctrl-C or SIGTERM cancels this work cleanly (a KeyboardInterrupt inside the loop would not).
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with console.status("Applying database migrations …"):
        await db.connect()
        try:
            await db.migrate()
        finally:
            await db.disconnect()
    return await demo.seed(env.home, console) if load_demo else None


def _prepared(env: StackEnv, load_demo: bool, console: Console) -> bool:
    """Migrate and seed, reporting what happened; False (said why) if that failed."""
    try:
        seeded = asyncio.run(_prepare(env, load_demo, console))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    except demo.SeedError as error:
        console.print(f"[red]Demo data failed: {escape(str(error))}[/]")
        console.print(f"Start again with --no-demo, or remove {env.home} for a fresh start.")
        return False
    except Exception as error:
        console.print(
            f"[red]Could not prepare {redact(env.database_url)}: {escape(repr(error))}[/]"
        )
        return False
    if seeded is not None:
        demo.report(seeded, console)
    return True


def run(load_demo: bool, console: Console) -> int:
    """Start the stack in the foreground; 0 after Ctrl-C or SIGTERM, 1 if a process failed to
    start or keeps dying (one that dies is started again: `_supervise`)."""
    env = resolve()
    # Core nudges the relay on this loopback port after each commit (events/wake.py).
    os.environ.setdefault(wake.ENV, f"127.0.0.1:{free_udp_port()}")
    try:
        supervisor = Supervisor(env.home, RestartPolicy.from_env())
    except ValueError as error:
        console.print(f"[red]{escape(str(error))}[/]")
        return 1
    if running := supervisor.running():
        console.print(f"[red]erp up is already running for {env.home} (pids {running}).[/]")
        return 1
    try:
        if not _prepared(env, load_demo, console):
            return 1
        _stop_on_signals(supervisor)
        planned, urls = plan(env, console)
        names = ", ".join(p.spec.name for p in planned)
        console.print(f"Starting {names}; their logs go to {escape(_logs(env))}")
        base_env = env.child_env(
            NATS_URL=urls["nats"], ERP_WEBHOOKS_ALLOW_PRIVATE=private_webhooks()
        )
        for item in planned:
            child = supervisor.start(item.spec, base_env)
            _wait_ready(child, item.ready, START_TIMEOUT)
        logins = demo.demo_logins(env.home) if load_demo else []
        embedded = any(p.spec.name == "nats" for p in planned)
        console.print(_panel(env, urls, logins, embedded))
        write_urls(env.home, urls)
        return _supervise(supervisor, console, {p.spec.name: p.ready for p in planned})
    except KeyboardInterrupt:
        console.print("Stopping …")
        return 0
    except StartError as error:
        _report(console, error)
        return 1
    finally:
        _force_on_signals(supervisor)
        supervisor.stop_all()
        (env.home / URLS_FILE).unlink(missing_ok=True)


def write_urls(home: Path, urls: dict[str, str]) -> None:
    """`ERP_HOME/run/urls.json`: the URLs printed (`gateway`, `portal`, `shop` when they run),
    so local tools such as `erp terminal` find the running stack; removed when it stops."""
    path = home / URLS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    shown = {name: urls[name] for name in ("gateway", "portal", "shop") if name in urls}
    path.write_text(json.dumps(shown, indent=1) + "\n")


def _supervise(supervisor: Supervisor, console: Console, probes: dict[str, Probe]) -> int:
    """Restart a child that dies, with backoff, saying so (which, how it ended, when it starts
    again, its log); 1 when one keeps dying. The others keep running meanwhile: the gateway
    reconnects to a restarted core, the relay and the dispatcher to a restarted NATS (same port
    and store). Ctrl-C or SIGTERM ends the wait via KeyboardInterrupt."""
    starting: dict[str, Probe] = {}  # restarted, not yet ready
    while True:
        for event in supervisor.watch():
            name = event.child.spec.name
            if isinstance(event, Restarted):
                where = f" at {event.child.spec.url}" if event.child.spec.url else ""
                console.print(escape(f"{name} started again{where} (pid {event.child.pid})."))
                starting[name] = probes.get(name, lambda: (True, "started"))
            elif event.delay is None:
                return _gave_up(supervisor, console, event)
            else:
                console.print(_died(supervisor, event))
        for name, probe in list(starting.items()):
            if probe()[0]:
                console.print(f"[green]{name} is ready again.[/]")
                del starting[name]
        time.sleep(0.25)


def _died(supervisor: Supervisor, event: Died) -> str:
    """The console line for a death that is followed by a restart."""
    child, policy = event.child, supervisor.policy
    when = time.strftime("%H:%M:%S")
    return (
        f"[yellow]{escape(child.spec.name)} ended at {when} with {describe_exit(event.code)}; "
        f"starting it again in {event.delay:.1f} s (restart {event.recent} of {policy.limit} "
        f"allowed within {policy.window:g} s). Its log: {escape(str(child.log_path))}[/]"
    )


def _gave_up(supervisor: Supervisor, console: Console, event: Died) -> int:
    """Report a child that keeps dying (with its last log lines); 1 for the stack's exit code."""
    policy = supervisor.policy
    reason = f"exited unexpectedly with {describe_exit(event.code)}"
    if policy.limit:
        reason += f", {event.recent} times within {policy.window:g} s: it keeps dying"
    _report(console, StartError(event.child, reason))
    console.print("Stopping the other processes …")
    return 1


def _logs(env: StackEnv) -> str:
    """Where the logs are, and the earlier runs' logs."""
    return f"{env.home / 'logs'} (earlier runs: <name>.log.1 … .{logfiles.KEEP})"


def _webhook_targets() -> str:
    if private_webhooks() in {"1", "true", "yes"}:
        return "private targets allowed (local demo; ERP_WEBHOOKS_ALLOW_PRIVATE=0 refuses them)"
    return "public targets only"


def _panel(
    env: StackEnv, urls: dict[str, str], logins: list[tuple[str, str]], embedded: bool
) -> Panel:
    """The summary printed once everything is ready."""
    gateway = urls["gateway"]
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = [
        ("Gateway", gateway),
        ("API docs", f"{gateway}/api/v1/docs"),
        ("OpenAPI", f"{gateway}/api/v1/openapi.json"),
        ("Events", f"{gateway}/api/v1/events/stream (SSE), /api/v1/asyncapi.json"),
        *([("Portal", urls["portal"])] if "portal" in urls else []),
        *([("Storefront", urls["shop"])] if "shop" in urls else []),
        ("Data folder", str(env.home)),
        ("Database", redact(env.database_url)),
        ("NATS", f"{urls['nats']} (embedded)" if embedded else redact_nats(urls["nats"])),
        ("Logs", _logs(env)),
        ("Webhooks", _webhook_targets()),
    ]
    for key, value in rows:
        table.add_row(key, escape(value))
    if logins:
        shown = ", ".join(user if what == user else f"{user} ({what})" for user, what in logins)
        table.add_row("Demo logins", f"{escape(shown)}; password [bold]demo[/]")
    else:
        table.add_row("First admin", "erp create-admin --username admin (or ERP_ADMIN_PASSWORD)")
    table.add_row("", "")
    table.add_row("", "[bold]Ctrl-C to stop[/]")
    return Panel(table, title="[bold green]ERP is running[/]", expand=False)
