"""Finds cart adapters by platform name through the `bridge.carts` entry point group,
so a third-party package adds a platform by declaring one entry point."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from bridge.errors import ConfigError

# Built-in adapters, found even when bridge runs from a checkout that was not installed.
_BUILTIN = {
    "sql": "bridge.carts.sql:SqlCartAdapter",
    "shopify": "bridge.carts.shopify:ShopifyAdapter",
    "woocommerce": "bridge.carts.woocommerce:WooCommerceAdapter",
    "bigcommerce": "bridge.carts.bigcommerce:BigCommerceAdapter",
    "magento": "bridge.carts.magento:MagentoAdapter",
}


@cache
def _targets() -> dict[str, str]:
    found = dict(_BUILTIN)
    for ep in entry_points(group="bridge.carts"):
        found[ep.name] = ep.value
    return found


def platforms() -> list[str]:
    return sorted(_targets())


def adapter_class(platform: str):
    target = _targets().get(platform)
    if target is None:
        raise ConfigError(
            [("-", "cart.platform", f"unknown platform {platform!r}; known: {', '.join(platforms())}")]
        )
    module_name, _, attr = target.partition(":")
    module = __import__(module_name, fromlist=[attr])
    return getattr(module, attr)
