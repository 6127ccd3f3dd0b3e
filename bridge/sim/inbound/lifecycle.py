"""An inbound shipment's life after its transportation is confirmed, on the simulated clock:

    WORKING --labels printed or tracking given--> READY_TO_SHIP --pickup--> SHIPPED
    --> IN_TRANSIT --transit--> DELIVERED --> CHECKED_IN --> RECEIVING --> CLOSED

Stock follows, in the plan's destination marketplace (InboundNetwork.stock_for), by the
stock book's adjust_inbound and receive: a confirmed placement puts the units in inbound
"working"; shipping moves them to "shipped"; receiving starts with them in "receiving" and
turns them into fulfillable stock at the destination center, per SKU, a
share at each of `inbound_receiving_steps` steps over `inbound_receiving_seconds`. The
plan is SHIPPED once every shipment has shipped.
"""

from __future__ import annotations

from math import ceil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.sim.inbound.network import InboundNetwork

# status -> (next status, the SimConfig field holding how long the status lasts)
_TIMED = {
    "READY_TO_SHIP": ("SHIPPED", "inbound_pickup_seconds"),
    "SHIPPED": ("IN_TRANSIT", "inbound_shipped_seconds"),
    "IN_TRANSIT": ("DELIVERED", "inbound_transit_seconds"),
    "DELIVERED": ("CHECKED_IN", "inbound_check_in_seconds"),
    "CHECKED_IN": ("RECEIVING", "inbound_receiving_start_seconds"),
}


def ready_to_ship(net: InboundNetwork, plan: dict, shipment: dict, at: float) -> None:
    """Labels printed (or tracking given) for a shipment whose carrier is confirmed."""
    _set_status(shipment, "READY_TO_SHIP", at)
    net.schedule_shipment(plan, shipment, at + net.config.inbound_pickup_seconds)


def _set_status(shipment: dict, status: str, at: float) -> None:
    shipment.update(status=status, statusAt=at, updatedAt=at)


def _move_units(net: InboundNetwork, plan: dict, shipment: dict, at: float, source: str,
                target: str) -> None:
    """Every unit of the shipment from one inbound stage to the next (stock.py's names)."""
    stock = net.stock_for(plan["marketplaceId"])
    for item in shipment["items"]:
        stock.adjust_inbound(item["msku"], at, **{source: -item["quantity"],
                                                      target: item["quantity"]})


def on_due(net: InboundNetwork, plan: dict, shipment: dict, at: float) -> None:
    status = shipment["status"]
    if status == "RECEIVING":
        _receive_step(net, plan, shipment, at)
        return
    if status not in _TIMED:
        return
    new_status, _ = _TIMED[status]
    _set_status(shipment, new_status, at)
    if new_status == "SHIPPED":
        _move_units(net, plan, shipment, at, "working", "shipped")
        _mark_plan_shipped(plan)
    if new_status == "RECEIVING":
        _move_units(net, plan, shipment, at, "shipped", "receiving")
        shipment["receivingStep"] = 0
        net.schedule_shipment(plan, shipment, at + _receiving_interval(net))
        return
    net.schedule_shipment(plan, shipment, at + getattr(net.config, _TIMED[new_status][1]))


def _receiving_interval(net: InboundNetwork) -> float:
    return net.config.inbound_receiving_seconds / max(1, net.config.inbound_receiving_steps)


def _receive_step(net: InboundNetwork, plan: dict, shipment: dict, at: float) -> None:
    """Receive each SKU's share for this step; the last step receives the rest and closes."""
    steps = max(1, net.config.inbound_receiving_steps)
    shipment["receivingStep"] += 1
    stock = net.stock_for(plan["marketplaceId"])
    for item in shipment["items"]:
        target = ceil(item["quantity"] * shipment["receivingStep"] / steps)
        received = shipment["received"].get(item["msku"], 0)
        if target > received:
            stock.receive(item["msku"], target - received, at, fc=shipment["warehouseId"])
            shipment["received"][item["msku"]] = target
    shipment["updatedAt"] = at
    if shipment["receivingStep"] >= steps:
        _set_status(shipment, "CLOSED", at)
        return
    net.schedule_shipment(plan, shipment, at + _receiving_interval(net))


def _mark_plan_shipped(plan: dict) -> None:
    live = [s for s in plan["shipments"].values() if s["status"] != "CANCELLED"]
    if live and all(s["status"] not in ("UNCONFIRMED", "WORKING", "READY_TO_SHIP")
                    for s in live):
        plan["status"] = "SHIPPED"
