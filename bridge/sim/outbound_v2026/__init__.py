"""Fulfillment Outbound v2026-07-04, served on the same orders and stock as 2020-07-01."""
