"""`bridge config check --online` through the command, against the simulated fulfillment
network and a SQLite demo store: a good configuration passes, and a refused LWA secret,
a missing Amazon role or a wrong cart mapping is named with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import DROP_SECONDS

from bridge.cli import main
from bridge.config import load_config
from bridge.demo import write_config
from bridge.services import online_check
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

# The credentials `write_config` writes; a strict simulator accepts only these.
CLIENT_ID = "amzn1.application-oa2-client.demo"
CLIENT_SECRET = "demo-client-secret-0123456789"
REFRESH_TOKEN = "Atzr|demo-refresh-token-0123456789"


@pytest.fixture(scope="module")
def strict_sim():
    config = SimConfig(clock_factor=0, rate_limits=False, drop_seconds=DROP_SECONDS,
                       strict_auth=True, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                       refresh_tokens=(REFRESH_TOKEN,))
    with SimServer(config) as server:
        yield server


def configure(tmp_path: Path, sim_url: str, store_url: str) -> Path:
    return write_config(tmp_path, sim_url, store_url=store_url, timeout_seconds=5)


def check_online(config_dir: Path):
    return CliRunner().invoke(main, ["-c", str(config_dir), "config", "check", "--online"],
                              catch_exceptions=False)


def test_a_good_configuration_passes(tmp_path, strict_sim, store_url):
    result = check_online(configure(tmp_path, strict_sim.base_url, store_url))
    assert result.exit_code == 0, result.output
    for line in ("ok      cart:", "ok      amazon.credentials:", "ok      amazon.fulfillment:"):
        assert line in result.output


def test_a_refused_lwa_secret_is_named(tmp_path, strict_sim, store_url):
    config_dir = configure(tmp_path, strict_sim.base_url, store_url)
    (tmp_path / "secrets" / "lwa-client-secret").write_text("not-the-client-secret-0000\n")
    result = check_online(config_dir)
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "problem amazon.credentials: the LWA refresh token or client secret is refused" in output
    assert "skipped amazon.fulfillment" in output
    assert "ok cart:" in output
    assert "not-the-client-secret" not in output


def test_a_missing_fulfillment_role_is_named(tmp_path, sim, store_url):
    sim.admin.add_fault("getInventorySummaries", status=403)
    result = check_online(configure(tmp_path, sim.base_url, store_url))
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "ok amazon.credentials" in output
    assert "problem amazon.fulfillment: the app lacks the Amazon Fulfillment role" in output


def test_a_wrong_cart_mapping_is_named(tmp_path, sim, store_url):
    config_dir = configure(tmp_path, sim.base_url, store_url)
    storefront = config_dir / "storefronts" / "demo.toml"
    text = storefront.read_text().replace('[fulfillment]', '[cart.stock]\ntable = "shelf"\n\n[fulfillment]')
    storefront.write_text(text)
    result = check_online(config_dir)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "problem cart.stock.table: the cart database has no table 'shelf'" in output
    assert "ok amazon.fulfillment" in output


def test_offline_problems_stop_before_anything_is_contacted(tmp_path, sim, store_url):
    config_dir = configure(tmp_path, sim.base_url, store_url)
    (tmp_path / "secrets" / "lwa-refresh-token").unlink()
    result = check_online(config_dir)
    assert result.exit_code == 2
    assert "amazon.credentials" not in result.output
    assert sim.admin.calls("getInventorySummaries") == 0


class _NoProbe:
    """A third-party adapter from before `probe` existed."""

    @classmethod
    def from_settings(cls, settings, secret):
        return cls()

    def close(self) -> None:
        pass


def test_an_adapter_without_a_probe_is_reported_not_failed(tmp_path, sim, store_url, monkeypatch):
    storefront = load_config(configure(tmp_path, sim.base_url, store_url)).storefront("demo")
    monkeypatch.setattr(online_check, "adapter_class", lambda platform: _NoProbe)
    report = online_check.check_storefront(storefront)
    assert report.ok
    assert report.checks[0] == online_check.Check("cart", online_check.SKIPPED,
                                                  "no online check for this platform")


def test_a_sku_map_target_amazon_does_not_know_is_named(tmp_path, sim, store_url):
    sim.admin.set_stock({"MUG-BLUE": 5, "TEE-M": 3})
    config_dir = configure(tmp_path, sim.base_url, store_url)
    storefront = config_dir / "storefronts" / "demo.toml"
    storefront.write_text(storefront.read_text() + (
        '\n[policy.sku_map]\n"blue-mug" = "MUG-BLUE"\n'
        '"GIFT-SET" = { "MUG-BLUE" = 2, "MUG-BLEU" = 1 }\n'))
    result = check_online(config_dir)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "problem policy.sku_map.GIFT-SET: seller SKU 'MUG-BLEU' has no FBA inventory record" in output
    assert "policy.sku_map.blue-mug" not in output
