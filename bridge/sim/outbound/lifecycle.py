"""A fulfillment order's way through Amazon's statuses on the simulated clock.

    Received --received_seconds--> Planning --planning_seconds--> Processing
             --processing_seconds--> Complete | CompletePartialled

What is missing is topped up when planning starts. An order still short then follows its
fulfillmentPolicy: FillOrKill -> Unfulfillable (reservations released);
FillAllAvailable -> ships what it holds, cancels the rest; FillAll -> waits in Planning
for stock up to fill_all_wait_seconds, then ships what it holds. One shipment leaves each
center the order's stock sits in, one package per shipment. A held order is cancelled
after hold_expiry_seconds. After shipping, customer returns (returns.py) are processed on
the same schedule.

State moves lazily: `advance_to(now)` applies every transition due by `now`, in time
order across all orders (so the order created first plans first), stamping each with
its due time, not the time somebody asked. Callers hold the store's transaction.
"""

from __future__ import annotations

import heapq

from bridge.sim.config import SimConfig
from bridge.sim.fulfillment_centers import center
from bridge.sim.inventory.stock import StockBook
from bridge.sim.outbound import carriers, features, returns, tracking
from bridge.sim.outbound.counters import next_number
from bridge.sim.outbound.reservations import any_reserved, give_up_shortfall, open_units, release_all, reserved, top_up
from bridge.sim.state import Store

KIND = "order"
CANCELLABLE = ("New", "Received", "Planning")
TERMINAL = ("Cancelled", "Complete", "CompletePartialled", "Unfulfillable", "Invalid")
CLOSED_ORDER = ("Cancelled", "Unfulfillable", "Invalid")
# How far along the normal path each status is (for the sandbox's forced updates).
PROGRESS = {"New": 0, "Received": 0, "Planning": 1, "Processing": 2, "Complete": 3,
            "CompletePartialled": 3}
# Faster services travel faster: transit time relative to Standard.
_TRANSIT_FACTOR = {"Standard": 1.0, "Expedited": 0.5, "Priority": 0.25,
                   "ScheduledDelivery": 0.5}


def transit_seconds(config: SimConfig, speed: str) -> float:
    return config.transit_seconds * _TRANSIT_FACTOR.get(speed, 1.0)


def marketplace_of(order: dict, config: SimConfig) -> str:
    """The marketplace whose stock the order draws on (orders stored before it was
    recorded: the one their request named, else the simulator's own)."""
    return order.get("marketplaceId") or order["request"].get("marketplaceId") \
        or config.marketplace_id


