"""Validation of outbound request bodies (createFulfillmentOrder, updateFulfillmentOrder,
getFulfillmentPreview), as strict as Amazon is: the model's required fields, types,
enums and lengths, plus the rules its descriptions state in words (id characters,
positive quantities, at most 100 lines and 250 units, ScheduledDelivery never on Hold),
plus the limits docs/simulator.md lists as assumptions where the model is silent (no
control characters anywhere, address field lengths, assigned country codes, e-mail form,
order dates from 2000 on). The simulator keeps its own copy of these (it stands alone, as
Amazon does); a test holds it equal to bridge's. Unknown fields are ignored. Every failure is a 400
InvalidInput naming the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bridge.sim import request_schema
from bridge.sim.clock import parse_iso
from bridge.sim.wire import invalid_input, known_fields

OUTBOUND_MODEL = "fulfillmentOutbound_2020-07-01.json"
SELLER_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_LINES = 100
MAX_UNITS = 250
INT32_MAX = 2**31 - 1
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_EMAIL = 64  # NotificationEmailList items' maxLength
EARLIEST_ORDER_DATE = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
MAX_ORDER_DATE_AHEAD = 86_400.0  # seconds
# Assumed where the model gives Address no maxLength: the MWS-era FBA Address limits.
ADDRESS_LIMITS = {"name": 50, "addressLine1": 60, "addressLine2": 60, "addressLine3": 60, "city": 50,
                  "districtOrCounty": 150, "stateOrRegion": 150, "postalCode": 20, "phone": 20}
# ISO 3166-1 alpha-2, officially assigned codes only.
COUNTRY_CODES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())
# C0 (NUL included), DEL and C1.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


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


def parse_create_request(body: dict, now: float | None = None) -> dict:
    """The normalized request (known fields only), or InvalidInput. With `now` (simulated
    time) a displayableOrderDate more than a day ahead of it is refused too."""
    request = _checked(body, "CreateFulfillmentOrderRequest")
    check_no_control_characters(request)
    seller_fulfillment_order_id(request["sellerFulfillmentOrderId"])
    _check_displayable_fields(request, now)
    _check_notification_emails(request)
    check_address(request["destinationAddress"])
    _check_hold_with_scheduled_delivery(request)
    request["items"] = _check_items(request["items"])
    return request


def parse_update_request(body: dict) -> dict:
    """The normalized updateFulfillmentOrder body (every field optional), or InvalidInput."""
    request = _checked(body, "UpdateFulfillmentOrderRequest")
    check_no_control_characters(request)
    _check_displayable_fields(request)
    _check_notification_emails(request)
    if "destinationAddress" in request:
        check_address(request["destinationAddress"])
    _check_hold_with_scheduled_delivery(request)
    if "items" in request:
        request["items"] = _check_items(request["items"], sku_required=False)
    return request


def parse_preview_request(body: dict) -> dict:
    """The normalized getFulfillmentPreview body, or InvalidInput."""
    request = _checked(body, "GetFulfillmentPreviewRequest")
    check_no_control_characters(request)
    check_address(request["address"])
    request["items"] = _check_items(request["items"])
    return request


def check_no_control_characters(value: Any, path: str = "") -> None:
    """No C0 (NUL included), DEL or C1 character in any string of the body, at any depth."""
    if isinstance(value, str):
        if CONTROL.search(value):
            raise invalid_input(f"Value for parameter {path} is invalid: it must not contain "
                                "control characters.")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_no_control_characters(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_no_control_characters(item, f"{path}[{index}]")


def _check_displayable_fields(request: dict, now: float | None = None) -> None:
    if "displayableOrderId" in request:
        displayable_id = request["displayableOrderId"].strip()
        if not displayable_id or "  " in displayable_id:
            raise invalid_input("Value for parameter displayableOrderId is invalid: it must be "
                                "1 to 40 characters and cannot contain two spaces in a row.")
        if not _is_latin1(displayable_id):
            raise invalid_input("Value for parameter displayableOrderId is invalid: it must "
                                "contain only ISO 8859-1 characters.")
        request["displayableOrderId"] = displayable_id
    if "displayableOrderDate" in request:
        try:
            moment = parse_iso(request["displayableOrderDate"])
        except ValueError:
            raise invalid_input("Value for parameter displayableOrderDate is invalid: "
                                "expected an ISO 8601 date-time.") from None
        if moment < EARLIEST_ORDER_DATE or (now is not None and moment - now > MAX_ORDER_DATE_AHEAD):
            raise invalid_input("Value for parameter displayableOrderDate is invalid: the date "
                                "is out of range.")


def _check_notification_emails(request: dict) -> None:
    for index, email in enumerate(request.get("notificationEmails") or []):
        if len(email) > MAX_EMAIL or not EMAIL.fullmatch(email):
            raise invalid_input(f"Value for parameter notificationEmails[{index}] is invalid: "
                                f"expected an e-mail address of at most {MAX_EMAIL} characters.")


def _is_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


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
    if not re.fullmatch(r"[A-Za-z]{2}", country) or country.upper() not in COUNTRY_CODES:
        raise invalid_input("Value for parameter destinationAddress.countryCode is invalid: "
                            "expected a two-letter ISO 3166-1 code.")
    for name, limit in ADDRESS_LIMITS.items():
        value = address.get(name)
        if isinstance(value, str) and len(value.strip()) > limit:
            raise invalid_input(f"Value for parameter destinationAddress.{name} is invalid: "
                                f"it must be at most {limit} characters.")
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
