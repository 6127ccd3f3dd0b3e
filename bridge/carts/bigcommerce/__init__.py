"""The BigCommerce cart adapter (V2 orders, V3 inventory); see `adapter` for what it does."""

from bridge.carts.bigcommerce.adapter import BigCommerceAdapter

__all__ = ["BigCommerceAdapter"]
