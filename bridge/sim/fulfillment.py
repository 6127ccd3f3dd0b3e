"""Fulfillment orders and their lifecycle on the simulated clock.

    Received --received_seconds--> Planning --planning_seconds--> Processing
             --processing_seconds--> Complete | CompletePartialled

Stock is reserved at creation, per fulfillment center, as few centers as possible; what
is missing is topped up when planning starts. An order still short then follows its
fulfillmentPolicy: FillOrKill -> Unfulfillable (reservations released);
FillAllAvailable -> ships what it holds, cancels the rest; FillAll -> waits in Planning
for stock up to fill_all_wait_seconds, then ships what it holds. One shipment leaves each
center the order's stock sits in, one package per shipment.

fulfillmentAction Hold keeps an order Received (stock reserved) until updateFulfillment-
Order asks for Ship; Amazon cancels a held order after 14 days. After shipping, customer
returns (returns.py) are processed on the same schedule.

State moves lazily: `advance_to(now)` applies every transition due by `now`, in time
order across all orders (so the order created first plans first), stamping each with
its due time, not the time somebody asked. Callers hold the store's transaction.
"""

from __future__ import annotations

import heapq

from bridge.sim import carriers, features, returns, tracking
from bridge.sim.clock import iso
from bridge.sim.config import SimConfig
from bridge.sim.fulfillment_centers import center
from bridge.sim.outbound_input import MAX_UNITS
from bridge.sim.state import Store
from bridge.sim.stock import StockBook, plan_allocation
from bridge.sim.wire import invalid_input

KIND = "order"
CANCELLABLE = ("New", "Received", "Planning")
TERMINAL = ("Cancelled", "Complete", "CompletePartialled", "Unfulfillable", "Invalid")
CLOSED_ORDER = ("Cancelled", "Unfulfillable", "Invalid")
# How far along the normal path each status is (for the sandbox's forced updates).
_PROGRESS = {"New": 0, "Received": 0, "Planning": 1, "Processing": 2, "Complete": 3,
             "CompletePartialled": 3}
# Faster services travel faster: transit time relative to Standard.
_TRANSIT_FACTOR = {"Standard": 1.0, "Expedited": 0.5, "Priority": 0.25,
                   "ScheduledDelivery": 0.5}
_ITEM_OPTIONAL = ("giftMessage", "displayableComment", "perUnitPrice", "perUnitTax",
                  "perUnitDeclaredValue")


def transit_seconds(config: SimConfig, speed: str) -> float:
    return config.transit_seconds * _TRANSIT_FACTOR.get(speed, 1.0)


def reserved(item: dict) -> int:
    return sum(item["reservedByFc"].values())


def open_units(item: dict) -> int:
    """Units still meant to ship: not shipped, cancelled or given up."""
    return item["quantity"] - item["shipped"] - item["cancelledQuantity"] - \
        item["unfulfillableQuantity"]


