"""The operations: what they send (checked against the official models) and how they
read and page what Amazon answers (fakes checked against the models too)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from bridge import secrets
from bridge.config import FulfillmentAccount
from bridge.domain.fulfillment import FulfillmentOrderRequest, RequestedItem
from bridge.domain.model import Address
from bridge.errors import ConfigError, TransientError
from bridge.fba.client import FbaClient, account_key, spapi_datetime
from bridge.fba.outbound_mapping import create_order_body
from bridge.fba.ratelimit import NoLimiter

OUT = "fulfillmentOutbound_2020-07-01"
INV = "fbaInventory"


def _query(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def test_datetimes_are_sent_as_utc_with_z():
    cest = timezone(timedelta(hours=2))
    assert spapi_datetime(datetime(2026, 11, 20, 12, 30, 5, 999, tzinfo=cest)) == "2026-11-20T10:30:05Z"
    assert spapi_datetime(datetime(2026, 11, 20, 10, 30, 5)) == "2026-11-20T10:30:05Z"


def test_create_posts_the_body_as_the_model_defines_it(amazon, make_client, models):
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", json={})
    body = amazon.create_body()
    models.validate(OUT, "CreateFulfillmentOrderRequest", body)

    assert make_client().post_fulfillment_order(body) is None

    sent = json.loads(amazon.spapi_calls[0].request.body)
    models.validate(OUT, "CreateFulfillmentOrderRequest", sent)
    assert sent == {**body, "marketplaceId": amazon.MARKETPLACE}
    models.validate(OUT, "CreateFulfillmentOrderResponse", {})


def test_create_sends_the_domain_request_as_its_body(amazon, make_client, models):
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", json={})
    request = FulfillmentOrderRequest(
        seller_fulfillment_order_id="demo-1001", displayable_id="1001",
        displayable_date=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        comment="Thank you for your order 1001.", shipping_speed="Standard",
        destination=Address(name="Jane Doe", line1="1 Main St", city="Seattle", state="WA",
                            postal_code="98101", country_code="US"),
        fulfillment_policy="FillOrKill", items=(RequestedItem("SKU-1", "1001-1", 2),),
        notification_emails=("jane@example.com",),
    )

    assert make_client().create_fulfillment_order(request) is None

    sent = json.loads(amazon.spapi_calls[0].request.body)
    models.validate(OUT, "CreateFulfillmentOrderRequest", sent)
    assert sent == {"marketplaceId": amazon.MARKETPLACE, **create_order_body(request)}


def test_an_invalid_body_fails_the_model_check(models, amazon):
    body = amazon.create_body()
    del body["items"]
    with pytest.raises(Exception, match="items"):
        models.validate(OUT, "CreateFulfillmentOrderRequest", body)


def test_get_returns_the_payload(amazon, make_client, models):
    answer = amazon.get_order_response()
    models.validate(OUT, "GetFulfillmentOrderResponse", answer)
    amazon.add(responses.GET, f"{amazon.OUTBOUND}/fulfillmentOrders/demo-1001", json=answer)

    assert make_client().get_fulfillment_order("demo-1001") == answer["payload"]
    method, path, _ = models.operation(OUT, "getFulfillmentOrder")
    assert method == "GET"
    assert amazon.spapi_calls[0].request.path_url == path.format(sellerFulfillmentOrderId="demo-1001")


def test_cancel_puts_to_the_model_path(amazon, make_client, models):
    amazon.add(responses.PUT, f"{amazon.OUTBOUND}/fulfillmentOrders/demo-1001/cancel", json={})
    make_client().cancel_fulfillment_order("demo-1001")
    method, path, _ = models.operation(OUT, "cancelFulfillmentOrder")
    request = amazon.spapi_calls[0].request
    assert (request.method, request.path_url) == (method, path.format(sellerFulfillmentOrderId="demo-1001"))
    models.validate(OUT, "CancelFulfillmentOrderResponse", {})


def test_list_all_follows_next_token(amazon, make_client, models):
    pages = [
        {"payload": {"nextToken": "page-2", "fulfillmentOrders": [amazon.fulfillment_order("a")]}},
        {"payload": {"nextToken": "page-3", "fulfillmentOrders": [amazon.fulfillment_order("b")]}},
        {"payload": {"fulfillmentOrders": [amazon.fulfillment_order("c", "Complete")]}},
    ]
    for page in pages:
        models.validate(OUT, "ListAllFulfillmentOrdersResponse", page)
        amazon.add(responses.GET, f"{amazon.OUTBOUND}/fulfillmentOrders", json=page)

    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    orders = list(make_client().list_all_fulfillment_orders(start))

    assert [o["sellerFulfillmentOrderId"] for o in orders] == ["a", "b", "c"]
    queries = [models.check_query(OUT, "listAllFulfillmentOrders", c.request.url) for c in amazon.spapi_calls]
    assert queries == [
        {"queryStartDate": "2026-11-20T09:00:00Z"},
        {"nextToken": "page-2"},
        {"nextToken": "page-3"},
    ]


def test_a_repeated_next_token_is_an_error_not_a_loop(amazon, make_client):
    page = {"payload": {"nextToken": "same", "fulfillmentOrders": []}}
    amazon.add(responses.GET, f"{amazon.OUTBOUND}/fulfillmentOrders", json=page)
    with pytest.raises(TransientError):
        list(make_client().list_all_fulfillment_orders(datetime.now(UTC)))


def test_tracking_details_are_read_by_package_number(amazon, make_client, models):
    answer = {"payload": {"packageNumber": 12345, "trackingNumber": "1Z999", "carrierCode": "UPS",
                          "currentStatus": "IN_TRANSIT"}}
    models.validate(OUT, "GetPackageTrackingDetailsResponse", answer)
    amazon.add(responses.GET, f"{amazon.OUTBOUND}/tracking", json=answer)

    assert make_client().get_package_tracking_details(12345) == answer["payload"]
    query = models.check_query(OUT, "getPackageTrackingDetails", amazon.spapi_calls[0].request.url)
    assert query == {"packageNumber": "12345"}


def _inventory_page(amazon, skus: list[str], next_token: str | None = None) -> dict:
    page = {
        "payload": {
            "granularity": {"granularityType": "Marketplace", "granularityId": amazon.MARKETPLACE},
            "inventorySummaries": [amazon.inventory_summary(sku) for sku in skus],
        },
    }
    if next_token:
        page["pagination"] = {"nextToken": next_token}
    return page


def test_inventory_changes_follow_next_token_keeping_the_start(amazon, make_client, models):
    for page in (_inventory_page(amazon, ["A", "B"], "t2"), _inventory_page(amazon, ["C"])):
        models.validate(INV, "GetInventorySummariesResponse", page)
        amazon.add(responses.GET, f"{amazon.INVENTORY}/summaries", json=page)

    since = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    summaries = list(make_client().get_inventory_summaries(start=since))

    assert [s["sellerSku"] for s in summaries] == ["A", "B", "C"]
    first, second = (models.check_query(INV, "getInventorySummaries", c.request.url) for c in amazon.spapi_calls)
    assert first == {
        "granularityType": "Marketplace",
        "granularityId": amazon.MARKETPLACE,
        "marketplaceIds": amazon.MARKETPLACE,
        "details": "true",
        "startDateTime": "2026-11-01T00:00:00Z",
    }
    assert second == {**first, "nextToken": "t2"}


def test_inventory_by_sku_asks_at_most_fifty_at_a_time(amazon, make_client, models):
    amazon.add(responses.GET, f"{amazon.INVENTORY}/summaries", json=_inventory_page(amazon, ["x"]))
    skus = [f"SKU-{n}" for n in range(120)]

    list(make_client().get_inventory_summaries(seller_skus=skus, details=False))

    queries = [models.check_query(INV, "getInventorySummaries", c.request.url) for c in amazon.spapi_calls]
    assert [q["sellerSkus"].split(",") for q in queries] == [skus[:50], skus[50:100], skus[100:]]
    assert all(q["details"] == "false" and "startDateTime" not in q for q in queries)


def test_inventory_refuses_a_start_with_skus_that_amazon_would_ignore(make_client):
    with pytest.raises(ValueError):
        list(make_client().get_inventory_summaries(start=datetime.now(UTC), seller_skus=["A"]))


def test_from_account_resolves_secrets_and_builds_a_working_client(amazon, monkeypatch):
    monkeypatch.setenv("TEST_LWA_SECRET", amazon.CLIENT_SECRET)
    monkeypatch.setenv("TEST_LWA_REFRESH", amazon.REFRESH_TOKEN)
    account = FulfillmentAccount(
        client_id=amazon.CLIENT_ID, client_secret="env:TEST_LWA_SECRET",
        refresh_token="env:TEST_LWA_REFRESH", timeout_seconds=7, max_retries=1,
    )
    amazon.add(responses.GET, f"{amazon.OUTBOUND}/fulfillmentOrders/x", status=404)
    client = FbaClient.from_account(account, secrets.resolve, NoLimiter())
    assert client.get_fulfillment_order("x") is None
    assert parse_qs(amazon.token_calls[0].request.body)["client_secret"] == [amazon.CLIENT_SECRET]


def test_from_account_reports_unresolvable_secrets_as_config_errors(monkeypatch):
    monkeypatch.delenv("TEST_MISSING_SECRET", raising=False)
    account = FulfillmentAccount(
        client_id="id", client_secret="env:TEST_MISSING_SECRET", refresh_token="env:TEST_MISSING_SECRET",
    )
    with pytest.raises(ConfigError) as caught:
        FbaClient.from_account(account, secrets.resolve, NoLimiter())
    assert [key for _, key, _ in caught.value.problems] == ["client_secret", "refresh_token"]


def test_the_account_key_hides_the_refresh_token():
    key = account_key("https://sellingpartnerapi-eu.amazon.com", "client", "Atzr|secret-token")
    assert key.startswith("sellingpartnerapi-eu.amazon.com:")
    assert "secret-token" not in key
    assert key != account_key("https://sellingpartnerapi-eu.amazon.com", "client", "Atzr|other")
