"""Checks that need more than the schema: every secret reference resolves, and each
storefront's cart settings are valid as its adapter understands them."""

from __future__ import annotations

from bridge import secrets
from bridge.carts.registry import adapter_class
from bridge.config import Config
from bridge.errors import ConfigError


def check_config(config: Config) -> None:
    """Raise one ConfigError listing every problem found beyond the schema."""
    problems: list[tuple[str, str, str]] = []
    for storefront in config.storefronts:
        file = storefront.source_file
        for key in ("client_secret", "refresh_token"):
            try:
                storefront.secret(getattr(storefront.fulfillment, key))
            except ValueError as exc:
                problems.append((file, f"fulfillment.{key}", str(exc)))
        for cart_sku, what in storefront.policy.skus.problems():
            problems.append((file, f"policy.sku_map.{cart_sku}", what))
        try:
            cls = adapter_class(storefront.cart.platform)
        except ConfigError as exc:
            problems.extend((file, key, what) for _f, key, what in exc.problems)
            continue
        settings = storefront.cart.settings()
        for key, what in cls.check_settings(settings):
            problems.append((file, f"cart.{key}", what))
        for key, value in settings.items():
            if isinstance(value, str) and secrets.is_reference(value):
                try:
                    storefront.secret(value)
                except ValueError as exc:
                    problems.append((file, f"cart.{key}", str(exc)))
    if problems:
        raise ConfigError(problems)
