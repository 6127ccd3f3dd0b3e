"""Fulfillment Outbound 2020-07-01: fulfillment orders and their lifecycle, previews and
delivery offers, package tracking, returns and features. Built on the inventory package."""
