"""Webhook targets are decided by what an address is: public, or not, including the IPv4
address inside an IPv6 transition form (6to4, Teredo, IPv4-mapped, IPv4-compatible, NAT64,
ISATAP). The rule, the resolver, and the API at subscription time (over the real stack)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator

import httpx
import pytest

from events.webhooks_rules import TargetRefused, embedded_ipv4, is_public, resolve_public
from tests.security.conftest import Server, StartGateway, spawn, token

# Each: (address, why). All of them must be allowed on any Python >= 3.11.
PUBLIC = [
    ("8.8.8.8", "public IPv4"),
    ("1.1.1.1", "public IPv4"),
    ("93.184.216.34", "public IPv4"),
    ("100.128.0.1", "just above the shared address space 100.64.0.0/10"),
    ("172.32.0.1", "just above 172.16.0.0/12"),
    ("2606:4700:4700::1111", "public IPv6"),
    ("2a00:1450:4001:80b::200e", "public IPv6"),
    ("::ffff:8.8.8.8", "IPv4-mapped public IPv4"),
    ("64:ff9b::8.8.8.8", "NAT64 of a public IPv4"),
    ("64:ff9b::5db8:d822", "NAT64 of 93.184.216.34, written in hex"),
]

# Each: (address, why it is refused).
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("0.0.0.0", "unspecified (reaches this host)"),
    ("0.1.2.3", "this network"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "shared address space (carrier-grade NAT)"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("192.0.0.1", "IETF protocol assignments"),
    ("192.0.2.1", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("::1", "IPv6 loopback"),
    ("::", "IPv6 unspecified"),
    ("fe80::1", "IPv6 link-local"),
    ("fe80::1%eth0", "IPv6 link-local with a zone"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fec0::1", "site-local (deprecated)"),
    ("ff02::1", "IPv6 multicast, link scope"),
    ("ff0e::1", "IPv6 multicast, global scope"),
    ("2001:db8::1", "IPv6 documentation"),
    ("100::1", "discard-only"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:7f00:1", "IPv4-mapped loopback, in hex"),
    ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
    ("::ffff:0.0.0.0", "IPv4-mapped unspecified"),
    ("2002:7f00:1::", "6to4 of loopback"),
    ("2002:7f00:1::1", "6to4 of loopback"),
    ("2002:a00:1::1", "6to4 of 10.0.0.1"),
    ("2002:c0a8:101::1", "6to4 of 192.168.1.1"),
    ("2002:a9fe:a9fe::", "6to4 of the metadata address"),
    ("2002::", "6to4 of 0.0.0.0"),
    ("2001:0:7f00:1::1", "Teredo with a loopback server"),
    ("2001:0:808:808:0:0:80ff:fffe", "Teredo with a public server and a loopback client"),
    ("2001:0:808:808:8000:63bf:3fff:fdd2", "Teredo (not a globally reachable prefix)"),
    ("::127.0.0.1", "IPv4-compatible loopback"),
    ("::8.8.8.8", "IPv4-compatible (deprecated, reserved)"),
    ("64:ff9b::127.0.0.1", "NAT64 of loopback"),
    ("64:ff9b::10.0.0.1", "NAT64 of a private address"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of the metadata address"),
    ("64:ff9b:1::8.8.8.8", "local-use NAT64 prefix (not globally reachable)"),
    ("2606:4700::5efe:7f00:1", "ISATAP interface carrying loopback"),
    ("2606:4700::200:5efe:a00:1", "ISATAP interface carrying 10.0.0.1"),
]


@pytest.mark.parametrize(("address", "why"), PUBLIC)
def test_public_addresses_are_allowed(address: str, why: str) -> None:
    # given a public address; when it is judged; then it may be a target
    assert is_public(ipaddress.ip_address(address)), why


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_other_addresses_are_refused(address: str, why: str) -> None:
    # given an address that is not public, or carries one; when it is judged; then it is refused
    assert not is_public(ipaddress.ip_address(address)), why


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("2002:7f00:1::", ["127.0.0.1"]),
        ("2001:0:808:808:0:0:80ff:fffe", ["8.8.8.8", "127.0.0.1"]),
        ("::127.0.0.1", ["127.0.0.1"]),
        ("2606:4700::200:5efe:a00:1", ["10.0.0.1"]),
        ("2606:4700:4700::1111", []),
        ("::1", []),
        ("::", []),
    ],
)
def test_the_ipv4_inside_a_transition_form_is_found(address: str, inside: list[str]) -> None:
    # given an IPv6 address; when its embedded IPv4 addresses are read; then these are found
    found = embedded_ipv4(ipaddress.IPv6Address(address.split("%")[0]))
    assert [str(ip) for ip in found] == inside


@pytest.mark.parametrize(
    "host", ["localhost", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "[2002:7f00:1::]"]
)
async def test_names_and_odd_spellings_are_resolved_before_judging(host: str) -> None:
    # given a host name or a numeric form the resolver reads as loopback
    # when it is resolved for a webhook
    # then it is refused by the address it names
    with pytest.raises(TargetRefused):
        await resolve_public(host, 80)


# --- the API, over the real stack ---------------------------------------------------------

REFUSED_URLS = [
    "http://[2002:7f00:1::]/hook",
    "http://[2002:7f00:1::]:8000/hook",
    "https://[2001:0:808:808::80ff:fffe]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[::127.0.0.1]/hook",
    "http://[::ffff:a9fe:a9fe]/latest/meta-data",
    "http://2130706433/hook",
    "http://127.1:9000/hook",
]


@pytest.fixture(scope="module")
def gateway(start_gateway: StartGateway) -> Server:
    """A gateway in front of the shared core (no relay needed: no event is awaited here)."""
    return start_gateway()


@pytest.fixture(scope="module")
def private_allowed_core(core_server: Server) -> Iterator[Server]:
    """A second core on the same database with `ERP_WEBHOOKS_ALLOW_PRIVATE=1` (the local demo)."""
    server = spawn(
        "core-private",
        "core.app:create_app",
        {**core_server.env, "ERP_WEBHOOKS_ALLOW_PRIVATE": "1"},
    )
    yield server
    server.stop()


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_the_api_refuses_such_targets_at_creation(
    gateway: Server, sec_admin: dict[str, str], url: str
) -> None:
    # given an admin of a stack that refuses private targets (the default)
    assert os.environ.get("ERP_WEBHOOKS_ALLOW_PRIVATE") in (None, "", "0")
    headers = token(gateway.api, sec_admin["username"])
    # when it subscribes a URL whose address is, or carries, a non-public one
    r = httpx.post(
        f"{gateway.api}/webhooks", json={"url": url, "event_types": ["erp.*"]}, headers=headers
    )
    # then it is 422 naming the url, and no subscription exists
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid"
    assert [e["field"] for e in r.json()["errors"]] == ["url"]
    listed = httpx.get(f"{gateway.api}/webhooks?limit=200", headers=headers).json()["items"]
    assert url not in {w["url"] for w in listed}


def test_the_api_accepts_them_when_private_targets_are_allowed(
    private_allowed_core: Server, sec_admin: dict[str, str]
) -> None:
    # given a core started with ERP_WEBHOOKS_ALLOW_PRIVATE=1
    headers = token(private_allowed_core.api, sec_admin["username"])
    # when the admin subscribes the 6to4 loopback address
    body = {"url": "http://[2002:7f00:1::]/hook", "event_types": ["erp.*"]}
    r = httpx.post(f"{private_allowed_core.api}/webhooks", json=body, headers=headers)
    # then it is created (and removed again)
    assert r.status_code == 201, r.text
    gone = httpx.delete(f"{private_allowed_core.api}/webhooks/{r.json()['id']}", headers=headers)
    assert gone.status_code == 204, gone.text


def test_the_api_accepts_a_public_target(gateway: Server, sec_admin: dict[str, str]) -> None:
    # given an admin of a stack that refuses private targets
    headers = token(gateway.api, sec_admin["username"])
    # when it subscribes a public address written as NAT64 and as IPv4-mapped
    made = []
    for url in ("https://[64:ff9b::5db8:d822]/hook", "https://[::ffff:5db8:d822]/hook"):
        r = httpx.post(
            f"{gateway.api}/webhooks", json={"url": url, "event_types": ["erp.*"]}, headers=headers
        )
        made.append(r)
    # then both are created
    assert [r.status_code for r in made] == [201, 201], [r.text for r in made]
    for r in made:
        httpx.delete(f"{gateway.api}/webhooks/{r.json()['id']}", headers=headers)
