"""Fulfillment Outbound API v2020-07-01 (/fba/outbound/2020-07-01): fulfillment orders
(create, get, list, update, cancel, and the sandbox's status update) and package
tracking. Previews and delivery offers, returns and features live in their own modules;
OPERATIONS lists them all. Handlers run inside the store's transaction, after the
network has been brought up to the current simulated time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.sim.marketplaces import Marketplace, check_serves, resolve
from bridge.sim.operations import Operation
from bridge.sim.outbound import features, order_views, previews, returns, tracking
from bridge.sim.outbound.validation import (
    check_against_model,
    parse_create_request,
    parse_update_request,
    seller_fulfillment_order_id,
)
from bridge.sim.wire import Call, Reply, decode_token, encode_token, invalid_input, not_found

if TYPE_CHECKING:
    from bridge.sim.simulator import Simulator


def _check_destination(sim: Simulator, request: dict, market: Marketplace) -> None:
    """What needs the marketplace: a destination its network serves, ScheduledDelivery
    (Japan only) and the features."""
    country = request["destinationAddress"]["countryCode"].strip().upper()
    check_serves(market, country)
    if request.get("shippingSpeedCategory") == "ScheduledDelivery" and \
            "JP" not in (market.country, country):
        raise invalid_input("Value ScheduledDelivery for parameter shippingSpeedCategory is "
                            "invalid: it is only available in the JP marketplace.")
    features.check_constraints(sim, request.get("featureConstraints"), market, country)


def create_fulfillment_order(sim: Simulator, call: Call) -> Reply:
    request = parse_create_request(call.json_body(), sim.now())
    market = resolve(request.get("marketplaceId"), sim.config.marketplace_id)
    _check_destination(sim, request, market)
    sim.fulfillment.create(request, sim.now())
    return Reply(200, {})


def update_fulfillment_order(sim: Simulator, call: Call) -> Reply:
    """Change an order nothing has been picked for yet; fulfillmentAction Ship releases
    a held order. featureConstraints and marketplaceId are fixed at create."""
    order = _order_or_404(sim, call)
    changes = parse_update_request(call.json_body())
    request = order["request"]
    market = resolve(request.get("marketplaceId"), sim.config.marketplace_id)
    if changes.get("marketplaceId") not in (None, market.marketplace_id):
        raise invalid_input("Value for parameter marketplaceId is invalid: it cannot change "
                            "after the order is created.")
    if "featureConstraints" in changes and \
            changes["featureConstraints"] != (request.get("featureConstraints") or []):
        raise invalid_input("Value for parameter featureConstraints is invalid: feature "
                            "constraints cannot change after the order is created.")
    merged = {**request, **changes}
    _check_destination(sim, merged, market)
    sim.fulfillment.update(order["id"], changes, sim.now())
    return Reply(200, {})


def submit_fulfillment_order_status_update(sim: Simulator, call: Call) -> Reply:
    """Sandbox-only in Amazon's service: move an order to a status now."""
    order = _order_or_404(sim, call)
    body = call.json_body()
    check_against_model(body, "SubmitFulfillmentOrderStatusUpdateRequest")
    target = body.get("fulfillmentOrderStatus")
    if target is None:
        raise invalid_input("Missing required parameter: fulfillmentOrderStatus.")
    sim.fulfillment.force_status(order["id"], target, sim.now())
    return Reply(200, {})


def _order_or_404(sim: Simulator, call: Call) -> dict:
    order_id = seller_fulfillment_order_id(call.path_params["sellerFulfillmentOrderId"])
    order = sim.fulfillment.get(order_id)
    if order is None:
        raise not_found(f"The fulfillment order {order_id} was not found.")
    return order


def get_fulfillment_order(sim: Simulator, call: Call) -> Reply:
    order = _order_or_404(sim, call)
    return Reply(200, {"payload": {
        "fulfillmentOrder": order_views.order_view(order, sim.config),
        "fulfillmentOrderItems": order_views.items_view(order, sim.config),
        "fulfillmentShipments": order_views.shipments_view(order, sim.store),
        "returnItems": [returns.item_view(i) for i in order["returnItems"]],
        "returnAuthorizations": [returns.authorization_view(a)
                                 for a in order["returnAuthorizations"]],
    }})


def cancel_fulfillment_order(sim: Simulator, call: Call) -> Reply:
    order = _order_or_404(sim, call)
    sim.fulfillment.cancel(order["id"], sim.now())
    return Reply(200, {})


def list_all_fulfillment_orders(sim: Simulator, call: Call) -> Reply:
    """Orders whose status changed at or after queryStartDate (all orders without it),
    oldest change first."""
    page, next_token = changed_orders_page(sim, call, "nextToken", "queryStartDate")
    result: dict = {"fulfillmentOrders": [order_views.order_view(o, sim.config) for o in page]}
    if next_token is not None:
        result["nextToken"] = next_token
    return Reply(200, {"payload": result})


def changed_orders_page(sim: Simulator, call: Call, token_param: str,
                        start_param: str) -> tuple[list[dict], str | None]:
    """One page of the orders whose status changed at or after the `start_param` date
    (all without it), oldest change first, and the token of the next page (None on the
    last). The token holds the position by (change time, creation order), so an order
    that changes while a client pages is seen again, never skipped."""
    token = call.text(token_param)
    if token:
        state = decode_token(token)
        start, after = state.get("start"), state.get("after")
        if not isinstance(after, list) or len(after) != 2:
            raise invalid_input(f"Invalid {token_param}.")
    else:
        start, after = call.date(start_param), None
    orders = [o for o in sim.fulfillment.all() if start is None or o["statusUpdatedAt"] >= start]
    orders.sort(key=lambda o: (o["statusUpdatedAt"], o["seq"]))
    if after is not None:
        orders = [o for o in orders if (o["statusUpdatedAt"], o["seq"]) > tuple(after)]
    page = orders[: sim.config.orders_page_size]
    if len(orders) == len(page):
        return page, None
    last = page[-1]
    return page, encode_token({"start": start, "after": [last["statusUpdatedAt"], last["seq"]]})


def get_package_tracking_details(sim: Simulator, call: Call) -> Reply:
    text = call.text("packageNumber")
    if text is None:
        raise invalid_input("Missing required parameter: packageNumber.")
    try:
        number = int(text)
    except ValueError:
        raise invalid_input("Value for parameter packageNumber is invalid: expected an "
                            "integer.") from None
    package = sim.store.get("package", str(number))
    if package is None:
        raise not_found(f"The package {number} was not found.")
    order = sim.fulfillment.get(package["orderId"]) or {}
    outcome = order.get("trackingOutcome", "DELIVERED")
    return Reply(200, {"payload": tracking.details(package, outcome, sim.now())})


OPERATIONS = [
    Operation("createFulfillmentOrder", create_fulfillment_order),
    Operation("getFulfillmentOrder", get_fulfillment_order),
    Operation("listAllFulfillmentOrders", list_all_fulfillment_orders),
    Operation("cancelFulfillmentOrder", cancel_fulfillment_order),
    Operation("getPackageTrackingDetails", get_package_tracking_details),
    Operation("updateFulfillmentOrder", update_fulfillment_order),
    Operation("submitFulfillmentOrderStatusUpdate", submit_fulfillment_order_status_update),
    *previews.OPERATIONS,
    *returns.OPERATIONS,
    *features.OPERATIONS,
]
