"""The simulated fulfillment network: a stateful HTTP service that speaks the SP-API wire
format (LWA, Fulfillment Outbound 2020-07-01, FBA Inventory v1, Fulfillment Inbound
2024-03-20 and v0) so bridge can be run, tested and rehearsed without an Amazon account.

    from bridge.sim import SimConfig, SimServer

    with SimServer(SimConfig(clock_factor=0)) as sim:
        ...  # talk SP-API to sim.base_url; drive the clock with sim.admin.advance(60)
"""

from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer, serve

__all__ = ["SimConfig", "SimServer", "serve"]
