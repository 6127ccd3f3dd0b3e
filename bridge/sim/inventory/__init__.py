"""FBA Inventory v1 and the stock book beneath it: units per SKU and fulfillment center,
which the outbound and inbound packages reserve, consume and receive."""
