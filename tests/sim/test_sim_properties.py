"""Whatever a client sends to createFulfillmentOrder, the simulator answers 200 or a 4xx
in the errors shape, never a 5xx."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_helpers import order_body

text = st.text(max_size=60)
junk = st.one_of(st.none(), st.booleans(), st.integers(),
                 st.floats(allow_nan=False, allow_infinity=False), text,
                 st.lists(st.integers(), max_size=3),
                 st.dictionaries(text, st.integers(), max_size=2))
quantity = st.one_of(st.integers(min_value=-5, max_value=300), junk)
item = st.fixed_dictionaries(
    {"sellerSku": st.one_of(st.sampled_from(["SKU-A", "SKU-B", "GHOST"]), text, junk),
     "sellerFulfillmentOrderItemId": st.one_of(text, junk),
     "quantity": quantity},
    optional={"giftMessage": st.one_of(text, junk), "perUnitPrice": junk})
order_id = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,45}", fullmatch=True), text, junk)


@st.composite
def create_bodies(draw) -> dict:
    body = order_body(
        draw(order_id),
        items=draw(st.one_of(st.lists(item, max_size=4), junk)),
        displayableOrderId=draw(st.one_of(st.just("1001"), text, junk)),
        displayableOrderDate=draw(st.one_of(st.just("2026-01-01T00:00:00Z"), text, junk)),
        shippingSpeedCategory=draw(st.one_of(
            st.sampled_from(["Standard", "Expedited", "Priority", "standard"]), junk)),
        fulfillmentPolicy=draw(st.one_of(
            st.sampled_from(["FillOrKill", "FillAll", "FillAllAvailable"]), junk)),
    )
    for field in draw(st.lists(st.sampled_from(sorted(body)), max_size=2)):
        body.pop(field, None)  # drop some required fields
    if draw(st.booleans()):
        body["destinationAddress"] = draw(st.one_of(
            junk, st.dictionaries(st.sampled_from(["name", "addressLine1", "postalCode",
                                                   "countryCode", "city"]),
                                  st.one_of(text, junk))))
    return body


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=create_bodies())
def test_create_never_fails_with_5xx(sim, api, body):
    sim.admin.set_stock({"SKU-A": 5, "SKU-B": 0})
    answer = api.create(body)  # SpApi checks the model schema and the errors shape
    assert answer.status in (200, 400), answer.body
