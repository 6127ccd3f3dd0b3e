"""Fulfillment orders: what the outbound API asks of them (create, update, cancel, the
sandbox's forced status, tracking outcomes, returns). Stock is reserved at creation, from
the order's marketplace's stock (the request's marketplaceId, else the simulator's own), per
fulfillment center, as few centers as possible (reservations.py); an order the stock
cannot cover for its policy is Invalid at once (validation); fulfillmentAction Hold
keeps an order Received with its stock reserved until an update asks for Ship. The
statuses an order moves through on the clock are lifecycle.py's; the wire views are
order_views.py's. Callers hold the store's transaction."""

from __future__ import annotations

from bridge.sim.config import SimConfig
from bridge.sim.inventory.stock import StockBook
from bridge.sim.outbound import returns, tracking
from bridge.sim.outbound.counters import next_number
from bridge.sim.outbound.lifecycle import (
    CANCELLABLE,
    KIND,
    PROGRESS,
    TERMINAL,
    OrderLifecycle,
    marketplace_of,
)
from bridge.sim.outbound.order_views import ITEM_OPTIONAL
from bridge.sim.outbound.reservations import any_reserved, open_units, release_excess, top_up
from bridge.sim.outbound.validation import MAX_UNITS
from bridge.sim.state import Store
from bridge.sim.wire import invalid_input

# Request fields an update may change.
_UPDATABLE = ("displayableOrderId", "displayableOrderDate", "displayableOrderComment",
              "shippingSpeedCategory", "destinationAddress", "shipFromCountryCode",
              "notificationEmails")


