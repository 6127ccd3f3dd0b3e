"""Fulfillment orders and their lifecycle on the simulated clock.

    Received --received_seconds--> Planning --planning_seconds--> Processing
             --processing_seconds--> Complete | CompletePartialled

Stock is reserved at creation and topped up when planning starts. An order still short
then follows its fulfillmentPolicy: FillOrKill -> Unfulfillable (reservations released);
FillAllAvailable -> ships what it holds, cancels the rest; FillAll -> waits in Planning
for stock up to fill_all_wait_seconds, then ships what it holds. Hold orders stay
Received until cancelled (Amazon cancels them after 14 days).

State moves lazily: `advance_to(now)` applies every transition due by `now`, in time
order across all orders (so the order created first plans first), stamping each with
its due time, not the time somebody asked. Callers hold the store's transaction.
"""

from __future__ import annotations

import heapq

from bridge.sim import carriers
from bridge.sim.clock import iso
from bridge.sim.config import SimConfig
from bridge.sim.state import Store
from bridge.sim.stock import StockBook
from bridge.sim.wire import invalid_input

KIND = "order"
CANCELLABLE = ("New", "Received", "Planning")
TERMINAL = ("Cancelled", "Complete", "CompletePartialled", "Unfulfillable", "Invalid")


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
                self._cancel(order, at)
            else:
                self._plan(order, at)
        elif status == "Planning":
            self._finish_planning(order, at)
        elif status == "Processing":
            self._ship(order, at)

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
            "shipment": None,
            "nextEventAt": None,
        }
        for line in request["items"]:
            item = dict(line)
            item["fulfillmentNetworkSku"] = line.get("fulfillmentNetworkSku") or \
                self._stock.get(line["sellerSku"])["fnSku"]
            item.update(reserved=0, shipped=0, cancelledQuantity=0, unfulfillableQuantity=0)
            item["reserved"] = self._stock.reserve(item["sellerSku"], item["quantity"], now)
            order["items"].append(item)
        if order["fulfillmentAction"] == "Hold":
            self._schedule(order, now + self._config.hold_expiry_seconds)
        else:
            self._schedule(order, now + self._config.received_seconds)
        self._store.put(KIND, order_id, order)
        self._store.touch("meta", "counters")
        return order

    def cancel(self, order_id: str, now: float) -> dict:
        order = self.get(order_id)
        if order is None:
            raise LookupError(order_id)
        if order["status"] == "Cancelled":
            return order  # cancelling twice is harmless
        if order["status"] not in CANCELLABLE:
            raise invalid_input(f"The fulfillment order cannot be cancelled because it is in "
                                f"the {order['status']} state.")
        self._cancel(order, now)
        self._store.touch(KIND, order_id)
        return order

    # -- transitions --------------------------------------------------------------------

    def _set_status(self, order: dict, status: str, at: float) -> None:
        order["status"] = status
        order["statusUpdatedAt"] = at

    def _open_units(self, item: dict) -> int:
        return item["quantity"] - item["cancelledQuantity"] - item["unfulfillableQuantity"]

    def _top_up(self, order: dict, at: float) -> bool:
        """Reserve what is still missing; True when every open unit is reserved."""
        complete = True
        for item in order["items"]:
            missing = self._open_units(item) - item["reserved"]
            if missing > 0:
                item["reserved"] += self._stock.reserve(item["sellerSku"], missing, at)
                complete = complete and item["reserved"] == self._open_units(item)
        return complete

    def _release_all(self, order: dict, at: float) -> None:
        for item in order["items"]:
            self._stock.release(item["sellerSku"], item["reserved"], at)
            item["reserved"] = 0

    def _give_up_shortfall(self, order: dict, field: str) -> None:
        """Units that could not be reserved will not ship: count them under `field`."""
        for item in order["items"]:
            short = self._open_units(item) - item["reserved"]
            if short > 0:
                item[field] += short

    def _plan(self, order: dict, at: float) -> None:
        counters = self._counters()
        counters["shipment"] += 1
        self._store.touch("meta", "counters")
        fc_id, _, _ = carriers.fulfillment_center(order["id"])
        order["shipment"] = {"amazonShipmentId": carriers.amazon_shipment_id(counters["shipment"]),
                             "fulfillmentCenterId": fc_id, "status": None, "items": [],
                             "packages": []}
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
        self._set_status(order, "Planning", at)
        self._schedule(order, self._next_planning_check(order, at))

    def _next_planning_check(self, order: dict, at: float) -> float:
        step = at + self._config.planning_seconds
        if order.get("waitingForStock"):
            return min(step, order["receivedAt"] + self._config.fill_all_wait_seconds)
        return step

    def _finish_planning(self, order: dict, at: float) -> None:
        if order.get("waitingForStock"):
            if not self._top_up(order, at):
                if at < order["receivedAt"] + self._config.fill_all_wait_seconds:
                    self._schedule(order, self._next_planning_check(order, at))
                    return
                if not self._any_reserved(order):
                    self._unfulfillable(order, at)
                    return
                self._give_up_shortfall(order, "unfulfillableQuantity")
            order["waitingForStock"] = False
        self._start_processing(order, at)

    def _any_reserved(self, order: dict) -> bool:
        return any(item["reserved"] > 0 for item in order["items"])

    def _start_processing(self, order: dict, at: float) -> None:
        shipment = order["shipment"]
        shipment["status"] = "PENDING"
        shipment["items"] = [{"sellerSku": item["sellerSku"],
                              "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                              "quantity": item["reserved"]}
                             for item in order["items"] if item["reserved"] > 0]
        shipment["shippingDate"] = at + self._config.processing_seconds
        shipment["estimatedArrivalDate"] = shipment["shippingDate"] + self._config.transit_seconds
        self._set_status(order, "Processing", at)
        self._schedule(order, at + self._config.processing_seconds)

    def _ship(self, order: dict, at: float) -> None:
        counters = self._counters()
        counters["package"] += 1
        self._store.touch("meta", "counters")
        number = counters["package"]
        carrier = carriers.carrier_for(order["id"])
        _, fc_city, fc_state = carriers.fulfillment_center(order["id"])
        address = order["request"]["destinationAddress"]
        package = {
            "packageNumber": number,
            "orderId": order["id"],
            "amazonShipmentId": order["shipment"]["amazonShipmentId"],
            "carrierCode": carrier,
            "trackingNumber": carriers.tracking_number(carrier, number),
            "shippedAt": at,
            "deliveredAt": at + self._config.transit_seconds,
            "fcCity": fc_city,
            "fcState": fc_state,
            "shipTo": {"city": str(address.get("city") or "")[:150],
                       "state": str(address.get("stateOrRegion") or "")[:150],
                       "country": str(address.get("countryCode") or "")[:6]},
        }
        self._store.put("package", str(number), package)
        shipment = order["shipment"]
        shipment.update(status="SHIPPED", shippingDate=at,
                        estimatedArrivalDate=package["deliveredAt"], packages=[number])
        for line in shipment["items"]:
            line["packageNumber"] = number
        for item in order["items"]:
            self._stock.consume(item["sellerSku"], item["reserved"], at)
            item["shipped"], item["reserved"] = item["reserved"], 0
        partial = any(item["shipped"] < item["quantity"] for item in order["items"])
        self._set_status(order, "CompletePartialled" if partial else "Complete", at)

    def _unfulfillable(self, order: dict, at: float) -> None:
        self._release_all(order, at)
        for item in order["items"]:
            item["unfulfillableQuantity"] = item["quantity"] - item["cancelledQuantity"]
        order["shipment"] = None
        self._set_status(order, "Unfulfillable", at)
        self._schedule(order, None)

    def _cancel(self, order: dict, at: float) -> None:
        self._release_all(order, at)
        for item in order["items"]:
            item["cancelledQuantity"] = item["quantity"] - item["unfulfillableQuantity"]
        if order.get("shipment"):
            order["shipment"]["status"] = "CANCELLED_BY_SELLER"
            order["shipment"]["items"] = [
                {"sellerSku": item["sellerSku"],
                 "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                 "quantity": item["quantity"]} for item in order["items"]]
        order["waitingForStock"] = False
        self._set_status(order, "Cancelled", at)
        self._schedule(order, None)

    def _counters(self) -> dict:
        counters = self._store.get("meta", "counters")
        if counters is None:
            counters = {"order": 0, "shipment": 0, "package": 0}
            self._store.put("meta", "counters", counters)
        return counters

    # -- views ----------------------------------------------------------------------------

    def estimated_ship_at(self, order: dict) -> float:
        shipment = order.get("shipment") or {}
        if shipment.get("shippingDate"):
            return shipment["shippingDate"]
        c = self._config
        return order["receivedAt"] + c.received_seconds + c.planning_seconds + c.processing_seconds

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
        open_order = order["status"] not in ("Cancelled", "Unfulfillable", "Invalid")
        views = []
        for item in order["items"]:
            view = {"sellerSku": item["sellerSku"],
                    "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                    "quantity": item["quantity"],
                    "fulfillmentNetworkSku": item["fulfillmentNetworkSku"],
                    "orderItemDisposition": "Sellable",
                    "cancelledQuantity": item["cancelledQuantity"],
                    "unfulfillableQuantity": item["unfulfillableQuantity"]}
            if open_order:
                view["estimatedShipDate"] = iso(ship_at)
                view["estimatedArrivalDate"] = iso(ship_at + self._config.transit_seconds)
            for optional in ("giftMessage", "displayableComment", "perUnitPrice", "perUnitTax",
                             "perUnitDeclaredValue"):
                if item.get(optional) is not None:
                    view[optional] = item[optional]
            views.append(view)
        return views

    def shipments_view(self, order: dict) -> list[dict]:
        shipment = order.get("shipment")
        if not shipment or not shipment.get("status"):
            return []
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
        return [view]

    def summary(self, order: dict) -> dict:
        """The admin API's compact view, for tests' and merchants' final checks."""
        packages = [self._store.get("package", str(n))
                    for n in (order.get("shipment") or {}).get("packages", [])]
        return {
            "sellerFulfillmentOrderId": order["id"],
            "status": order["status"],
            "fulfillmentPolicy": order["fulfillmentPolicy"],
            "receivedDate": iso(order["receivedAt"]),
            "statusUpdatedDate": iso(order["statusUpdatedAt"]),
            "items": [{"sellerSku": i["sellerSku"],
                       "sellerFulfillmentOrderItemId": i["sellerFulfillmentOrderItemId"],
                       "quantity": i["quantity"], "reserved": i["reserved"],
                       "shipped": i["shipped"], "cancelledQuantity": i["cancelledQuantity"],
                       "unfulfillableQuantity": i["unfulfillableQuantity"]}
                      for i in order["items"]],
            "packages": [{"packageNumber": p["packageNumber"], "carrierCode": p["carrierCode"],
                          "trackingNumber": p["trackingNumber"]} for p in packages if p],
        }
