"""Several clients at once against the uvicorn-served simulator: creates and reads
interleave without a 5xx, and every order is there exactly once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests
from sim_helpers import OUTBOUND, order_body

CLIENTS = 8
ORDERS_PER_CLIENT = 12


def _client(base_url: str, token: str, client: int) -> list[tuple[str, int]]:
    """Create orders one after the other, reading each back and listing all; every
    client also races the others to create one shared order id."""
    session = requests.Session()
    session.headers["x-amz-access-token"] = token
    statuses = []
    for n in range(ORDERS_PER_CLIENT):
        order_id = f"c{client}-{n}"
        created = session.post(f"{base_url}{OUTBOUND}/fulfillmentOrders",
                               json=order_body(order_id), timeout=10)
        read = session.get(f"{base_url}{OUTBOUND}/fulfillmentOrders/{order_id}", timeout=10)
        listed = session.get(f"{base_url}{OUTBOUND}/fulfillmentOrders", timeout=10)
        statuses += [("create", created.status_code), ("get", read.status_code),
                     ("list", listed.status_code)]
    shared = session.post(f"{base_url}{OUTBOUND}/fulfillmentOrders",
                          json=order_body("shared-1"), timeout=10)
    statuses.append(("shared", shared.status_code))
    return statuses


def test_concurrent_clients_lose_and_duplicate_nothing(sim):
    sim.admin.set_stock({"SKU-A": 2 * (CLIENTS * ORDERS_PER_CLIENT + 1)})
    token = sim.access_token()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lambda c: _client(sim.base_url, token, c), range(CLIENTS)))

    answered = Counter(pair for statuses in results for pair in statuses)
    assert not [pair for pair in answered if pair[1] >= 500], answered
    expected = CLIENTS * ORDERS_PER_CLIENT
    assert answered[("create", 200)] == answered[("get", 200)] == expected
    assert answered[("list", 200)] == expected
    # The shared id: exactly one client wins, the others are told it exists.
    assert (answered[("shared", 200)], answered[("shared", 400)]) == (1, CLIENTS - 1)

    ids = Counter(o["sellerFulfillmentOrderId"] for o in sim.admin.orders())
    assert set(ids.values()) == {1}  # nothing duplicated
    assert len(ids) == expected + 1  # nothing lost
    reserved = sim.admin.inventory()["SKU-A"]["reserved"]
    assert reserved == 2 * (expected + 1)  # every order reserved its two units once
