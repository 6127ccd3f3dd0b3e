"""The Shopify cart adapter (GraphQL Admin API); see `adapter` for what it reads and writes."""

from bridge.carts.shopify.adapter import ShopifyAdapter

__all__ = ["ShopifyAdapter"]
