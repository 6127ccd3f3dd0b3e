"""Stock reconciliation: what one full stock cycle costs each platform, and how long an
Amazon stock change takes to reach the shop at the default intervals.

(a) Per platform, with the stateful fake of the test suite (in-process, as in
    bench/adapters.py) and Amazon's side in memory: bridge's real stock cycle
    (`services.stock.sync_stock`, SQLite ledger) over N SKUs, three times —
      1. first sync: every SKU differs (reads + writes);
      2. 1 % of the SKUs changed in the shop behind bridge's back (reads + those writes);
      3. nothing changed (reads only).
    Platform requests are counted and compared with the minimum for the adapter's read
    and write batch sizes (ceil(SKUs / read batch) reads, ceil(changed / write batch)
    writes). First-sync SKU lookups are listed apart (later cycles use the adapter cache).
(b) Amazon → shop latency at the default `poll.stock_seconds` (300 s): stock changes at
    random moments of a virtual clock; each is in the shop at the end of the next stock
    cycle, whose duration is the measured wall time of cycle 2 above on the sql shop.

    python bench/stock_reconcile.py [--skus 10000] [--platform sql ...]"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time

from adapters import PLATFORMS, RIGS, calls_of
from common import REPO_DIR, workdir

sys.path.insert(0, str(REPO_DIR / "tests"))

from fakes.inventory import InventoryStandIn  # noqa: E402

from bridge.config import CartConnection, FulfillmentAccount, PollIntervals, StorefrontConfig  # noqa: E402
from bridge.domain.model import StockLevel  # noqa: E402
from bridge.ledger import migrate  # noqa: E402
from bridge.ledger.db import make_engine  # noqa: E402
from bridge.ledger.repo import Ledger  # noqa: E402
from bridge.services.stock import sync_stock  # noqa: E402


def storefront(platform: str) -> StorefrontConfig:
    return StorefrontConfig(
        name="bench", cart=CartConnection(platform=platform),
        fulfillment=FulfillmentAccount(client_id="x", client_secret="env:UNUSED",
                                       refresh_token="env:UNUSED"))


def requests_made(rig) -> int:
    calls = calls_of(rig)
    calls.pop(("BEGIN (transactions)", ""), None)
    total = sum(calls.values())
    calls.clear()
    return total


def measure(platform: str, skus: int) -> dict:
    rig = RIGS[platform](False)
    names = [f"SKU-{i:05d}" for i in range(skus)]
    amazon = InventoryStandIn()
    amazon.set({sku: 10 + i % 50 for i, sku in enumerate(names)})
    with rig.served, workdir(f"reconcile-{platform}") as folder:
        url = f"sqlite:///{folder / 'ledger.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        ledger, shop = Ledger(engine), storefront(platform)
        rig.add_skus(names)
        adapter, editor = rig.adapter(), rig.adapter()
        try:
            editor.set_stock([StockLevel(sku, 0) for sku in names])  # the shop has every SKU
            requests_made(rig)
            first = sync_stock(ledger, amazon, adapter, shop)
            first_calls = requests_made(rig)
            drifted = names[:: 100]
            editor.set_stock([StockLevel(sku, 999) for sku in drifted])
            requests_made(rig)
            started = time.perf_counter()
            second = sync_stock(ledger, amazon, adapter, shop)
            second_wall = time.perf_counter() - started
            second_calls = requests_made(rig)
            third = sync_stock(ledger, amazon, adapter, shop)
            third_calls = requests_made(rig)
        finally:
            adapter.close()
            editor.close()
            engine.dispose()
        stored = rig.stock()
    wrong = sum(stored.get(sku) != 10 + i % 50 for i, sku in enumerate(names))
    if wrong or second.drift != len(drifted) or third.written:
        raise AssertionError(f"{platform}: {wrong} SKUs wrong, drift {second.drift}, "
                             f"third cycle wrote {third.written}")
    caps = adapter.capabilities
    read_batch = caps.stock_read_batch_size
    write_batch = getattr(rig, "write_batch", None) or caps.stock_batch_size
    reads_min = math.ceil(skus / read_batch)
    return {
        "platform": platform, "skus": skus, "read_batch": read_batch, "write_batch": write_batch,
        "first_sync_requests": first_calls, "first_sync_written": first.written,
        "drift_cycle_requests": second_calls, "drift_cycle_written": second.written,
        "drift_cycle_minimum": reads_min + math.ceil(len(drifted) / write_batch),
        "quiet_cycle_requests": third_calls, "quiet_cycle_minimum": reads_min,
        "drift_cycle_wall_s": round(second_wall, 3),
    }


def latency(cycle_seconds: float, interval: float = PollIntervals().stock_seconds,
            samples: int = 10_000, seed: int = 7) -> dict:
    """Change at a random moment; in the shop when the next cycle ends."""
    rng = random.Random(seed)
    waits = sorted((interval - rng.uniform(0, interval)) + cycle_seconds for _ in range(samples))
    return {"interval_s": interval, "cycle_s": cycle_seconds,
            "p50_s": round(statistics.median(waits), 1),
            "p95_s": round(waits[int(0.95 * len(waits))], 1), "max_s": round(waits[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--platform", action="append", choices=PLATFORMS)
    args = parser.parse_args()
    results = [measure(p, args.skus) for p in (args.platform or PLATFORMS)]
    sql = next((r for r in results if r["platform"] == "sql"), results[0])
    print(json.dumps({"cycles": results, "amazon_to_shop": latency(sql["drift_cycle_wall_s"])},
                     indent=2))


if __name__ == "__main__":
    main()