class Fulfillment:
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

    def _schedule(self, order: dict, at: float | None) -> None:
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
                self._cancel(order, at)  # 14 days on hold: Amazon cancels it
            else:
                self._plan(order, at)
        elif status == "Planning":
            self._finish_planning(order, at)
        elif status == "Processing":
            self._ship(order, at)
        else:
            returns.advance(order, at, self._stock)
            self._schedule(order, returns.next_event(order))

    # -- commands -----------------------------------------------------------------------

    def get(self, order_id: str) -> dict | None:
        return self._store.get(KIND, order_id)

    def all(self) -> list[dict]:
        return sorted(self._store.all(KIND), key=lambda o: o["seq"])

    def create(self, request: dict, now: float) -> dict:
        """Accept a validated createFulfillmentOrder request body."""
        order_id = request["sellerFulfillmentOrderId"]
        if self.get(order_id) is not None:
            raise invalid_input(f"A fulfillment order with sellerFulfillmentOrderId {order_id} "
                                "already exists.")
        for item in request["items"]:
            if self._stock.get(item["sellerSku"]) is None:
                raise invalid_input(f"The SellerSKU for Item Id: "
                                    f"{item['sellerFulfillmentOrderItemId']} is invalid.")
        counters = self._counters()
        counters["order"] += 1
        order = {
            "id": order_id,
            "seq": counters["order"],
            "request": {k: v for k, v in request.items() if k != "items"},
            "fulfillmentAction": request.get("fulfillmentAction") or "Ship",
            "fulfillmentPolicy": request.get("fulfillmentPolicy") or "FillOrKill",
            "status": "Received",
            "receivedAt": now,
            "statusUpdatedAt": now,
            "items": [],
            "shipments": [],
            "returnItems": [],
            "returnAuthorizations": [],
            "trackingOutcome": "DELIVERED",
            "nextEventAt": None,
        }
        for line in request["items"]:
            item = dict(line)
            item["fulfillmentNetworkSku"] = line.get("fulfillmentNetworkSku") or \
                self._stock.get(line["sellerSku"])["fnSku"]
            item.update(reservedByFc={}, shipped=0, cancelledQuantity=0, unfulfillableQuantity=0)
            order["items"].append(item)
        self._top_up(order, now)
        if order["fulfillmentAction"] == "Hold":
            self._schedule(order, now + self._config.hold_expiry_seconds)
        else:
            self._schedule(order, now + self._config.received_seconds)
        self._store.put(KIND, order_id, order)
        self._store.touch("meta", "counters")
        return order

    def cancel(self, order_id: str, now: float) -> dict:
        order = self._existing(order_id)
        if order["status"] == "Cancelled":
            return order  # cancelling twice is harmless
        if order["status"] not in CANCELLABLE:
            raise invalid_input(f"The fulfillment order cannot be cancelled because it is in "
                                f"the {order['status']} state.")
        self._cancel(order, now)
        self._store.touch(KIND, order_id)
        return order

    def update(self, order_id: str, changes: dict, now: float) -> dict:
        """Apply a validated updateFulfillmentOrder body (see outbound_input). Only orders
        nothing has been picked for yet (Received, Planning) can change; Hold -> Ship
        releases a held order into the normal lifecycle."""
        order = self._existing(order_id)
        if order["status"] not in CANCELLABLE:
            raise invalid_input(f"The fulfillment order cannot be updated because it is in "
                                f"the {order['status']} state.")
        action = changes.get("fulfillmentAction")
        if action == "Hold" and order["fulfillmentAction"] != "Hold":
            raise invalid_input("Value Hold for parameter fulfillmentAction is invalid: an "
                                "order hold can only be placed when the order is created.")
        lines = {item["sellerFulfillmentOrderItemId"]: item for item in order["items"]}
        for index, change in enumerate(changes.get("items") or []):
            item = lines.get(change["sellerFulfillmentOrderItemId"])
            if item is None:
                raise invalid_input(f"Value for parameter items[{index}]."
                                    "sellerFulfillmentOrderItemId is invalid: the order has no "
                                    "such item.")
            if change.get("sellerSku") not in (None, item["sellerSku"]):
                raise invalid_input(f"Value for parameter items[{index}].sellerSku is invalid: "
                                    "it does not match the order item.")
        quantities = {key: item["quantity"] for key, item in lines.items()}
        quantities.update({c["sellerFulfillmentOrderItemId"]: c["quantity"]
                           for c in changes.get("items") or []})
        if sum(quantities.values()) > MAX_UNITS:
            raise invalid_input(f"Value for parameter items is invalid: at most {MAX_UNITS} "
                                "units are allowed per order.")
        for key, quantity in quantities.items():
            done = lines[key]["shipped"]
            if quantity < done:
                raise invalid_input(f"Value for parameter quantity of item {key} is invalid: "
                                    f"{done} units have already shipped.")

        # Everything is valid: apply.
        request = order["request"]
        for field in ("displayableOrderId", "displayableOrderDate", "displayableOrderComment",
                      "shippingSpeedCategory", "destinationAddress", "shipFromCountryCode",
                      "notificationEmails"):
            if field in changes:
                request[field] = changes[field]
        if "fulfillmentPolicy" in changes:
            order["fulfillmentPolicy"] = changes["fulfillmentPolicy"]
        for change in changes.get("items") or []:
            item = lines[change["sellerFulfillmentOrderItemId"]]
            item["quantity"] = change["quantity"]
            for optional in _ITEM_OPTIONAL:
                if optional in change:
                    item[optional] = change[optional]
            self._release_excess(item, now)
        # More units are reserved now; whether they suffice is decided when planning
        # starts or ends, by the order's policy.
        self._top_up(order, now)
        if order["status"] == "Planning":
            self._plan_shipments(order)
        if action == "Ship" and order["fulfillmentAction"] == "Hold":
            order["fulfillmentAction"] = "Ship"
            order["releasedAt"] = now
            self._schedule(order, now + self._config.received_seconds)
        self._store.touch(KIND, order_id)
        return order

    def force_status(self, order_id: str, target: str, now: float) -> dict:
        """The sandbox's submitFulfillmentOrderStatusUpdate: move an order to `target` now.
        Forward along the normal path runs each step at once (a held order is released);
        Cancelled, Unfulfillable and Invalid end it from any open status."""
        order = self._existing(order_id)
        status = order["status"]
        if status in TERMINAL:
            raise invalid_input(f"The fulfillment order is already {status}; its status can "
                                "no longer change.")
        if target == "Cancelled":
            self._cancel(order, now)
        elif target in ("Unfulfillable", "Invalid"):
            self._unfulfillable(order, now, status=target)
        elif target == "New" or _PROGRESS[target] < _PROGRESS[status]:
            raise invalid_input(f"The fulfillment order cannot go back from {status} to "
                                f"{target}.")
        elif _PROGRESS[target] > _PROGRESS[status]:
            if target == "CompletePartialled" and sum(open_units(i) for i in order["items"]) < 2:
                raise invalid_input("An order of one unit cannot be partially completed.")
            order["fulfillmentAction"] = "Ship"
            order["forcePartial"] = target == "CompletePartialled"
            while order["status"] not in TERMINAL and \
                    _PROGRESS[order["status"]] < _PROGRESS[target]:
                self._step_now(order, now)
        self._store.touch(KIND, order_id)
        return order

    def _step_now(self, order: dict, at: float) -> None:
        status = order["status"]
        if status == "Received":
            self._plan(order, at)
        elif status == "Planning":
            self._top_up(order, at)
            self._give_up_or_fail(order, at)
            if order["status"] == "Planning":
                order["waitingForStock"] = False
                self._start_processing(order, at)
        else:
            self._ship(order, at)

    def set_tracking_outcome(self, order_id: str, outcome: str) -> dict:
        if outcome not in tracking.OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(tracking.OUTCOMES)}")
        order = self._existing(order_id)
        order["trackingOutcome"] = outcome
        self._store.touch(KIND, order_id)
        return order

    def add_returns(self, order: dict, accepted: list[dict], authorizations: list[dict]) -> None:
        order["returnItems"].extend(accepted)
        order["returnAuthorizations"].extend(authorizations)
        if accepted:  # only shipped orders take returns: nothing else is scheduled for them
            self._schedule(order, returns.next_event(order))
        self._store.touch(KIND, order["id"])

    def _existing(self, order_id: str) -> dict:
        order = self.get(order_id)
        if order is None:
            raise LookupError(order_id)
        return order

    # -- stock --------------------------------------------------------------------------

    def _top_up(self, order: dict, at: float) -> bool:
        """Reserve what is still missing, preferring centers the order already uses;
        True when every open unit is reserved."""
        items = order["items"]
        skus = {item["sellerSku"] for item in items}
        available = self._stock.available_by_center(skus)
        centers = {fc for per_fc in available.values() for fc in per_fc}
        allowed = features.allowed_centers(order["request"].get("featureConstraints"), centers)
        used = tuple(sorted({fc for item in items for fc in item["reservedByFc"]}))
        needs = [(item["sellerSku"], max(0, open_units(item) - reserved(item))) for item in items]
        for item, plan in zip(items, plan_allocation(available, needs, allowed, used), strict=True):
            for fc, units in plan.items():
                taken = self._stock.reserve_at(item["sellerSku"], fc, units, at)
                if taken:
                    item["reservedByFc"][fc] = item["reservedByFc"].get(fc, 0) + taken
        return all(reserved(item) >= open_units(item) for item in items)

    def _release_excess(self, item: dict, at: float) -> None:
        """After a quantity went down: give back reserved units beyond what is open."""
        excess = reserved(item) - max(0, open_units(item))
        for fc in sorted(item["reservedByFc"], reverse=True):
            if excess <= 0:
                break
            back = min(excess, item["reservedByFc"][fc])
            self._stock.release(item["sellerSku"], {fc: back}, at)
            item["reservedByFc"][fc] -= back
            excess -= back
        item["reservedByFc"] = {fc: n for fc, n in item["reservedByFc"].items() if n > 0}

    def _release_all(self, order: dict, at: float) -> None:
        for item in order["items"]:
            self._stock.release(item["sellerSku"], item["reservedByFc"], at)
            item["reservedByFc"] = {}

    def _give_up_shortfall(self, order: dict, field: str) -> None:
        """Units that could not be reserved will not ship: count them under `field`."""
        for item in order["items"]:
            short = open_units(item) - reserved(item)
            if short > 0:
                item[field] += short

    def _any_reserved(self, order: dict) -> bool:
        return any(reserved(item) > 0 for item in order["items"])

    # -- transitions --------------------------------------------------------------------

    def _set_status(self, order: dict, status: str, at: float) -> None:
        order["status"] = status
        order["statusUpdatedAt"] = at

    def _plan(self, order: dict, at: float) -> None:
        fully_reserved = self._top_up(order, at)
        policy = order["fulfillmentPolicy"]
        if not fully_reserved and policy == "FillOrKill":
            self._unfulfillable(order, at)
            return
        if not fully_reserved and policy == "FillAllAvailable":
            if not self._any_reserved(order):
                self._unfulfillable(order, at)
                return
            self._give_up_shortfall(order, "cancelledQuantity")
        order["waitingForStock"] = not fully_reserved and policy == "FillAll"
        self._plan_shipments(order)
        self._set_status(order, "Planning", at)
        self._schedule(order, self._next_planning_check(order, at))

    def _plan_shipments(self, order: dict) -> None:
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
        counters = self._counters()
        counters["shipment"] += 1
        self._store.touch("meta", "counters")
        return {"amazonShipmentId": carriers.amazon_shipment_id(counters["shipment"]),
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
        if not self._top_up(order, at):
            policy = order["fulfillmentPolicy"]
            start = order.get("releasedAt") or order["receivedAt"]
            if policy == "FillAll" and at < start + self._config.fill_all_wait_seconds:
                order["waitingForStock"] = True
                self._plan_shipments(order)
                self._schedule(order, self._next_planning_check(order, at))
                return
            if policy == "FillOrKill":
                self._unfulfillable(order, at)
                return
            if policy == "FillAllAvailable" and self._any_reserved(order):
                self._give_up_shortfall(order, "cancelledQuantity")
            else:
                self._give_up_or_fail(order, at)
            if order["status"] != "Planning":
                return
        order["waitingForStock"] = False
        self._start_processing(order, at)

    def _give_up_or_fail(self, order: dict, at: float) -> None:
        """Stock did not come: ship what is held (the rest unfulfillable), or nothing."""
        if not self._any_reserved(order):
            self._unfulfillable(order, at)
            return
        self._give_up_shortfall(order, "unfulfillableQuantity")

    def _start_processing(self, order: dict, at: float) -> None:
        self._plan_shipments(order)
        ship_at = at + self._config.processing_seconds
        arrive_at = ship_at + transit_seconds(self._config,
                                              order["request"]["shippingSpeedCategory"])
        for shipment in order["shipments"]:
            if shipment["status"] is None:
                shipment.update(status="PENDING", shippingDate=ship_at,
                                estimatedArrivalDate=arrive_at)
        self._set_status(order, "Processing", at)
        self._schedule(order, ship_at)

    def _ship(self, order: dict, at: float) -> None:
        request = order["request"]
        constraints = features.required(request.get("featureConstraints"))
        address = request["destinationAddress"]
        transit = transit_seconds(self._config, request["shippingSpeedCategory"])
        lines = {item["sellerFulfillmentOrderItemId"]: item for item in order["items"]}
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
                self._stock.consume(item["sellerSku"], fc, line["quantity"], at)
                item["reservedByFc"].pop(fc, None)
                item["shipped"] += line["quantity"]
        partial = any(item["shipped"] < item["quantity"] for item in order["items"])
        self._set_status(order, "CompletePartialled" if partial else "Complete", at)
        self._schedule(order, returns.next_event(order))

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
        self._stock.release(item["sellerSku"], {fc: 1}, at)

    def _new_package(self, order: dict, shipment: dict, at: float, transit: float) -> dict:
        counters = self._counters()
        counters["package"] += 1
        self._store.touch("meta", "counters")
        fc = shipment["fulfillmentCenterId"]
        return {"packageNumber": counters["package"], "orderId": order["id"],
                "amazonShipmentId": shipment["amazonShipmentId"], "fulfillmentCenterId": fc,
                "shippedAt": at, "deliveredAt": at + transit,
                "fcPlace": center(fc).tracking_place()}

    def _unfulfillable(self, order: dict, at: float, status: str = "Unfulfillable") -> None:
        self._release_all(order, at)
        for item in order["items"]:
            item["unfulfillableQuantity"] += max(0, open_units(item))
        self._close_shipments(order, "CANCELLED_BY_FULFILLER")
        order["waitingForStock"] = False
        self._set_status(order, status, at)
        self._schedule(order, None)

    def _cancel(self, order: dict, at: float) -> None:
        self._release_all(order, at)
        for item in order["items"]:
            item["cancelledQuantity"] += max(0, open_units(item))
        self._close_shipments(order, "CANCELLED_BY_SELLER")
        order["waitingForStock"] = False
        self._set_status(order, "Cancelled", at)
        self._schedule(order, None)

    @staticmethod
    def _close_shipments(order: dict, status: str) -> None:
        for shipment in order["shipments"]:
            if shipment["status"] in (None, "PENDING"):
                shipment["status"] = status

    def _counters(self) -> dict:
        counters = self._store.get("meta", "counters")
        if counters is None:
            counters = {"order": 0, "shipment": 0, "package": 0}
            self._store.put("meta", "counters", counters)
        counters.setdefault("returnAuthorization", 0)
        return counters

    def next_return_authorization(self) -> int:
        counters = self._counters()
        counters["returnAuthorization"] += 1
        self._store.touch("meta", "counters")
        return counters["returnAuthorization"]

    # -- views ----------------------------------------------------------------------------

    def estimated_ship_at(self, order: dict) -> float:
        dates = [s["shippingDate"] for s in order["shipments"]
                 if s["status"] in ("PENDING", "SHIPPED")]
        if dates:
            return max(dates)
        c = self._config
        start = order.get("releasedAt") or order["receivedAt"]
        return start + c.received_seconds + c.planning_seconds + c.processing_seconds

    def order_view(self, order: dict) -> dict:
        """FulfillmentOrder, per the model."""
        request = order["request"]
        view = {
            "sellerFulfillmentOrderId": order["id"],
            "marketplaceId": request.get("marketplaceId") or self._config.marketplace_id,
            "displayableOrderId": request["displayableOrderId"],
            "displayableOrderDate": request["displayableOrderDate"],
            "displayableOrderComment": request["displayableOrderComment"],
            "shippingSpeedCategory": request["shippingSpeedCategory"],
            "destinationAddress": request["destinationAddress"],
            "fulfillmentAction": order["fulfillmentAction"],
            "fulfillmentPolicy": order["fulfillmentPolicy"],
            "receivedDate": iso(order["receivedAt"]),
            "fulfillmentOrderStatus": order["status"],
            "statusUpdatedDate": iso(order["statusUpdatedAt"]),
        }
        for optional in ("deliveryWindow", "codSettings", "notificationEmails",
                         "featureConstraints"):
            if request.get(optional) is not None:
                view[optional] = request[optional]
        return view

    def items_view(self, order: dict) -> list[dict]:
        ship_at = self.estimated_ship_at(order)
        transit = transit_seconds(self._config, order["request"]["shippingSpeedCategory"])
        views = []
        for item in order["items"]:
            view = {"sellerSku": item["sellerSku"],
                    "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                    "quantity": item["quantity"],
                    "fulfillmentNetworkSku": item["fulfillmentNetworkSku"],
                    "orderItemDisposition": "Sellable",
                    "cancelledQuantity": item["cancelledQuantity"],
                    "unfulfillableQuantity": item["unfulfillableQuantity"]}
            if order["status"] not in CLOSED_ORDER:
                view["estimatedShipDate"] = iso(ship_at)
                view["estimatedArrivalDate"] = iso(ship_at + transit)
            for optional in _ITEM_OPTIONAL:
                if item.get(optional) is not None:
                    view[optional] = item[optional]
            views.append(view)
        return views

    def shipments_view(self, order: dict) -> list[dict]:
        views = []
        for shipment in order["shipments"]:
            if shipment["status"] is None:
                continue  # planned, not yet announced
            view = {"amazonShipmentId": shipment["amazonShipmentId"],
                    "fulfillmentCenterId": shipment["fulfillmentCenterId"],
                    "fulfillmentShipmentStatus": shipment["status"],
                    "fulfillmentShipmentItem": [dict(line) for line in shipment["items"]]}
            if shipment["status"] in ("PENDING", "SHIPPED"):
                view["shippingDate"] = iso(shipment["shippingDate"])
                view["estimatedArrivalDate"] = iso(shipment["estimatedArrivalDate"])
            packages = [self._store.get("package", str(n)) for n in shipment["packages"]]
            if packages:
                view["fulfillmentShipmentPackage"] = [
                    {"packageNumber": p["packageNumber"], "carrierCode": p["carrierCode"],
                     "trackingNumber": p["trackingNumber"],
                     "estimatedArrivalDate": iso(p["deliveredAt"])} for p in packages if p]
            views.append(view)
        return views

    def summary(self, order: dict) -> dict:
        """The admin API's compact view, for tests' and merchants' final checks."""
        packages = [self._store.get("package", str(n))
                    for s in order["shipments"] for n in s["packages"]]
        return {
            "sellerFulfillmentOrderId": order["id"],
            "status": order["status"],
            "fulfillmentAction": order["fulfillmentAction"],
            "fulfillmentPolicy": order["fulfillmentPolicy"],
            "receivedDate": iso(order["receivedAt"]),
            "statusUpdatedDate": iso(order["statusUpdatedAt"]),
            "trackingOutcome": order["trackingOutcome"],
            "items": [{"sellerSku": i["sellerSku"],
                       "sellerFulfillmentOrderItemId": i["sellerFulfillmentOrderItemId"],
                       "quantity": i["quantity"], "reserved": reserved(i),
                       "reservedByFulfillmentCenter": dict(i["reservedByFc"]),
                       "shipped": i["shipped"], "cancelledQuantity": i["cancelledQuantity"],
                       "unfulfillableQuantity": i["unfulfillableQuantity"]}
                      for i in order["items"]],
            "shipments": [{"amazonShipmentId": s["amazonShipmentId"],
                           "fulfillmentCenterId": s["fulfillmentCenterId"],
                           "status": s["status"]} for s in order["shipments"]
                          if s["status"] is not None],
            "packages": [{"packageNumber": p["packageNumber"], "carrierCode": p["carrierCode"],
                          "trackingNumber": p["trackingNumber"],
                          "fulfillmentCenterId": p["fulfillmentCenterId"]}
                         for p in packages if p],
            "returnItems": len(order["returnItems"]),
        }
