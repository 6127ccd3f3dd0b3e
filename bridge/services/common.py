"""Small pieces several services share."""

from __future__ import annotations

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain.mapping import MappingPolicy
from bridge.domain.model import CartOrder
from bridge.errors import BridgeError, FatalError
from bridge.logging import get_logger

log = get_logger("bridge.services")


def mapping_policy(storefront: StorefrontConfig) -> MappingPolicy:
    policy = storefront.policy
    return MappingPolicy(
        sku_map=policy.skus,
        speed_for=policy.speed_for,
        fulfillment_policy=policy.fulfillment_policy,
        comment_template=policy.comment_template,
        require_latin_address=policy.require_latin_address,
    )


def tell_merchant(cart: CartAdapter, order: CartOrder, text: str) -> None:
    """Best effort: a note that cannot be written is logged, never fatal to the flow
    that found the problem (the ledger already records it)."""
    if not cart.capabilities.notes:
        return
    try:
        cart.add_note(order, f"bridge: {text}")
    except FatalError:
        raise
    except BridgeError as exc:
        log.warning("note_not_written", order=order.order_id, error=str(exc))
