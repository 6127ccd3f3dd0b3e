import pickle
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.errors import ConfigError
from bridge.services.config_check import check_config

GOOD = """
name = "shop"
[cart]
platform = "sql"
url = "sqlite:///store.db"
[fulfillment]
client_id = "amzn1.application-oa2-client.x"
client_secret = "env:SHOP_SECRET"
refresh_token = "file:token.txt"
"""


def write(tmp_path: Path, storefronts: dict[str, str], main: str = "") -> Path:
    (tmp_path / "storefronts").mkdir()
    (tmp_path / "bridge.toml").write_text(main)
    for name, text in storefronts.items():
        (tmp_path / "storefronts" / f"{name}.toml").write_text(text)
    return tmp_path


def test_defaults_are_the_embedded_setup(tmp_path, monkeypatch):
    monkeypatch.delenv("BRIDGE_DATABASE_URL", raising=False)
    config = load_config(write(tmp_path, {"shop": GOOD}))
    assert config.settings.database_url.startswith("sqlite:///")
    assert config.settings.broker_url.startswith("sqla+sqlite:///")
    shop = config.storefront("shop")
    assert shop.policy.skus.components("A") == (("A", 1),)
    assert shop.policy.speed_for("anything") == "Standard"
    assert shop.fulfillment.base_url == "https://sellingpartnerapi-na.amazon.com"


def test_environment_overrides_the_main_file(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIDGE_DATABASE_URL", "postgresql://db/bridge")
    monkeypatch.setenv("BRIDGE_BROKER_URL", "redis://127.0.0.1:6379/0")
    config = load_config(write(tmp_path, {"shop": GOOD}, 'database_url = "sqlite:///x.db"'))
    assert config.settings.database_url == "postgresql://db/bridge"
    assert config.settings.broker_url == "redis://127.0.0.1:6379/0"


def test_every_problem_is_reported_with_file_and_key(tmp_path):
    bad = GOOD.replace('client_secret = "env:SHOP_SECRET"', 'client_secret = "hunter2-inline"')
    bad += '\n[policy]\ndefault_speed = "Fast"\nstock_buffer = -1\n'
    root = write(tmp_path, {"shop": bad, "other": "name = 'Bad Name!'\n"}, "log_format = 'xml'")
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    problems = {(Path(f).name, key) for f, key, _ in caught.value.problems}
    assert ("bridge.toml", "log_format") in problems
    assert ("shop.toml", "fulfillment.client_secret") in problems
    assert ("shop.toml", "policy.default_speed") in problems
    assert ("shop.toml", "policy.stock_buffer") in problems
    assert ("other.toml", "name") in problems
    # the inline secret is not echoed back
    assert "hunter2-inline" not in str(caught.value)
    # and the error survives a trip through Celery's pickling
    assert pickle.loads(pickle.dumps(caught.value)).problems == caught.value.problems


def test_secret_references_are_resolved_on_check(tmp_path, monkeypatch):
    root = write(tmp_path, {"shop": GOOD})
    monkeypatch.delenv("SHOP_SECRET", raising=False)
    with pytest.raises(ConfigError) as caught:
        check_config(load_config(root))
    messages = {key: what for _f, key, what in caught.value.problems}
    assert "SHOP_SECRET is not set" in messages["fulfillment.client_secret"]
    assert "cannot read secret file" in messages["fulfillment.refresh_token"]
    monkeypatch.setenv("SHOP_SECRET", "s3cr3t-value")
    (root / "token.txt").write_text("Atzr|token-value\n")
    config = load_config(root)
    check_config(config)
    assert config.storefront("shop").secret("file:token.txt") == "Atzr|token-value"


def test_cart_settings_are_checked_by_the_adapter(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_SECRET", "s3cr3t-value")
    (tmp_path / "token.txt").write_text("Atzr|token-value\n")
    text = GOOD + '[cart.orders]\ntable = "orders; DROP TABLE x"\n'
    config = load_config(write(tmp_path, {"shop": text}))
    with pytest.raises(ConfigError) as caught:
        check_config(config)
    assert any(key.startswith("cart.orders") for _f, key, _w in caught.value.problems)


def test_unknown_platform_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_SECRET", "s3cr3t-value")
    config = load_config(write(tmp_path, {"shop": GOOD.replace('"sql"', '"prestashop"')}))
    with pytest.raises(ConfigError) as caught:
        check_config(config)
    assert "prestashop" in str(caught.value)


def test_two_storefronts_may_not_share_an_id_prefix(tmp_path):
    a = 'order_id_prefix = "SHOP"\n' + GOOD
    b = 'order_id_prefix = "SHOP"\n' + GOOD.replace('name = "shop"', 'name = "shop2"')
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, {"a": a, "b": b}))
    assert any(key == "order_id_prefix" for _f, key, _w in caught.value.problems)


def test_plain_http_reaches_only_loopback_or_hosts_the_deployment_names(monkeypatch):
    from pydantic import ValidationError

    from bridge.config import FulfillmentAccount

    def account(endpoint: str) -> FulfillmentAccount:
        return FulfillmentAccount(client_id="id", client_secret="env:S", refresh_token="env:R",
                                  endpoint=endpoint)

    monkeypatch.delenv("BRIDGE_PLAIN_HTTP_HOSTS", raising=False)
    assert account("http://127.0.0.1:8765").base_url == "http://127.0.0.1:8765"
    with pytest.raises(ValidationError, match="BRIDGE_PLAIN_HTTP_HOSTS"):
        account("http://sim:8765")
    monkeypatch.setenv("BRIDGE_PLAIN_HTTP_HOSTS", "sim, other")
    assert account("http://sim:8765").base_url == "http://sim:8765"
    with pytest.raises(ValidationError):
        account("http://elsewhere.example:8765")
