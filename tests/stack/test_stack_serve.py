"""The launcher's settings and the guard's rules, without servers (stack/serve.py,
stack/http_guard.py); the servers themselves are attacked in tests/security/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from common.settings import networks
from stack.http_guard import Limits, looks_like_method
from stack.serve import ServeSettings, SettingsError, argv, config


def test_defaults_trust_loopback_at_core_and_nobody_at_the_gateway() -> None:
    # given no variables set
    core = ServeSettings.from_env("core", {})
    gateway = ServeSettings.from_env("gateway", {})
    # then core trusts its gateway on loopback, the gateway trusts no proxy
    assert [str(n) for n in core.limits.trusted] == ["127.0.0.1/32", "::1/128"]
    assert gateway.limits.trusted == ()
    # and the deadlines and the cap have their documented defaults
    assert (gateway.limits.header_timeout, gateway.limits.body_timeout) == (10.0, 30.0)
    assert (gateway.keep_alive_timeout, gateway.limits.max_per_client) == (5.0, 256)


def test_the_variables_are_read() -> None:
    env = {
        "ERP_HEADER_TIMEOUT": "2.5",
        "ERP_BODY_TIMEOUT": "7",
        "ERP_KEEP_ALIVE_TIMEOUT": "1",
        "ERP_MAX_CONNECTIONS_PER_CLIENT": "0",
        "ERP_TRUSTED_PROXIES": " 10.1.2.3 , 192.168.0.0/16,",
        "ERP_CORE_TRUSTED_PROXIES": "10.9.0.0/16",
    }
    gateway = ServeSettings.from_env("gateway", env)
    core = ServeSettings.from_env("core", env)
    assert gateway.limits == Limits(2.5, 7.0, 0, networks("", "10.1.2.3,192.168.0.0/16"))
    assert gateway.keep_alive_timeout == 1.0
    assert [str(n) for n in core.limits.trusted] == ["10.9.0.0/16"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ERP_HEADER_TIMEOUT", "soon"),
        ("ERP_HEADER_TIMEOUT", "0"),
        ("ERP_BODY_TIMEOUT", "-1"),
        ("ERP_KEEP_ALIVE_TIMEOUT", "inf"),
        ("ERP_MAX_CONNECTIONS_PER_CLIENT", "-3"),
        ("ERP_MAX_CONNECTIONS_PER_CLIENT", "many"),
        ("ERP_TRUSTED_PROXIES", "gateway.internal"),
        ("ERP_TRUSTED_PROXIES", "10.0.0.0/33"),
    ],
)
def test_a_wrong_value_stops_the_launch_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        ServeSettings.from_env("gateway", {name: value})


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),  # IPv4-mapped: the same client as plain IPv4
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),  # a host of a /64 is the /64
        ("10.0.0.7", None),  # a trusted proxy is not counted
        ("/run/erp.sock", None),  # not an IP address (a Unix socket)
    ],
)
def test_which_address_a_connection_counts_against(host: str, key: str | None) -> None:
    limits = Limits(max_per_client=5, trusted=networks("", "10.0.0.0/8"))
    assert limits.client_key(host) == key


def test_no_cap_counts_nothing() -> None:
    assert Limits(max_per_client=0).client_key("203.0.113.9") is None


@pytest.mark.parametrize(
    ("head", "method_like"),
    [(b"FOO / HTTP/1.1", True), (b"\r\nBREW /", True), (b"GE\x01T /", False), (b"", False)],
)
def test_an_unknown_method_is_told_from_garbage(head: bytes, method_like: bool) -> None:
    assert looks_like_method(head) is method_like


def test_erp_up_launches_through_stack_serve() -> None:
    assert argv("core", "127.0.0.1", 8101, "INFO")[:4] == [
        sys.executable,
        "-m",
        "stack.serve",
        "core",
    ]
    assert "--access-log" in argv("gateway", "0.0.0.0", 8000, "DEBUG")


def test_the_config_trusts_proxy_headers_only_when_a_proxy_is_named() -> None:
    gateway = config(
        "gateway", "127.0.0.1", 8000, "info", False, ServeSettings.from_env("gateway", {})
    )
    core = config("core", "127.0.0.1", 8101, "info", False, ServeSettings.from_env("core", {}))
    assert gateway.proxy_headers is False
    assert core.proxy_headers is True
    assert core.forwarded_allow_ips == ["127.0.0.1/32", "::1/128"]


def test_core_workers_default_to_one_and_auto_picks_one_per_cpu_on_postgresql() -> None:
    from stack.cpus import usable_cpus
    from stack.serve import MAX_AUTO_WORKERS, workers_for

    sqlite = {"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}
    postgres = {"DATABASE_URL": "postgresql://u@127.0.0.1:5432/erp"}
    # one by default: each worker would enforce the per-client connection cap on its own
    assert workers_for("core", sqlite) == 1
    assert workers_for("core", postgres) == 1
    auto = {"ERP_CORE_WORKERS": "0"}
    assert workers_for("core", {**sqlite, **auto}) == 1
    assert workers_for("core", {**postgres, **auto}) == min(MAX_AUTO_WORKERS, usable_cpus())
    assert workers_for("core", {**sqlite, "ERP_CORE_WORKERS": "3"}) == 3
    assert workers_for("gateway", {**postgres, "ERP_CORE_WORKERS": "3"}) == 1
    with pytest.raises(SettingsError, match="ERP_CORE_WORKERS"):
        workers_for("core", {**sqlite, "ERP_CORE_WORKERS": "two"})


def test_two_workers_start_serve_on_one_port_and_stop_together(tmp_path: Path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import time

    import httpx

    # given core launched with two workers on a database of its own
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ERP_HOME": str(tmp_path), "ERP_LOG_LEVEL": "WARNING",
           "DATABASE_URL": f"sqlite:///{tmp_path}/erp.sqlite3"}  # fmt: skip
    env.pop("ERP_RELAY_WAKE", None)
    subprocess.run([sys.executable, "-m", "stack.cli", "migrate"], env=env, check=True)
    command = [*argv("core", "127.0.0.1", port, "warning"), "--workers", "2"]
    process = subprocess.Popen(command, env=env)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/health/live"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        # then two worker processes serve it, each answering on the one port
        assert len(children) == 2
        answers = [httpx.get(url, headers={"connection": "close"}) for _ in range(20)]
        assert {a.status_code for a in answers} == {200}
        # and SIGTERM stops the launcher and its workers
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        for child in children:
            assert (
                not Path(f"/proc/{child}").exists()
                or "Z" in (Path(f"/proc/{child}/stat").read_text().split()[2])
            )
    finally:
        if process.poll() is None:
            process.kill()
