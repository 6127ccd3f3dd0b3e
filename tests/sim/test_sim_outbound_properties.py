"""Whatever a client sends to the outbound operations with request bodies (preview,
delivery offers, update, return, status update), the simulator answers 200 or a 4xx in
the errors shape, never a 5xx; SpApi checks each answer against the model."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_helpers import OUTBOUND, sample_orders

text = st.text(max_size=30)
junk = st.one_of(st.none(), st.booleans(), st.integers(),
                 st.floats(allow_nan=False, allow_infinity=False), text,
                 st.lists(st.integers(), max_size=2),
                 st.dictionaries(text, st.integers(), max_size=2))
sku = st.one_of(st.sampled_from(["SKU-A", "SKU-B", "GHOST"]), text, junk)
item_id = st.one_of(st.sampled_from(["line-1", "line-2", "nope"]), text, junk)
quantity = st.one_of(st.integers(min_value=-3, max_value=300), junk)
speed = st.one_of(st.sampled_from(["Standard", "Expedited", "Priority", "ScheduledDelivery"]),
                  junk)
feature = st.fixed_dictionaries({}, optional={
    "featureName": st.one_of(st.sampled_from(["BLOCK_AMZL", "BLANK_BOX", "SIGNATURE_CONFIRMATION",
                                              "NOPE"]), junk),
    "featureFulfillmentPolicy": st.one_of(st.sampled_from(["Required", "NotRequired"]), junk)})
country = st.one_of(st.sampled_from(["US", "JP", "DE", "us", "X"]), junk)
address = st.one_of(
    st.just({"name": "A", "addressLine1": "1 Main", "city": "Seattle", "postalCode": "98101",
             "countryCode": "US"}),
    st.fixed_dictionaries({}, optional={"name": text, "addressLine1": text, "city": text,
                                        "postalCode": text, "countryCode": country}),
    junk)
items = st.one_of(st.lists(st.fixed_dictionaries(
    {"sellerSku": sku, "sellerFulfillmentOrderItemId": item_id, "quantity": quantity}),
    max_size=3), junk)


def _body(draw, fields: dict) -> dict:
    """Some of the fields, each maybe junk."""
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True))
    return {name: draw(fields[name]) for name in chosen}


@st.composite
def preview_bodies(draw):
    return _body(draw, {"address": address, "items": items, "marketplaceId": st.one_of(
        st.sampled_from(["ATVPDKIKX0DER", "A1VC38T7YXB528", "NOPE"]), junk),
        "shippingSpeedCategories": st.one_of(st.lists(speed, max_size=3), junk),
        "includeCODFulfillmentPreview": st.one_of(st.booleans(), junk),
        "includeDeliveryWindows": st.one_of(st.booleans(), junk),
        "featureConstraints": st.one_of(st.lists(feature, max_size=2), junk)})


@st.composite
def offer_bodies(draw):
    product = _body(draw, {"productIdentifier": st.one_of(
        st.fixed_dictionaries({"merchantSku": sku}), junk),
        "amount": st.one_of(st.fixed_dictionaries({
            "unitOfMeasure": st.one_of(st.just("Eaches"), junk),
            "value": st.one_of(st.sampled_from(["1", "2.5", "-1", "1e3", "NaN", "Infinity"]),
                               text, junk)}), junk)})
    destination = _body(draw, {"deliveryAddress": st.one_of(st.fixed_dictionaries(
        {"countryCode": country, "postalCode": text}), junk),
        "ipAddress": st.one_of(st.just("203.0.113.9"), text, junk)})
    terms = _body(draw, {"origin": st.one_of(st.fixed_dictionaries({"countryCode": country}),
                                             junk),
                         "destination": st.one_of(st.just(destination), junk)})
    return _body(draw, {"product": st.one_of(st.just(product), junk),
                        "terms": st.one_of(st.just(terms), junk)})


@st.composite
def update_bodies(draw):
    return _body(draw, {"fulfillmentAction": st.one_of(st.sampled_from(["Ship", "Hold"]), junk),
                        "fulfillmentPolicy": st.one_of(
                            st.sampled_from(["FillOrKill", "FillAll", "FillAllAvailable"]), junk),
                        "shippingSpeedCategory": speed, "destinationAddress": address,
                        "displayableOrderComment": st.one_of(text, junk),
                        "displayableOrderDate": st.one_of(
                            st.just("2026-01-01T00:00:00Z"), text, junk),
                        "featureConstraints": st.one_of(st.lists(feature, max_size=1), junk),
                        "items": items})


@st.composite
def return_bodies(draw):
    item = _body(draw, {"sellerReturnItemId": st.one_of(text, junk),
                        "sellerFulfillmentOrderItemId": item_id,
                        "amazonShipmentId": st.one_of(st.just("SHIPPED"), text, junk),
                        "returnReasonCode": st.one_of(
                            st.sampled_from(["CR-DEFECTIVE", "CR-UNWANTED_ITEM"]), text, junk),
                        "returnComment": st.one_of(text, junk)})
    return _body(draw, {"items": st.one_of(st.lists(st.just(item), max_size=3), junk)})


@st.composite
def status_bodies(draw):
    return _body(draw, {"fulfillmentOrderStatus": st.one_of(st.sampled_from(
        ["New", "Received", "Planning", "Processing", "Complete", "CompletePartialled",
         "Unfulfillable", "Invalid", "Cancelled"]), junk)})


CALLS = {
    "getFulfillmentPreview": ("POST", "fulfillmentOrders/preview", preview_bodies()),
    "deliveryOffers": ("POST", "deliveryOffers", offer_bodies()),
    "updateFulfillmentOrder": ("PUT", "fulfillmentOrders/{order}", update_bodies()),
    "createFulfillmentReturn": ("PUT", "fulfillmentOrders/{order}/return", return_bodies()),
    "submitFulfillmentOrderStatusUpdate": ("PUT", "fulfillmentOrders/{order}/status",
                                           status_bodies()),
}
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture
def orders(sim, api):
    """A held order, a new one and a shipped one, whose shipment id the bodies use."""
    return ("held", "shipped", "fresh"), sample_orders(sim, api)


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_bodies_never_fail_with_5xx(sim, api, orders, operation):
    order_ids, shipment = orders
    method, path, bodies = CALLS[operation]

    @SETTINGS
    @given(body=bodies, order_id=st.sampled_from(order_ids), raw=st.booleans())
    def check(body, order_id, raw):
        if operation == "createFulfillmentReturn" and isinstance(body.get("items"), list):
            for item in body["items"]:
                if isinstance(item, dict) and item.get("amazonShipmentId") == "SHIPPED":
                    item["amazonShipmentId"] = shipment
        url = f"{OUTBOUND}/{path.format(order=order_id)}"
        kwargs = {"data": repr(body).encode()} if raw else {"json": body}
        answer = api.call(operation, method, url, **kwargs)
        assert answer.status in (200, 400, 404), answer.body

    check()
