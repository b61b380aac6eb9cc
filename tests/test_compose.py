"""The production shape in docker-compose.yml, checked offline (no Docker engine needed)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
NATS_NODES = ("nats-1", "nats-2", "nats-3")
APP_IMAGE_SERVICES = ("migrate", "core", "gateway", "relay", "webhooks")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def flag(command: list[str], name: str) -> str:
    """The value after `name` in an argument list."""
    assert name in command, f"{name} missing from {command}"
    return command[command.index(name) + 1]


def default_services(services: dict) -> dict:
    return {name: svc for name, svc in services.items() if not svc.get("profiles")}


def test_matches_the_compose_specification():
    schema = ["--builtin-schema", "vendor.compose-spec"]

    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *schema, str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_has_every_part_of_the_stack(services):
    expected = {
        "postgres",
        *NATS_NODES,
        "migrate",
        "core",
        "gateway",
        "relay",
        "webhooks",
        "portal",
    }

    assert expected <= set(services)


def test_every_part_runs_by_default_with_no_profile(services):
    assert not [name for name, svc in services.items() if svc.get("profiles")]
    default = default_services(services)
    for name, svc in default.items():
        for dependency in svc.get("depends_on", {}):
            assert dependency in default, f"{name} depends on {dependency}, not started by default"


def test_postgres_is_16_with_a_healthcheck_and_a_volume(compose, services):
    postgres = services["postgres"]

    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in postgres["healthcheck"]["test"]
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_nats_is_a_three_node_jetstream_cluster(compose, services):
    names = set()
    for node in NATS_NODES:
        command = services[node]["command"]
        names.add(flag(command, "--name"))
        assert "--jetstream" in command
        assert flag(command, "--cluster_name") == "erp"
        assert flag(command, "--cluster").endswith(":6222")
        store = flag(command, "--store_dir")
        assert f"{node}:{store}" in services[node]["volumes"]
        assert node in compose["volumes"]
        assert services[node]["image"].startswith("nats:2.10")

    assert names == set(NATS_NODES)


def test_nats_routes_name_the_other_nodes(services):
    for node in NATS_NODES:
        routes = flag(services[node]["command"], "--routes").split(",")

        hosts = {re.match(r"nats://([^:]+):6222$", route).group(1) for route in routes}
        assert hosts == set(NATS_NODES) - {node}


def test_nats_health_is_checked_on_the_monitoring_port(services):
    for node in NATS_NODES:
        command = services[node]["command"]
        port = flag(command, "--http_port")
        test = " ".join(services[node]["healthcheck"]["test"])

        assert f":{port}/healthz" in test


def test_core_runs_the_core_factory_against_postgres(services):
    core = services["core"]

    assert core["command"][:4] == ["python", "-m", "stack.serve", "core"]
    assert flag(core["command"], "--port") == "8100"
    assert core["environment"]["DATABASE_URL"] == "postgresql://erp:erp@postgres:5432/erp"
    assert core["environment"]["ERP_SECRET"] == "${ERP_SECRET:?set ERP_SECRET}"
    assert "ERP_ADMIN_PASSWORD" in core["environment"]


def test_gateway_reaches_core_and_every_nats_node(services):
    gateway = services["gateway"]
    env = gateway["environment"]

    assert gateway["command"][:4] == ["python", "-m", "stack.serve", "gateway"]
    assert env["ERP_CORE_URL"] == "http://core:8100"
    assert env["NATS_URL"].split(",") == [f"nats://{node}:4222" for node in NATS_NODES]
    assert env["ERP_SECRET"] == "${ERP_SECRET:?set ERP_SECRET}"
    assert gateway["ports"] == ["8000:8000"]


def test_the_gateway_knows_nothing_of_the_database(services):
    gateway = services["gateway"]

    assert "DATABASE_URL" not in gateway["environment"]
    assert not set(gateway["networks"]) & set(services["postgres"]["networks"])


def test_only_the_heads_edge_publishes_ports(services):
    publishing = {name for name, svc in services.items() if svc.get("ports")}

    assert publishing == {"gateway", "portal"}


def test_database_and_nats_networks_are_internal(compose, services):
    networks = compose["networks"]

    for name in services["postgres"]["networks"]:
        assert networks[name]["internal"] is True
    for node in NATS_NODES:
        for name in services[node]["networks"]:
            assert networks[name]["internal"] is True


def test_start_order_waits_for_health(services):
    def conditions(name):
        return {dep: c["condition"] for dep, c in services[name]["depends_on"].items()}

    assert conditions("migrate") == {"postgres": "service_healthy"}
    assert conditions("core") == {
        "postgres": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    assert conditions("gateway") == {
        "core": "service_healthy",
        **dict.fromkeys(NATS_NODES, "service_healthy"),
    }
    assert conditions("portal") == {"gateway": "service_healthy"}
    for name in ("core", "gateway", "portal"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"


def test_python_services_are_built_from_this_repository(services):
    for name in (*APP_IMAGE_SERVICES, "portal"):
        assert services[name]["build"]["context"] == "."
    assert {services[name]["image"] for name in APP_IMAGE_SERVICES} == {"headless-erp:latest"}
    assert services["relay"]["command"] == ["erp", "relay"]
    assert services["portal"]["command"][:2] == ["streamlit", "run"]


def test_dockerfile_builds_a_non_root_python_311_image():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]

    assert "FROM python:3.11-slim" in lines
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1] not in {"root", "0"}
    assert any(line.startswith("CMD [") for line in lines)
    assert not any(line.startswith("ENTRYPOINT") for line in lines)


def test_dockerignore_keeps_local_state_and_secrets_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())

    assert {".git", ".venv", ".erp", ".env"} <= ignored
    assert not ignored & {"pyproject.toml", "README.md", "core", "events", "gateway", "stack"}


def test_core_and_gateway_trust_forwarded_headers_only_from_their_proxies(services):
    from stack.serve import ServeSettings

    core_env = services["core"]["environment"]
    gateway_env = services["gateway"]["environment"]

    # The gateway trusts no proxy unless the operator names one (passed through, unset here).
    assert "ERP_TRUSTED_PROXIES" in gateway_env and gateway_env["ERP_TRUSTED_PROXIES"] is None
    # Core trusts the private networks compose puts the gateway on, and parses them.
    default = re.fullmatch(
        r"\$\{ERP_CORE_TRUSTED_PROXIES:-(.+)\}", core_env["ERP_CORE_TRUSTED_PROXIES"]
    )
    assert default is not None
    trusted = ServeSettings.from_env("core", {"ERP_CORE_TRUSTED_PROXIES": default.group(1)})
    assert [str(net) for net in trusted.limits.trusted] == [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
    ]


def test_core_passes_its_workers_and_pool_size_through(services):
    core_env = services["core"]["environment"]

    # unset here, so the defaults hold; set, `erp up`'s and compose's cores size alike
    assert core_env["ERP_CORE_WORKERS"] is None
    assert core_env["ERP_DB_POOL_SIZE"] is None


def test_the_gateway_serves_the_storefront_in_the_image_and_passes_cors_origins(services):
    # The Dockerfile copies the tree to its WORKDIR and names the storefront there, so the
    # gateway finds it wherever Python imports the gateway from.
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    workdir = next(line.split()[1] for line in lines if line.startswith("WORKDIR "))
    assert "COPY . ." in lines
    assert f"ERP_SHOP_DIR={workdir}/heads/storefront" in " ".join(lines)
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert not ignored & {"heads", "heads/storefront", "heads/*"}
    gateway_env = services["gateway"]["environment"]
    assert "ERP_CORS_ORIGINS" in gateway_env and gateway_env["ERP_CORS_ORIGINS"] is None


def test_every_head_can_be_the_images_head():
    # `--build-arg HEAD=<head>` installs heads/<head>/requirements.txt, so the file must be in
    # the build before that step, for every head that has one (it once copied only the portal's).
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    for requirements in sorted((ROOT / "heads").glob("*/requirements.txt")):
        relative = requirements.relative_to(ROOT).as_posix()
        assert f"COPY {relative} /tmp/{relative}" in lines, relative


def test_the_stream_and_the_shared_limits_keep_a_copy_on_every_nats_node(services):
    # The form tests/events/test_nats_cluster.py proved: every node listed in NATS_URL and
    # three replicas, so losing one node (disk and all) loses no event and no limit.
    for name in ("relay", "gateway"):
        environment = services[name]["environment"]
        assert environment["ERP_STREAM_REPLICAS"] == str(len(NATS_NODES)), name
        listed = environment["NATS_URL"].split(",")
        assert listed == [f"nats://{node}:4222" for node in NATS_NODES], name
