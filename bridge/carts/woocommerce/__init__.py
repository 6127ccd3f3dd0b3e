"""The WooCommerce cart adapter (REST API v3); see `adapter` for what it reads and writes."""

from bridge.carts.woocommerce.adapter import WooCommerceAdapter

__all__ = ["WooCommerceAdapter"]
