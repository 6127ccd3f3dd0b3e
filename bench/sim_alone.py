"""The simulator alone, limits off: requests/s and latency of the three calls bridge
makes most, from 2 client threads with one `requests.Session` each. Shows whether the
simulator could be what limits the end-to-end figures.

    python bench/sim_alone.py --seconds 5"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
import uuid

import requests
from common import SKUS, percentile, simulator

MARKETPLACE = "ATVPDKIKX0DER"
OUTBOUND = "/fba/outbound/2020-07-01/fulfillmentOrders"
INVENTORY = "/fba/inventory/v1/summaries"
THREADS = 2


def create_body(order_id: str, sku: str) -> dict:
    return {
        "marketplaceId": MARKETPLACE,
        "sellerFulfillmentOrderId": order_id,
        "displayableOrderId": order_id,
        "displayableOrderDate": "2026-01-01T00:00:00Z",
        "displayableOrderComment": "Thank you for your order.",
        "shippingSpeedCategory": "Standard",
        "fulfillmentAction": "Ship",
        "fulfillmentPolicy": "FillOrKill",
        "destinationAddress": {"name": "Ava Kim", "addressLine1": "12 Main St", "city": "Seattle",
                               "stateOrRegion": "WA", "postalCode": "98101", "countryCode": "US"},
        "items": [{"sellerSku": sku, "sellerFulfillmentOrderItemId": "1", "quantity": 1}],
    }


def access_token(base_url: str) -> str:
    response = requests.post(f"{base_url}/auth/o2/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": "Atzr|bench-refresh-token",
        "client_id": "amzn1.application-oa2-client.bench", "client_secret": "bench-secret"})
    response.raise_for_status()
    return response.json()["access_token"]


def load(name: str, seconds: float, make_request) -> dict:
    """Run `make_request(session, thread, n)` from THREADS threads for `seconds`."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(thread: int) -> None:
        session, mine, failed = requests.Session(), [], 0
        for n in itertools.count():
            if time.monotonic() >= stop_at:
                break
            start = time.perf_counter()
            response = make_request(session, thread, n)
            mine.append(time.perf_counter() - start)
            failed += response.status_code >= 300
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    cpu0, wall0 = time.process_time(), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    return {"operation": name, "requests": len(latencies), "errors": errors[0],
            "requests_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(1000 * percentile(latencies, 50), 2),
            "p99_ms": round(1000 * percentile(latencies, 99), 2),
            "client_cpu_ms_per_request": round(1000 * cpu / len(latencies), 3),
            "_wall": wall}


def run(seconds: float = 5.0) -> list[dict]:
    results = []
    with simulator(clock_factor=0) as sim:
        headers = {"x-amz-access-token": access_token(sim.url)}
        created: list[str] = []
        prefix = uuid.uuid4().hex[:8]

        def create(session, thread, n):
            order_id = f"B{prefix}-{thread}-{n}"
            created.append(order_id)
            return session.post(sim.url + OUTBOUND, headers=headers, timeout=10,
                                json=create_body(order_id, SKUS[n % len(SKUS)]))

        def get(session, thread, n):
            order_id = created[(n * THREADS + thread) % len(created)]
            return session.get(f"{sim.url}{OUTBOUND}/{order_id}", headers=headers, timeout=10)

        def inventory(session, thread, n):
            return session.get(sim.url + INVENTORY, headers=headers, timeout=10, params={
                "granularityType": "Marketplace", "granularityId": MARKETPLACE,
                "marketplaceIds": MARKETPLACE, "details": "true"})

        for name, fn in (("createFulfillmentOrder", create), ("getFulfillmentOrder", get),
                         ("getInventorySummaries", inventory)):
            sim_cpu0 = sim.cpu()
            result = load(name, seconds, fn)
            result["sim_cpu_ms_per_request"] = round(
                1000 * (sim.cpu() - sim_cpu0) / result["requests"], 3)
            result.pop("_wall")
            results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per operation")
    args = parser.parse_args()
    print(json.dumps(run(args.seconds), indent=2))


if __name__ == "__main__":
    main()
