"""Numbers that never repeat for the simulator's whole life (orders, shipments, packages,
return authorizations): one counters document, kept across a reset."""

from __future__ import annotations

from bridge.sim.state import Store


def next_number(store: Store, name: str) -> int:
    counters = store.get("meta", "counters")
    if counters is None:
        counters = {"order": 0, "shipment": 0, "package": 0}
        store.put("meta", "counters", counters)
    counters.setdefault("returnAuthorization", 0)
    counters[name] += 1
    store.touch("meta", "counters")
    return counters[name]