class Fulfillment:
    def __init__(self, store: Store, stock: StockBook, config: SimConfig) -> None:
        self._store = store
        self._stock = stock
        self._config = config
        self._lifecycle = OrderLifecycle(store, stock, config)

    def rebuild(self) -> None:
        """Recompute the schedule from stored orders (after start-up or reset)."""
        self._lifecycle.rebuild()

    def advance_to(self, now: float) -> None:
        self._lifecycle.advance_to(now)

    # -- reads --------------------------------------------------------------------------

    def get(self, order_id: str) -> dict | None:
        return self._store.get(KIND, order_id)

    def all(self) -> list[dict]:
        return sorted(self._store.all(KIND), key=lambda o: o["seq"])

    def _existing(self, order_id: str) -> dict:
        order = self.get(order_id)
        if order is None:
            raise LookupError(order_id)
        return order

    # -- commands -----------------------------------------------------------------------

    def create(self, request: dict, now: float) -> dict:
        """Accept a validated createFulfillmentOrder request body."""
        order_id = request["sellerFulfillmentOrderId"]
        if self.get(order_id) is not None:
            raise invalid_input(f"A fulfillment order with sellerFulfillmentOrderId {order_id} "
                                "already exists.")
        marketplace_id = request.get("marketplaceId") or self._config.marketplace_id
        stock = self._stock.at(marketplace_id)
        for item in request["items"]:
            if stock.get(item["sellerSku"]) is None:
                raise invalid_input(f"The SellerSKU for Item Id: "
                                    f"{item['sellerFulfillmentOrderItemId']} is invalid.")
        order = {
            "id": order_id,
            "seq": next_number(self._store, "order"),
            "marketplaceId": marketplace_id,
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
            fnsku = line.get("fulfillmentNetworkSku")
            if not fnsku:
                known = stock.get(line["sellerSku"])
                assert known is not None, line["sellerSku"]  # unknown SKUs were refused above
                fnsku = known["fnSku"]
            item["fulfillmentNetworkSku"] = fnsku
            item.update(reservedByFc={}, shipped=0, cancelledQuantity=0, unfulfillableQuantity=0)
            order["items"].append(item)
        fully_reserved = top_up(stock, order, now)
        if not fully_reserved and self._config.invalid_when_short and \
                short_for_policy(order):
            # Validation found too little sellable stock: the order exists, Invalid, and
            # nothing of it ships (its reservations go back on the shelf).
            self._lifecycle.unfulfillable(order, now, status="Invalid")
        elif order["fulfillmentAction"] == "Hold":
            self._lifecycle.schedule(order, now + self._config.hold_expiry_seconds)
        else:
            self._lifecycle.schedule(order, now + self._config.received_seconds)
        self._store.put(KIND, order_id, order)
        return order

    def cancel(self, order_id: str, now: float) -> dict:
        order = self._existing(order_id)
        if order["status"] == "Cancelled":
            return order  # cancelling twice is harmless
        if order["status"] not in CANCELLABLE:
            raise invalid_input(f"The fulfillment order cannot be cancelled because it is in "
                                f"the {order['status']} state.")
        self._lifecycle.cancel(order, now)
        self._store.touch(KIND, order_id)
        return order

    def update(self, order_id: str, changes: dict, now: float) -> dict:
        """Apply a validated updateFulfillmentOrder body (see validation.py). Only orders
        nothing has been picked for yet (Received, Planning) can change; Hold -> Ship
        releases a held order into the normal lifecycle."""
        order = self._existing(order_id)
        _check_update(order, changes)
        action = changes.get("fulfillmentAction")
        lines = {item["sellerFulfillmentOrderItemId"]: item for item in order["items"]}
        request = order["request"]
        stock = self._lifecycle.stock_of(order)
        for field in _UPDATABLE:
            if field in changes:
                request[field] = changes[field]
        if "fulfillmentPolicy" in changes:
            order["fulfillmentPolicy"] = changes["fulfillmentPolicy"]
        for change in changes.get("items") or []:
            item = lines[change["sellerFulfillmentOrderItemId"]]
            item["quantity"] = change["quantity"]
            for optional in ITEM_OPTIONAL:
                if optional in change:
                    item[optional] = change[optional]
            release_excess(stock, item, now)
        # More units are reserved now; whether they suffice is decided when planning
        # starts or ends, by the order's policy.
        top_up(stock, order, now)
        if order["status"] == "Planning":
            self._lifecycle.plan_shipments(order)
        if action == "Ship" and order["fulfillmentAction"] == "Hold":
            order["fulfillmentAction"] = "Ship"
            order["releasedAt"] = now
            self._lifecycle.schedule(order, now + self._config.received_seconds)
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
            self._lifecycle.cancel(order, now)
        elif target in ("Unfulfillable", "Invalid"):
            self._lifecycle.unfulfillable(order, now, status=target)
        elif target == "New" or PROGRESS[target] < PROGRESS[status]:
            raise invalid_input(f"The fulfillment order cannot go back from {status} to "
                                f"{target}.")
        elif PROGRESS[target] > PROGRESS[status]:
            if target == "CompletePartialled" and sum(open_units(i) for i in order["items"]) < 2:
                raise invalid_input("An order of one unit cannot be partially completed.")
            order["fulfillmentAction"] = "Ship"
            order["forcePartial"] = target == "CompletePartialled"
            while order["status"] not in TERMINAL and \
                    PROGRESS[order["status"]] < PROGRESS[target]:
                self._lifecycle.step_now(order, now)
        self._store.touch(KIND, order_id)
        return order

    def lose_stock(self, sku: str, quantity: int, now: float, fc: str | None = None,
                   marketplace_id: str | None = None) -> int:
        """Units of `sku` found missing in a center (without one: center by center, in id
        order) of one marketplace's stock (the simulator's own when None), after orders
        were accepted: off the shelf first, then out of what open
        orders nothing has been picked for hold, newest order first. An order left short
        follows its policy when planning starts or ends, as at Amazon (FillOrKill:
        Unfulfillable). How many units were lost."""
        stock = self._stock.at(marketplace_id)
        item = stock.get(sku)
        if item is None:
            raise LookupError(sku)
        open_orders = [o for o in reversed(self.all()) if o["status"] in ("Received", "Planning")
                       and marketplace_of(o, self._config) == stock.marketplace_id]
        lost = 0
        for center in [fc] if fc else sorted(item["fcs"]):
            wanted = quantity - lost
            shelf = item["fcs"].get(center, {}).get("fulfillable", 0)
            for order in open_orders:
                for line in order["items"]:
                    held = line["reservedByFc"].get(center, 0) if line["sellerSku"] == sku else 0
                    back = min(held, wanted - shelf)
                    if back > 0:
                        stock.release(sku, {center: back}, now)
                        line["reservedByFc"][center] = held - back
                        if not line["reservedByFc"][center]:
                            del line["reservedByFc"][center]
                        shelf += back
                        if order["status"] == "Planning":
                            self._lifecycle.plan_shipments(order)
                        self._store.touch(KIND, order["id"])
            lost += stock.lose(sku, center, wanted, now)
            if lost >= quantity:
                break
        return lost

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
            self._lifecycle.schedule(order, returns.next_event(order))
        self._store.touch(KIND, order["id"])

    def next_return_authorization(self) -> int:
        return next_number(self._store, "returnAuthorization")


def short_for_policy(order: dict) -> bool:
    """Whether the stock reserved at create is too little for the order's policy, as
    validation judges it: FillOrKill needs every unit, FillAllAvailable at least one (it
    ships what there is); FillAll is accepted either way, since the model has it wait up
    to 24 hours for stock."""
    policy = order["fulfillmentPolicy"]
    if policy == "FillOrKill":
        return True
    if policy == "FillAllAvailable":
        return not any_reserved(order)
    return False


def _check_update(order: dict, changes: dict) -> None:
    """Everything an update is refused for, before anything changes."""
    if order["status"] not in CANCELLABLE:
        raise invalid_input(f"The fulfillment order cannot be updated because it is in "
                            f"the {order['status']} state.")
    if changes.get("fulfillmentAction") == "Hold" and order["fulfillmentAction"] != "Hold":
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
