"""Every operation the simulator answers, from the API modules that define them. It sits
above those modules, which import only the Operation type, so the registry cannot pull
itself back in."""

from __future__ import annotations

from bridge.sim.inbound import api as inbound_api
from bridge.sim.inbound import v0 as inbound_v0
from bridge.sim.inventory import api as inventory_api
from bridge.sim.operations import Operation
from bridge.sim.outbound import api as outbound_api
from bridge.sim.outbound_v2026 import api as outbound_v2026_api


def all_operations() -> list[Operation]:
    """Every operation of every simulated API."""
    return [*outbound_api.OPERATIONS, *inventory_api.OPERATIONS, *inbound_api.OPERATIONS,
            *inbound_v0.OPERATIONS, *outbound_v2026_api.OPERATIONS]
