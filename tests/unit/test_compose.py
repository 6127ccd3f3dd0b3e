"""docker-compose.yml as an operator runs it: parsed with PyYAML (no Docker here) and
checked for what makes it work as written."""

import re
import tomllib
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
MOUNTED_CONFIG = ROOT / "config" / "compose"
LONG_RUNNING = ("postgres", "redis", "worker-submit", "worker-flows", "beat", "serve", "sim")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _service(compose: dict, name: str) -> dict:
    return compose["services"][name]


def test_every_long_running_service_restarts_and_the_migration_does_not(compose):
    assert set(LONG_RUNNING) | {"migrate"} == set(compose["services"])
    for name in LONG_RUNNING:
        assert _service(compose, name)["restart"] == "unless-stopped", name
    assert _service(compose, "migrate")["restart"] == "no"


def test_only_the_console_is_published(compose):
    published = {name: service["ports"] for name, service in compose["services"].items()
                 if service.get("ports")}
    assert published == {"serve": ["8780:8780"]}
    assert _service(compose, "serve")["command"] == ["bridge", "serve"]


def test_the_simulator_and_the_data_stores_are_on_the_internal_network_only(compose):
    assert compose["networks"]["internal"] == {"internal": True}
    for name in ("sim", "postgres", "redis"):
        assert _service(compose, name)["networks"] == ["internal"], name


def test_services_that_serve_have_healthchecks(compose):
    for name in ("postgres", "redis", "worker-submit", "worker-flows", "serve", "sim"):
        assert _service(compose, name)["healthcheck"]["test"], name
    assert "/healthz" in " ".join(_service(compose, "serve")["healthcheck"]["test"])
    for name, lane in (("worker-submit", "submit"), ("worker-flows", "flows")):
        test = " ".join(_service(compose, name)["healthcheck"]["test"])
        assert f"--destination {lane}@$$HOSTNAME" in test
        assert f"--lane {lane}" in " ".join(_service(compose, name)["command"])


def test_bridge_services_take_secrets_from_the_env_file_and_mount_the_compose_config(compose):
    for name in ("migrate", "worker-submit", "worker-flows", "beat", "serve"):
        service = _service(compose, name)
        assert service["env_file"] == ".env", name
        assert "./config/compose:/etc/bridge:ro" in service["volumes"], name
        assert service["environment"]["BRIDGE_CONFIG_DIR"] == "/etc/bridge"
        database_url = service["environment"]["BRIDGE_DATABASE_URL"]
        assert "${POSTGRES_PASSWORD" in database_url and "@postgres:5432/" in database_url
    assert _service(compose, "postgres")["env_file"] == ".env"


def _mounted_storefronts() -> list[dict]:
    return [tomllib.loads(path.read_text())
            for path in sorted((MOUNTED_CONFIG / "storefronts").glob("*.toml"))]


def test_the_mounted_config_reaches_the_simulator_by_its_service_name():
    storefronts = _mounted_storefronts()
    assert storefronts
    for storefront in storefronts:
        assert storefront["fulfillment"]["endpoint"] == "http://sim:8765"


def _references(text: str) -> set[str]:
    return set(re.findall(r'"env:([A-Z0-9_]+)"', text))


def test_every_secret_the_containers_need_is_in_the_env_example_and_none_is_filled_in(compose):
    example = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name] = value
    assert all(value == "" for value in example.values()), "a value in .env.example"
    needed = set()
    for path in MOUNTED_CONFIG.rglob("*.toml"):
        needed |= _references(path.read_text())
    needed |= set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    assert needed == set(example)
    assert {"POSTGRES_PASSWORD", "BRIDGE_SERVE_TOKEN"} <= needed


def test_bridge_serve_listens_beyond_loopback_only_with_a_token():
    settings = tomllib.loads((MOUNTED_CONFIG / "bridge.toml").read_text())
    assert settings["serve"]["host"] == "0.0.0.0"
    assert settings["serve"]["token"] == "env:BRIDGE_SERVE_TOKEN"


def test_the_mounted_config_loads_as_the_containers_see_it(compose, monkeypatch):
    from bridge.config import load_config

    for name, value in _service(compose, "serve")["environment"].items():
        if "$" not in value:
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("BRIDGE_CONFIG_DIR", raising=False)
    config = load_config(MOUNTED_CONFIG)
    assert [s.fulfillment.base_url for s in config.storefronts] == ["http://sim:8765"]
    assert config.settings.serve.host == "0.0.0.0"
