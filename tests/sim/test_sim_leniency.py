"""Where Amazon is lenient, the simulator is too: unknown body fields and query
parameters are ignored, `Host` is not checked, booleans are read in any case, arrays come
repeated or comma-joined, and `+` in a query string is a space. One test per behaviour."""

from __future__ import annotations

from sim_helpers import INVENTORY, MARKETPLACE, OUTBOUND, order_body

SUMMARIES_QUERY = (f"granularityType=Marketplace&granularityId={MARKETPLACE}"
                   f"&marketplaceIds={MARKETPLACE}")


def summary_skus(api, extra: str) -> list[str]:
    """The SKUs getInventorySummaries answers for a raw query string (sent as written)."""
    answer = api.call("getInventorySummaries", "GET",
                      f"{INVENTORY}/summaries?{SUMMARIES_QUERY}&{extra}")
    assert answer.status == 200, answer.body
    return [s["sellerSku"] for s in answer.body["payload"]["inventorySummaries"]]


def test_unknown_body_fields_are_ignored(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    body = order_body(somethingNew={"x": 1})
    body["items"][0]["futureField"] = True
    body["destinationAddress"]["plusFour"] = "1234"
    assert api.create(body).status == 200
    order = api.get("shop-1001").body["payload"]["fulfillmentOrder"]
    assert "somethingNew" not in order


def test_unknown_query_parameters_are_ignored(sim, api):
    sim.admin.set_stock({"SKU-A": 1})
    assert summary_skus(api, "futureParameter=1&details=false") == ["SKU-A"]
    listed = api.call("listAllFulfillmentOrders", "GET",
                      f"{OUTBOUND}/fulfillmentOrders?sortOrder=newest&x=")
    assert listed.status == 200


def test_host_header_is_not_checked(sim, api):
    response = api.session.get(f"{sim.base_url}{OUTBOUND}/fulfillmentOrders",
                               headers={"Host": "sellingpartnerapi-na.amazon.com"})
    assert response.status_code == 200


def test_booleans_in_any_case(sim, api):
    sim.admin.set_stock({"SKU-A": 1})
    for spelling in ("true", "TRUE", "True", "tRuE"):
        answer = api.summaries(details=spelling).body["payload"]["inventorySummaries"]
        assert "inventoryDetails" in answer[0], spelling
    for spelling in ("false", "FALSE", "False"):
        answer = api.summaries(details=spelling).body["payload"]["inventorySummaries"]
        assert "inventoryDetails" not in answer[0], spelling
    assert api.summaries(details="yes").status == 400  # not a boolean at all


def test_arrays_repeated_comma_joined_or_both(sim, api):
    sim.admin.set_stock({"A": 1, "B": 1, "C": 1, "D": 1})
    assert summary_skus(api, "sellerSkus=A,C") == ["A", "C"]
    assert summary_skus(api, "sellerSkus=A&sellerSkus=C") == ["A", "C"]
    assert summary_skus(api, "sellerSkus=A,B&sellerSkus=D") == ["A", "B", "D"]
    assert summary_skus(api, "sellerSkus=A%2CC") == ["A", "C"]  # an encoded comma too


def test_plus_in_a_query_is_a_space(sim, api):
    sim.admin.set_stock({"MUG BLUE": 2, "MUG": 1, "BLUE": 1})
    assert summary_skus(api, "sellerSku=MUG+BLUE") == ["MUG BLUE"]
    assert summary_skus(api, "sellerSkus=MUG+BLUE,MUG") == ["MUG", "MUG BLUE"]
    codes = api.call("listReturnReasonCodes", "GET",
                     f"{OUTBOUND}/returnReasonCodes?sellerSku=MUG+BLUE&language=en_US")
    assert codes.status == 200, codes.body
