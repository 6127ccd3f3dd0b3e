"""The console's pages and read models on an in-memory ledger with a clock the test
sets: keyset paging and search, the hourly activity, bad query parameters refused with
400 and their reason, an unknown order 404, and a POST without the CSRF token 403."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bridge.bootstrap import Runtime
from bridge.config import load_config
from bridge.demo import write_config
from bridge.domain.states import OrderState as S
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Base, CallStat, Event, Order, ShopStock
from bridge.web import console
from bridge.web.app import create_app
from bridge.web.console import reads

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    # A file, not memory: the pages read it from Starlette's worker threads.
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    Base.metadata.create_all(engine)
    yield Ledger(engine, clock=lambda: NOW)
    engine.dispose()


def add_order(ledger: Ledger, number: str, state: S, *, created: datetime = NOW,
              accepted: datetime | None = None, storefront: str = "demo", reason: str = "") -> int:
    with ledger.transaction() as session:
        row = Order(storefront=storefront, cart_order_id=f"c{number}", number=f"#{number}",
                    snapshot={}, content_hash="h", state=state.value, cart_updated_at=created,
                    created_at=created, state_changed_at=created, accepted_at=accepted,
                    attention_reason=reason, seller_fulfillment_order_id=f"DEMO-{number}")
        session.add(row)
        session.flush()
        return row.id


def test_orders_page_by_page_newest_first_and_found_by_any_of_their_names(ledger):
    ids = [add_order(ledger, str(n), S.ACCEPTED) for n in range(1, 6)]
    first = reads.order_page(ledger, storefront=None, state=None, search=None, before=None, size=2)
    assert [o.id for o in first.orders] == ids[:-3:-1]
    second = reads.order_page(ledger, storefront=None, state=None, search=None,
                              before=first.next_before, size=2)
    last = reads.order_page(ledger, storefront=None, state=None, search=None,
                            before=second.next_before, size=2)
    assert [o.id for o in second.orders + last.orders] == ids[2::-1]
    assert last.next_before is None
    for search in ("#3", "3", "c3", "DEMO-3"):
        found = reads.order_page(ledger, storefront=None, state=None, search=search, before=None)
        assert [o.number for o in found.orders] == ["#3"], search
    assert not reads.order_page(ledger, storefront="other", state=None, search="#3", before=None).orders


def test_waiting_orders_are_bounded_and_counted(ledger):
    for n in range(5):
        add_order(ledger, f"h{n}", S.ON_HOLD, created=NOW - n * HOUR, reason="rule")
    waiting, total = reads.waiting_orders(ledger, S.ON_HOLD, limit=2)
    assert total == 5
    assert [w.number for w in waiting] == ["#h4", "#h3"]  # the longest waiting first


def test_the_day_hour_by_hour_with_latency_percentiles(ledger):
    add_order(ledger, "old", S.COMPLETE, created=NOW - 30 * HOUR, accepted=NOW - 29 * HOUR)
    add_order(ledger, "a", S.ACCEPTED, created=NOW - 2 * HOUR, accepted=NOW - 2 * HOUR + timedelta(seconds=4))
    add_order(ledger, "b", S.ACCEPTED, created=NOW - 2 * HOUR, accepted=NOW - 2 * HOUR + timedelta(seconds=40))
    shipped = add_order(ledger, "c", S.SHIPPED, created=NOW - HOUR, accepted=NOW - HOUR + timedelta(seconds=2))
    add_order(ledger, "d", S.RECEIVED)
    with ledger.transaction() as session:
        session.add(Event(storefront="demo", order_id=shipped, kind="shipped", from_state="processing",
                          to_state="shipped", created_at=NOW - timedelta(minutes=5)))
    day = reads.activity(ledger)
    assert day.hours[-1] == datetime(2026, 12, 7, 10, tzinfo=UTC) and len(day.hours) == 24
    assert day.received[-3:] == (2, 1, 1) and sum(day.received) == 4  # 30 h ago is out
    assert day.accepted[-3:] == (2, 1, 0) and sum(day.accepted) == 3
    assert day.shipped[-1] == 1 and sum(day.shipped) == 1
    assert day.latency[-3] == (4.0, 40.0) and day.latency[-2] == (2.0, 2.0) and day.latency[-1] is None
    assert not day.truncated


def test_stock_drift_is_what_the_last_check_saw(ledger):
    with ledger.transaction() as session:
        session.add_all([
            ShopStock(storefront="demo", cart_sku="MUG", target=5, shop_quantity=5, checked_at=NOW),
            ShopStock(storefront="demo", cart_sku="TEE", target=5, shop_quantity=7, checked_at=NOW),
            ShopStock(storefront="demo", cart_sku="CAP", target=2, shop_quantity=None, checked_at=NOW),
        ])
    view = reads.stock_view(ledger, "demo")
    assert [(d.sku, d.difference) for d in view.drifted] == [("CAP", None), ("TEE", 2)]
    assert view.drifted_total == 2 and view.skus == 3


@pytest.fixture
def client(ledger, tmp_path: Path) -> Iterator[TestClient]:
    config = load_config(write_config(tmp_path, "http://127.0.0.1:9"))
    runtime = Runtime(config=config, ledger=ledger)
    with TestClient(create_app(runtime, sources=[console.routes])) as test_client:
        yield test_client


def test_pages_answer_and_bad_parameters_are_refused_with_their_reason(client, ledger):
    held = add_order(ledger, "7", S.ON_HOLD, reason="rule")
    assert client.get("/", follow_redirects=False).headers["location"] == "/console/"
    for path in ("/console/", "/console/orders", "/console/attention", "/console/held",
                 "/console/stock", "/console/inbound", "/console/activity",
                 f"/console/orders/{held}", "/console/static/console.css"):
        assert client.get(path).status_code == 200, path
    page = client.get("/console/held")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src" not in page.headers["content-security-policy"]  # none runs
    refused = client.get("/console/orders?state=lost")
    assert refused.status_code == 400 and "no order state &#39;lost&#39;" in refused.text
    assert client.get("/console/orders?storefront=elsewhere").status_code == 400
    assert client.get("/console/orders?before=x").status_code == 400
    assert client.get("/console/?page=2").status_code == 400  # one storefront: one page
    assert client.get("/console/orders?size=100000").status_code == 400
    assert client.get("/console/orders/999").status_code == 404
    assert client.get(f"/console/orders/{10**30}").status_code == 404
    assert client.get(f"/console/orders?q={10**30}&before={10**30}").status_code == 200


def test_a_post_needs_the_token_of_its_cookie(client, ledger):
    held = add_order(ledger, "7", S.ON_HOLD, reason="rule")
    page = client.get("/console/held").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.cookies.get("bridge_csrf") == token
    assert client.post(f"/console/orders/{held}/approve", data={}).status_code == 403
    assert client.post(f"/console/orders/{held}/approve", data={"csrf_token": "forged.x"}).status_code == 403
    client.cookies.clear()
    assert client.post(f"/console/orders/{held}/approve", data={"csrf_token": token}).status_code == 403
    with ledger.transaction() as session:
        assert session.get(Order, held).state == "on_hold"


def test_who_acts_is_the_basic_auth_user_else_the_console():
    from starlette.requests import Request

    from bridge.web.console.pages import operator

    def request(authorization: str) -> Request:
        return Request({"type": "http", "headers": [(b"authorization", authorization.encode())]})

    assert operator(request("Basic b3BzOnNlY3JldA==")) == "ops (web console)"  # ops:secret
    assert operator(request("Bearer abc")) == "the web console"
    assert operator(request("Basic !!!")) == "the web console"


def test_the_day_page_draws_calls_and_429s_from_the_call_statistics(client, ledger):
    assert "no SP-API call recorded in the last 24 hours" in client.get("/console/activity").text
    with ledger.transaction() as session:
        for minute, throttled in ((NOW - timedelta(minutes=20), 2), (NOW - timedelta(minutes=10), 1)):
            session.add(CallStat(minute=minute, kind="spapi", name="createFulfillmentOrder",
                                 calls=5, throttled=throttled, errors=0, seconds=1.0))
    page = client.get("/console/activity").text
    assert "10:00 calls: 10</title>" in page and "10:00 429s: 3</title>" in page
