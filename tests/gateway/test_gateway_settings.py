"""Reading the gateway's settings from the environment."""

from __future__ import annotations

import pytest

from gateway.landing import portal_link
from gateway.settings import GatewaySettings, SettingsError


def test_reads_every_variable() -> None:
    settings = GatewaySettings.from_env(
        {
            "ERP_CORE_URL": "http://127.0.0.1:8101/",
            "NATS_URL": "nats://127.0.0.1:4333",
            "ERP_SECRET": "s",
            "ERP_RATE_LIMIT": "0",
            "ERP_PORTAL_URL": "http://localhost:8501",
            "ERP_LOG_LEVEL": "debug",
        }
    )

    assert settings.core_url == "http://127.0.0.1:8101"
    assert settings.nats_url == "nats://127.0.0.1:4333"
    assert settings.secret == "s"
    assert settings.rate_limit == 0
    assert settings.portal_url == "http://localhost:8501"
    assert settings.log_level == "DEBUG"


def test_defaults() -> None:
    settings = GatewaySettings.from_env({"ERP_CORE_URL": "http://core:8101"})

    assert settings.nats_url is None
    assert settings.secret is None
    assert settings.rate_limit == 600
    assert settings.portal_url is None
    assert settings.max_body_bytes == 1024 * 1024


@pytest.mark.parametrize(
    "env",
    [{}, {"ERP_CORE_URL": " "}, {"ERP_CORE_URL": "http://c", "ERP_RATE_LIMIT": "lots"}],
)
def test_refuses_missing_or_malformed_values(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        GatewaySettings.from_env(env)


@pytest.mark.parametrize(
    ("url", "port", "host", "expected"),
    [
        ("http://portal.example/", 8501, "gw:8000", "http://portal.example/"),
        (None, 8501, "erp.local:8000", "http://erp.local:8501/"),
        (None, 8501, "[::1]:8000", "http://[::1]:8501/"),
        (None, None, "erp.local:8000", None),
    ],
)
def test_portal_link_prefers_the_url_then_the_port(
    url: str | None, port: int | None, host: str, expected: str | None
) -> None:
    settings = GatewaySettings(core_url="http://core", portal_url=url, portal_port=port)

    assert portal_link(settings, host) == expected


def test_trusted_proxies_are_addresses_and_networks() -> None:
    settings = GatewaySettings.from_env(
        {"ERP_CORE_URL": "http://core", "ERP_TRUSTED_PROXIES": " 10.0.0.7, 192.168.0.0/16,,::1 "}
    )

    trusted = [str(n) for n in settings.trusted_proxies]
    assert trusted == ["10.0.0.7/32", "192.168.0.0/16", "::1/128"]


def test_no_proxy_is_trusted_by_default() -> None:
    assert GatewaySettings.from_env({"ERP_CORE_URL": "http://core"}).trusted_proxies == ()


@pytest.mark.parametrize("value", ["proxy.example", "10.0.0.0/33", "*"])
def test_a_trusted_proxy_must_be_an_address(value: str) -> None:
    with pytest.raises(SettingsError, match="ERP_TRUSTED_PROXIES"):
        GatewaySettings.from_env({"ERP_CORE_URL": "http://core", "ERP_TRUSTED_PROXIES": value})
