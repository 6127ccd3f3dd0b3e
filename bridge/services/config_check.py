"""Checks that need more than the schema: every secret reference resolves, each
storefront's cart settings are valid as its adapter understands them, and its order
comment template renders."""

from __future__ import annotations

import string

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
        template_problem = comment_template_problem(storefront.policy.comment_template)
        if template_problem:
            problems.append((file, "policy.comment_template", template_problem))
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


# What the mapper fills a comment template with (bridge.domain.mapping), as sample orders.
COMMENT_FIELDS = {"number": "#1001", "order_id": "1001", "email": "buyer@example.com"}
_HOW = "use {number}, {order_id} or {email}, and {{ and }} for literal braces"


def comment_template_problem(template: str) -> str | None:
    """Why `template` cannot be rendered for an order, with how to write it; None when it
    renders. Found here, a bad template stops the start instead of every order."""
    try:
        string.Formatter().vformat(template, (), COMMENT_FIELDS)
    except KeyError as exc:
        return f"{{{exc.args[0]}}} is not a field of an order; {_HOW}"
    except (IndexError, AttributeError) as exc:
        return f"{_field_problem(template) or exc}; {_HOW}"
    except (ValueError, TypeError) as exc:
        return f"cannot be rendered ({exc}); {_HOW}"
    return None


def _field_problem(template: str) -> str | None:
    """The first field that is positional or reaches into a value (`.x`, `[i]`)."""
    for _text, name, _spec, _conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if name == "" or name.isdigit():
            return f"{{{name}}} is a positional field: it names no value of an order"
        if name not in COMMENT_FIELDS:
            return f"{{{name}}}: the fields are plain text, without attributes or indexes"
    return None
