"""Fulfillment Inbound 2024-03-20 and v0: inbound plans, their asynchronous operations and
the shipments they send, received into the inventory package's stock."""
