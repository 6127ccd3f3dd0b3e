"""Fulfillment Outbound v2026-07-04 behind the same `FulfillmentNetwork` port as
2020-07-01: `client.FbaV2026Client`, with `mapping` between its payloads and the domain."""