class OrderLifecycle:
    def __init__(self, store: Store, stock: StockBook, config: SimConfig) -> None:
        self._store = store
        self._stock = stock
        self._config = config
        self._due: list[tuple[float, int, str]] = []
        self.rebuild()

    # -- scheduling ---------------------------------------------------------------------

    def rebuild(self) -> None:
        """Recompute the schedule from stored orders (after start-up or reset)."""
        with self._store.transaction():
            self._due = [(o["nextEventAt"], o["seq"], o["id"]) for o in self._store.all(KIND)
                         if o.get("nextEventAt") is not None]
            heapq.heapify(self._due)

    def stock_of(self, order: dict) -> StockBook:
        """The order's marketplace's stock: it reserves, ships and restocks there."""
        return self._stock.at(marketplace_of(order, self._config))

    def schedule(self, order: dict, at: float | None) -> None:
        order["nextEventAt"] = at
        if at is not None:
            heapq.heappush(self._due, (at, order["seq"], order["id"]))

    def advance_to(self, now: float) -> None:
        with self._store.transaction():
            while self._due and self._due[0][0] <= now:
                due, _, order_id = heapq.heappop(self._due)
                order = self._store.get(KIND, order_id)
                if order is None or order.get("nextEventAt") != due:
                    continue  # superseded: cancelled, rescheduled or reset
                order["nextEventAt"] = None
                self._on_due(order, due)
                self._store.touch(KIND, order_id)

    def _on_due(self, order: dict, at: float) -> None:
        status = order["status"]
        if status == "Received":
            if order["fulfillmentAction"] == "Hold":
                self.cancel(order, at)  # 14 days on hold: Amazon cancels it
            else:
                self._plan(order, at)
        elif status == "Planning":
            self._finish_planning(order, at)
        elif status == "Processing":
            self._ship(order, at)
        else:
            returns.advance(order, at, self.stock_of(order))
            self.schedule(order, returns.next_event(order))

    def step_now(self, order: dict, at: float) -> None:
        """One step along the normal path at once (the sandbox's forced updates)."""
        status = order["status"]
        if status == "Received":
            self._plan(order, at)
        elif status == "Planning":
            top_up(self.stock_of(order), order, at)
            self._give_up_or_fail(order, at)
            if order["status"] == "Planning":
                order["waitingForStock"] = False
                self._start_processing(order, at)
        else:
            self._ship(order, at)

    # -- transitions --------------------------------------------------------------------

    @staticmethod
    def _set_status(order: dict, status: str, at: float) -> None:
        order["status"] = status
        order["statusUpdatedAt"] = at

    def _plan(self, order: dict, at: float) -> None:
        fully_reserved = top_up(self.stock_of(order), order, at)
        policy = order["fulfillmentPolicy"]
        if not fully_reserved and policy == "FillOrKill":
            self.unfulfillable(order, at)
            return
        if not fully_reserved and policy == "FillAllAvailable":
            if not any_reserved(order):
                self.unfulfillable(order, at)
                return
            give_up_shortfall(order, "cancelledQuantity")
        order["waitingForStock"] = not fully_reserved and policy == "FillAll"
        self.plan_shipments(order)
        self._set_status(order, "Planning", at)
        self.schedule(order, self._next_planning_check(order, at))

    def plan_shipments(self, order: dict) -> None:
        """One planned shipment per center holding the order's reserved units. A center
        keeps its shipment id across re-planning; a center no longer used loses it."""
        by_center: dict[str, list[dict]] = {}
        for item in order["items"]:
            for fc, units in sorted(item["reservedByFc"].items()):
                if units > 0:
                    by_center.setdefault(fc, []).append(
                        {"sellerSku": item["sellerSku"],
                         "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                         "quantity": units})
        kept = {s["fulfillmentCenterId"]: s for s in order["shipments"] if s["status"] is None}
        settled = [s for s in order["shipments"] if s["status"] is not None]
        planned = []
        for fc in sorted(by_center):
            shipment = kept.get(fc) or self._new_shipment(fc)
            shipment["items"] = by_center[fc]
            planned.append(shipment)
        order["shipments"] = settled + planned

    def _new_shipment(self, fc: str) -> dict:
        number = next_number(self._store, "shipment")
        return {"amazonShipmentId": carriers.amazon_shipment_id(number),
                "fulfillmentCenterId": fc, "status": None, "items": [], "packages": []}

    def _next_planning_check(self, order: dict, at: float) -> float:
        step = at + self._config.planning_seconds
        if order.get("waitingForStock"):
            start = order.get("releasedAt") or order["receivedAt"]
            return min(step, start + self._config.fill_all_wait_seconds)
        return step

    def _finish_planning(self, order: dict, at: float) -> None:
        """Last chance to reserve before picking starts; a shortfall (FillAll waiting, or
        an update that raised a quantity) follows the policy once more."""
        if not top_up(self.stock_of(order), order, at):
            policy = order["fulfillmentPolicy"]
            start = order.get("releasedAt") or order["receivedAt"]
            if policy == "FillAll" and at < start + self._config.fill_all_wait_seconds:
                order["waitingForStock"] = True
                self.plan_shipments(order)
                self.schedule(order, self._next_planning_check(order, at))
                return
            if policy == "FillOrKill":
                self.unfulfillable(order, at)
                return
            if policy == "FillAllAvailable" and any_reserved(order):
                give_up_shortfall(order, "cancelledQuantity")
            else:
                self._give_up_or_fail(order, at)
            if order["status"] != "Planning":
                return
        order["waitingForStock"] = False
        self._start_processing(order, at)

    def _give_up_or_fail(self, order: dict, at: float) -> None:
        """Stock did not come: ship what is held (the rest unfulfillable), or nothing."""
        if not any_reserved(order):
            self.unfulfillable(order, at)
            return
        give_up_shortfall(order, "unfulfillableQuantity")

    def _start_processing(self, order: dict, at: float) -> None:
        self.plan_shipments(order)
        ship_at = at + self._config.processing_seconds
        arrive_at = ship_at + transit_seconds(self._config,
                                              order["request"]["shippingSpeedCategory"])
        for shipment in order["shipments"]:
            if shipment["status"] is None:
                shipment.update(status="PENDING", shippingDate=ship_at,
                                estimatedArrivalDate=arrive_at)
        self._set_status(order, "Processing", at)
        self.schedule(order, ship_at)

    def _ship(self, order: dict, at: float) -> None:
        request = order["request"]
        constraints = features.required(request.get("featureConstraints"))
        address = request["destinationAddress"]
        transit = transit_seconds(self._config, request["shippingSpeedCategory"])
        lines = {item["sellerFulfillmentOrderItemId"]: item for item in order["items"]}
        stock = self.stock_of(order)
        if order.pop("forcePartial", False):
            self._hold_back_one_unit(order, at)
        for shipment in order["shipments"]:
            if shipment["status"] != "PENDING":
                continue
            if not shipment["items"]:
                shipment["status"] = "CANCELLED_BY_FULFILLER"
                continue
            fc = shipment["fulfillmentCenterId"]
            package = self._new_package(order, shipment, at, transit)
            package.update(
                signatureRequired="SIGNATURE_CONFIRMATION" in constraints,
                recipient=str(address.get("name") or ""),
                shipTo={"city": str(address.get("city") or "")[:150],
                        "state": str(address.get("stateOrRegion") or "")[:150],
                        "country": str(address.get("countryCode") or "")[:6]})
            package["carrierCode"] = tracking.pick_carrier(order["id"], fc,
                                                           "BLOCK_AMZL" in constraints)
            package["trackingNumber"] = tracking.tracking_number(package["carrierCode"],
                                                                 package["packageNumber"])
            self._store.put("package", str(package["packageNumber"]), package)
            shipment.update(status="SHIPPED", shippingDate=at,
                            estimatedArrivalDate=package["deliveredAt"],
                            packages=[package["packageNumber"]])
            for line in shipment["items"]:
                line["packageNumber"] = package["packageNumber"]
                item = lines[line["sellerFulfillmentOrderItemId"]]
                stock.consume(item["sellerSku"], fc, line["quantity"], at)
                item["reservedByFc"].pop(fc, None)
                item["shipped"] += line["quantity"]
        partial = any(item["shipped"] < item["quantity"] for item in order["items"])
        self._set_status(order, "CompletePartialled" if partial else "Complete", at)
        self.schedule(order, returns.next_event(order))

    def _hold_back_one_unit(self, order: dict, at: float) -> None:
        """The sandbox asked for CompletePartialled: unless something is already short,
        the last unit of the last pending shipment is found unfulfillable at picking."""
        if any(open_units(i) > reserved(i) for i in order["items"]):
            return
        shipment = next(s for s in reversed(order["shipments"]) if s["status"] == "PENDING")
        line = shipment["items"][-1]
        item = next(i for i in order["items"]
                    if i["sellerFulfillmentOrderItemId"] == line["sellerFulfillmentOrderItemId"])
        fc = shipment["fulfillmentCenterId"]
        line["quantity"] -= 1
        if line["quantity"] == 0:
            shipment["items"].pop()
        item["unfulfillableQuantity"] += 1
        item["reservedByFc"][fc] -= 1
        self.stock_of(order).release(item["sellerSku"], {fc: 1}, at)

    def _new_package(self, order: dict, shipment: dict, at: float, transit: float) -> dict:
        number = next_number(self._store, "package")
        fc = shipment["fulfillmentCenterId"]
        return {"packageNumber": number, "orderId": order["id"],
                "amazonShipmentId": shipment["amazonShipmentId"], "fulfillmentCenterId": fc,
                "shippedAt": at, "deliveredAt": at + transit,
                "fcPlace": center(fc).tracking_place()}

    def unfulfillable(self, order: dict, at: float, status: str = "Unfulfillable") -> None:
        release_all(self.stock_of(order), order, at)
        for item in order["items"]:
            item["unfulfillableQuantity"] += max(0, open_units(item))
        self._close_shipments(order, "CANCELLED_BY_FULFILLER")
        order["waitingForStock"] = False
        self._set_status(order, status, at)
        self.schedule(order, None)

    def cancel(self, order: dict, at: float) -> None:
        release_all(self.stock_of(order), order, at)
        for item in order["items"]:
            item["cancelledQuantity"] += max(0, open_units(item))
        self._close_shipments(order, "CANCELLED_BY_SELLER")
        order["waitingForStock"] = False
        self._set_status(order, "Cancelled", at)
        self.schedule(order, None)

    @staticmethod
    def _close_shipments(order: dict, status: str) -> None:
        for shipment in order["shipments"]:
            if shipment["status"] in (None, "PENDING"):
                shipment["status"] = status
