"""v2026-07-04 request bodies → the 2020-07-01 requests the simulator's order book keeps.

Both versions read and write one order book, so an order created through one version is
visible through the other. v2026 names things differently (orderId, lineItems with an
amazonSku and a decimal amount, serviceTiers, SHIP/HOLD, FILL_OR_KILL...) and has no
displayable fields of its own: the packing slip's template attributes orderId, orderTime
and orderText stand for displayableOrderId/Date/Comment; without them the order's id, the
receive time and an empty comment are used. The marketplace is the one of the origin
country (the simulator's own without an origin). Packaging UNBRANDED is BLANK_BOX."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.sim.clock import iso
from bridge.sim.marketplaces import of_country
from bridge.sim.wire import invalid_input

MODEL = "fulfillmentOutbound_2026-07-04.json"

SPEED_OF_TIER = {"STANDARD": "Standard", "EXPEDITED": "Expedited", "PRIORITY": "Priority",
                 "SCHEDULED": "ScheduledDelivery"}
TIER_OF_SPEED = {speed: tier for tier, speed in SPEED_OF_TIER.items()}
ACTION = {"SHIP": "Ship", "HOLD": "Hold"}
POLICY = {"FILL_OR_KILL": "FillOrKill", "FILL_ALL": "FillAll",
          "FILL_ALL_AVAILABLE": "FillAllAvailable"}
UNBRANDED = "UNBRANDED"
BLANK_BOX = "BLANK_BOX"


def _choice(value: Any, table: dict[str, str], field: str) -> str | None:
    if value is None:
        return None
    if value not in table:
        raise invalid_input(f"Value {value!r} for parameter {field} is invalid. "
                            f"Valid values: {', '.join(table)}.")
    return table[value]


def units(amount: dict, field: str) -> int:
    """An Amount of EACHES as a whole, positive number of units."""
    unit = amount.get("unit", "EACHES")
    if unit != "EACHES":
        raise invalid_input(f"Value {unit!r} for parameter {field}.unit is invalid. "
                            "Valid values: EACHES.")
    try:
        value = Decimal(str(amount.get("value")).strip())
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0 or value != value.to_integral_value():
        raise invalid_input(f"Value for parameter {field}.value is invalid: expected a whole "
                            "number of units greater than 0.")
    return int(value)


def amount(count: int) -> dict:
    return {"unit": "EACHES", "value": f"{count}.0"}


def marketplace_of(origin: dict | None) -> str | None:
    """The marketplace whose country is the origin's (None: the simulator's own)."""
    if not origin:
        return None
    country = str(origin.get("countryCode", "")).upper()
    market = of_country(country)
    if market is not None:
        return market.marketplace_id
    raise invalid_input(f"Value {country!r} for parameter origin.countryCode is invalid: "
                        "no marketplace fulfills from that country.")


def speed(configuration: dict) -> str:
    tiers = (configuration.get("serviceLevel") or {}).get("serviceTiers") or ["STANDARD"]
    # The model: "Currently, only the first value in the array is used."
    chosen = _choice(tiers[0], SPEED_OF_TIER, "fulfillmentConfiguration.serviceLevel."
                     "serviceTiers[0]")
    assert chosen is not None
    return chosen


def _packaging(configuration: dict) -> dict:
    return ((configuration.get("services") or {}).get("packaging")) or {}


def address_2020(address: dict) -> dict:
    """v2026's Address as 2020's (the same field names; email has no place there)."""
    return {key: value for key, value in address.items() if key != "email"}


def create_request(body: dict, now: float) -> dict:
    """A CreateOrderRequest (checked against the model) as a CreateFulfillmentOrderRequest."""
    configuration = body.get("fulfillmentConfiguration") or {}
    slip = (_packaging(configuration).get("packingSlip") or {}).get("templateAttributes") or {}
    request: dict[str, Any] = {
        "sellerFulfillmentOrderId": body["orderId"],
        "displayableOrderId": slip.get("orderId") or body["orderId"],
        "displayableOrderDate": slip.get("orderTime") or iso(now),
        "displayableOrderComment": slip.get("orderText") or "",
        "shippingSpeedCategory": speed(configuration),
        "destinationAddress": address_2020(body["destination"]["deliveryAddress"]),
        "items": [
            {"sellerSku": line["product"]["productIdentifier"]["amazonSku"],
             "sellerFulfillmentOrderItemId": line["lineItemId"],
             "quantity": units(line["amount"], f"lineItems[{index}].amount")}
            for index, line in enumerate(body["lineItems"])],
    }
    marketplace = marketplace_of(body.get("origin"))
    if marketplace is not None:
        request["marketplaceId"] = marketplace
    action = _choice(configuration.get("action"), ACTION, "fulfillmentConfiguration.action")
    if action is not None:
        request["fulfillmentAction"] = action
    policy = _choice(configuration.get("policy"), POLICY, "fulfillmentConfiguration.policy")
    if policy is not None:
        request["fulfillmentPolicy"] = policy
    email = body["destination"]["deliveryAddress"].get("email")
    if email:
        request["notificationEmails"] = [email]
    if _packaging(configuration).get("packagingOption") == UNBRANDED:
        request["featureConstraints"] = [{"featureName": BLANK_BOX,
                                          "featureFulfillmentPolicy": "Required"}]
    return request


def update_changes(body: dict) -> dict:
    """An UpdateOrderRequest as updateFulfillmentOrder's changes (only the action)."""
    action = _choice((body.get("fulfillmentConfiguration") or {}).get("action"), ACTION,
                     "fulfillmentConfiguration.action")
    return {} if action is None else {"fulfillmentAction": action}


def preview_request(body: dict) -> dict:
    """A GetOrderPreviewRequest as a GetFulfillmentPreviewRequest."""
    configuration = body.get("fulfillmentConfiguration") or {}
    tiers = (configuration.get("serviceLevel") or {}).get("serviceTiers") or []
    request: dict[str, Any] = {
        "address": address_2020(body["destination"]["deliveryAddress"]),
        "items": [
            {"sellerSku": line["product"]["productIdentifier"]["amazonSku"],
             "sellerFulfillmentOrderItemId": f"line-{index}",
             "quantity": units(line["amount"], f"lineItems[{index}].amount")}
            for index, line in enumerate(body["lineItems"])],
    }
    if tiers:
        request["shippingSpeedCategories"] = [
            _choice(tier, SPEED_OF_TIER, "fulfillmentConfiguration.serviceLevel.serviceTiers")
            for tier in tiers]
    marketplace = marketplace_of(body.get("origin"))
    if marketplace is not None:
        request["marketplaceId"] = marketplace
    if _packaging(configuration).get("packagingOption") == UNBRANDED:
        request["featureConstraints"] = [{"featureName": BLANK_BOX,
                                          "featureFulfillmentPolicy": "Required"}]
    return request
