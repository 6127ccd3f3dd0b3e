"""Validation of outbound request bodies (createFulfillmentOrder, updateFulfillmentOrder,
getFulfillmentPreview), as strict as Amazon is: the model's required fields, types,
enums and lengths, plus the rules its descriptions state in words (id characters,
positive quantities, at most 100 lines and 250 units, ScheduledDelivery never on Hold).
Unknown fields are ignored. Every failure is a 400 InvalidInput naming the field."""

from __future__ import annotations

import re

from bridge.sim import request_schema
from bridge.sim.clock import parse_iso
from bridge.sim.wire import invalid_input, known_fields

OUTBOUND_MODEL = "fulfillmentOutbound_2020-07-01.json"
SELLER_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_LINES = 100
MAX_UNITS = 250
INT32_MAX = 2**31 - 1


def check_against_model(body: dict, definition: str) -> None:
    """Raise InvalidInput for the first way `body` breaks the outbound model's schema."""
    request_schema.check_against_model(body, definition, OUTBOUND_MODEL)


def _checked(body: dict, definition: str) -> dict:
    """The body checked against the model, without the fields the model does not declare,
    at any depth (Amazon ignores those)."""
    check_against_model(body, definition)
    return known_fields(body, definition, OUTBOUND_MODEL)


def seller_fulfillment_order_id(value: str) -> str:
    if not SELLER_ORDER_ID.match(value or ""):
        raise invalid_input("Value for parameter sellerFulfillmentOrderId is invalid: it must be "
                            "1 to 40 characters of A-Z, a-z, 0-9, '-' and '_'.")
    return value


def parse_create_request(body: dict) -> dict:
    """The normalized request (known fields only), or InvalidInput."""
    request = _checked(body, "CreateFulfillmentOrderRequest")
    seller_fulfillment_order_id(request["sellerFulfillmentOrderId"])
    _check_displayable_fields(request)
    check_address(request["destinationAddress"])
    _check_hold_with_scheduled_delivery(request)
    request["items"] = _check_items(request["items"])
    return request


def parse_update_request(body: dict) -> dict:
    """The normalized updateFulfillmentOrder body (every field optional), or InvalidInput."""
    request = _checked(body, "UpdateFulfillmentOrderRequest")
    _check_displayable_fields(request)
    if "destinationAddress" in request:
        check_address(request["destinationAddress"])
    _check_hold_with_scheduled_delivery(request)
    if "items" in request:
        request["items"] = _check_items(request["items"], sku_required=False)
    return request


def parse_preview_request(body: dict) -> dict:
    """The normalized getFulfillmentPreview body, or InvalidInput."""
    request = _checked(body, "GetFulfillmentPreviewRequest")
    check_address(request["address"])
    request["items"] = _check_items(request["items"])
    return request


def _check_displayable_fields(request: dict) -> None:
    if "displayableOrderId" in request:
        displayable_id = request["displayableOrderId"].strip()
        if not displayable_id or "  " in displayable_id:
            raise invalid_input("Value for parameter displayableOrderId is invalid: it must be "
                                "1 to 40 characters and cannot contain two spaces in a row.")
        request["displayableOrderId"] = displayable_id
    if "displayableOrderDate" in request:
        try:
            parse_iso(request["displayableOrderDate"])
        except ValueError:
            raise invalid_input("Value for parameter displayableOrderDate is invalid: "
                                "expected an ISO 8601 date-time.") from None


def _check_hold_with_scheduled_delivery(request: dict) -> None:
    if request.get("shippingSpeedCategory") == "ScheduledDelivery" and \
            request.get("fulfillmentAction") == "Hold":
        raise invalid_input("Value Hold for parameter fulfillmentAction is invalid: Hold is "
                            "not a valid fulfillmentAction with ScheduledDelivery.")


def check_address(address: dict) -> None:
    for name in ("name", "addressLine1", "postalCode", "countryCode"):
        if not address[name].strip():
            raise invalid_input(f"Value for parameter destinationAddress.{name} is invalid: "
                                "it must not be empty.")
    country = address["countryCode"].strip()
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        raise invalid_input("Value for parameter destinationAddress.countryCode is invalid: "
                            "expected a two-letter ISO 3166-1 code.")
    if country.upper() != "JP" and not str(address.get("city") or "").strip():
        raise invalid_input("Missing required parameter: destinationAddress.city.")


def _check_items(items: list, sku_required: bool = True) -> list[dict]:
    if not items:
        raise invalid_input("Value for parameter items is invalid: at least one item is required.")
    if len(items) > MAX_LINES:
        raise invalid_input(f"Value for parameter items is invalid: at most {MAX_LINES} line items "
                            "are allowed.")
    seen: set[str] = set()
    units = 0
    for index, item in enumerate(items):
        if (sku_required or "sellerSku" in item) and not str(item["sellerSku"]).strip():
            raise invalid_input(f"Value for parameter items[{index}].sellerSku is invalid: "
                                "it must not be empty.")
        item_id = item["sellerFulfillmentOrderItemId"]
        if not item_id.strip():
            raise invalid_input(f"Value for parameter items[{index}].sellerFulfillmentOrderItemId "
                                "is invalid: it must not be empty.")
        if item_id in seen:
            raise invalid_input(f"Value for parameter items[{index}].sellerFulfillmentOrderItemId "
                                f"is invalid: {item_id} is used by more than one item.")
        seen.add(item_id)
        if not 0 < item["quantity"] <= INT32_MAX:
            raise invalid_input(f"Value for parameter items[{index}].quantity is invalid: it must "
                                "be greater than 0.")
        units += item["quantity"]
    if units > MAX_UNITS:
        raise invalid_input(f"Value for parameter items is invalid: at most {MAX_UNITS} units are "
                            "allowed per order.")
    return items
