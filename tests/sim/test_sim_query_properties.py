"""Whatever query string and path ids a client sends to the operations that read them,
the simulator answers 200 or a 4xx in the errors shape, never a 5xx; SpApi checks every
answer against the model. Parameters come valid, malformed, repeated, or unknown."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_helpers import INVENTORY, MARKETPLACE, OUTBOUND, sample_orders

JP = "A1VC38T7YXB528"
# Any text but "/", which would change the route rather than the parameter.
text = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)),
               max_size=20)
junk = st.one_of(text, st.sampled_from(["", " ", "-1", "0", "1e9", "yes", "A,B", "%", "+",
                                        "null", "2026-13-01T00:00:00Z"]))
boolean = st.one_of(st.sampled_from(["true", "FALSE", "True"]), junk)
marketplace = st.one_of(st.sampled_from([MARKETPLACE, JP, f"{MARKETPLACE},{JP}"]), junk)
date = st.one_of(st.sampled_from(["2026-01-01T00:00:00Z", "2020-01-01",
                                  "2999-01-01T00:00:00+09:00"]), junk)
sku = st.one_of(st.sampled_from(["SKU-A", "SKU-B", "GHOST", "SKU-A,SKU-B"]), junk)
token = st.one_of(st.sampled_from(["eyJhZnRlciI6ICJTS1UtQSJ9", "eyJvZmZzZXQiOiAtMX0"]), junk)
feature = st.one_of(st.sampled_from(["BLANK_BOX", "BLOCK_AMZL", "NOPE"]), junk)
order_id = st.one_of(st.sampled_from(["held", "shipped", "nope"]), junk)

# operationId -> (method, path template, path parameters, query parameters)
CALLS = {
    "getInventorySummaries": ("GET", f"{INVENTORY}/summaries", {}, {
        "details": boolean, "granularityType": st.one_of(st.just("Marketplace"), junk),
        "granularityId": marketplace, "marketplaceIds": marketplace, "startDateTime": date,
        "sellerSkus": sku, "sellerSku": sku, "nextToken": token}),
    "listAllFulfillmentOrders": ("GET", f"{OUTBOUND}/fulfillmentOrders", {}, {
        "queryStartDate": date, "nextToken": token}),
    "getPackageTrackingDetails": ("GET", f"{OUTBOUND}/tracking", {}, {
        "packageNumber": st.one_of(st.sampled_from(["1", "2", "99999999999"]), junk)}),
    "listReturnReasonCodes": ("GET", f"{OUTBOUND}/returnReasonCodes", {}, {
        "sellerSku": sku, "marketplaceId": marketplace, "sellerFulfillmentOrderId": order_id,
        "language": st.one_of(st.sampled_from(["en_US", "ja_JP"]), junk)}),
    "getFeatures": ("GET", f"{OUTBOUND}/features", {}, {"marketplaceId": marketplace}),
    "getFeatureInventory": ("GET", f"{OUTBOUND}/features/inventory/{{featureName}}",
                            {"featureName": feature},
                            {"marketplaceId": marketplace, "nextToken": token,
                             "queryStartDate": date}),
    "getFeatureSKU": ("GET", f"{OUTBOUND}/features/inventory/{{featureName}}/{{sellerSku}}",
                      {"featureName": feature, "sellerSku": sku},
                      {"marketplaceId": marketplace}),
    "getFulfillmentOrder": ("GET", f"{OUTBOUND}/fulfillmentOrders/{{id}}", {"id": order_id}, {}),
    "cancelFulfillmentOrder": ("PUT", f"{OUTBOUND}/fulfillmentOrders/{{id}}/cancel",
                               {"id": order_id}, {}),
    "deleteInventoryItem": ("DELETE", f"{INVENTORY}/items/{{sku}}", {"sku": sku},
                            {"marketplaceId": marketplace}),
}
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@st.composite
def query(draw, params: dict) -> list[tuple[str, str]]:
    """Some of the parameters, some repeated, plus maybe one the model does not know."""
    pairs = []
    if params:
        chosen = draw(st.lists(st.sampled_from(sorted(params)), max_size=len(params) + 2))
        pairs = [(name, draw(params[name])) for name in chosen]
    if draw(st.booleans()):
        pairs.append((draw(st.sampled_from(["futureParam", "x", "details"])), draw(junk)))
    return pairs


@pytest.fixture
def orders(sim, api):
    sample_orders(sim, api)


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_queries_never_fail_with_5xx(sim, api, orders, operation):
    method, template, path_params, query_params = CALLS[operation]

    @SETTINGS
    @given(ids=st.fixed_dictionaries({name: strategy.filter(bool)
                                      for name, strategy in path_params.items()}),
           pairs=query(query_params))
    def check(ids, pairs):
        path = template.format(**{name: quote(value, safe="") for name, value in ids.items()})
        answer = api.call(operation, method, path, params=pairs)
        assert answer.status in (200, 400, 404), answer.body

    check()
