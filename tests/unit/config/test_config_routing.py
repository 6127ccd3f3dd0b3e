"""`[fulfillment.routing]`, `shop_stock` and `[policy.marketplace_sku_maps]` are checked
when the configuration is loaded: every refusal names the file, the key and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.domain.marketplaces import REFUSE
from bridge.errors import ConfigError

STOREFRONT = """
name = "shop"
[cart]
platform = "sql"
url = "sqlite:///store.db"
[fulfillment]
region = "{region}"
client_id = "amzn1.application-oa2-client.x"
client_secret = "env:ROUTING_TEST_SECRET"
refresh_token = "env:ROUTING_TEST_TOKEN"
{account}
{tables}
"""


def load(tmp_path: Path, *, region: str = "NA", account: str = "", tables: str = ""):
    (tmp_path / "storefronts").mkdir(exist_ok=True)
    (tmp_path / "storefronts" / "shop.toml").write_text(
        STOREFRONT.format(region=region, account=account, tables=tables))
    return load_config(tmp_path).storefront("shop")


def refusal(tmp_path: Path, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, **kwargs)
    [(file, key, what)] = caught.value.problems
    assert Path(file).name == "shop.toml"
    return f"{key}: {what}"


def test_routes_resolve_to_marketplace_ids(tmp_path):
    storefront = load(tmp_path, account='shop_stock = "sum"', tables=(
        '[fulfillment.routing]\nUS = "US"\nca = "A2EUQ1WTGCTBG2"\nMX = "mx"\ndefault = "refuse"\n'
        '[policy.marketplace_sku_maps.MX]\n"TEE" = "TEE-MX"\n'))
    routing = storefront.fulfillment.routing_table
    assert routing.table == {"US": "ATVPDKIKX0DER", "CA": "A2EUQ1WTGCTBG2", "MX": "A1AM78C64UM0Y8"}
    assert routing.default == REFUSE
    assert storefront.fulfillment.stock_marketplaces == (
        "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8")
    assert storefront.policy.skus_for("A1AM78C64UM0Y8").components("TEE") == (("TEE-MX", 1),)
    assert storefront.policy.skus_for("A2EUQ1WTGCTBG2").components("TEE") == (("TEE", 1),)


def test_without_a_table_every_order_goes_home(tmp_path):
    routing = load(tmp_path).fulfillment.routing_table
    assert not routing.routed
    assert routing.marketplace_for("ZA") == "ATVPDKIKX0DER"


@pytest.mark.parametrize("tables, words", [
    ('[fulfillment.routing]\nCA = "A2EUQ1WTGCTBG9"\n', "routing.CA: 'A2EUQ1WTGCTBG9' is not an Amazon marketplace"),
    ('[fulfillment.routing]\nDE = "DE"\n', "A1PA6795UKMFR9 (DE) is in region EU, not this account's NA"),
    ('[fulfillment.routing]\nXX = "US"\n', "routing.XX: not an ISO 3166-1 country code"),
    ('[fulfillment.routing]\nCA = "CA"\n[policy.marketplace_sku_maps.MX]\n"T" = "T-MX"\n',
     "policy.marketplace_sku_maps.MX: no order is routed to that marketplace"),
])
def test_a_route_bridge_cannot_use_is_refused_at_load(tmp_path, tables, words):
    assert words in refusal(tmp_path, tables=tables)


def test_shop_stock_must_name_a_routed_marketplace(tmp_path):
    words = refusal(tmp_path, account='shop_stock = "MX"',
                    tables='[fulfillment.routing]\nCA = "CA"\n')
    assert "shop_stock: 'MX' is not home, sum or a marketplace orders are routed to" in words


def test_an_eu_account_routes_across_its_marketplaces(tmp_path):
    storefront = load(tmp_path, region="EU", account='marketplace_id = "A1PA6795UKMFR9"', tables=(
        '[fulfillment.routing]\nGB = "UK"\nFR = "FR"\ndefault = "DE"\n'))
    routing = storefront.fulfillment.routing_table
    assert routing.marketplace_for("GB") == "A1F83G8C2ARO7P"
    assert routing.marketplace_for("AT") == "A1PA6795UKMFR9"  # cross-border from Germany
    assert routing.key(routing.marketplace_for("AT")) == ""  # the home marketplace
