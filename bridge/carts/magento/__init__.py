"""The Magento 2 / Adobe Commerce cart adapter (REST V1); see `adapter` for what it does."""

from bridge.carts.magento.adapter import MagentoAdapter

__all__ = ["MagentoAdapter"]
