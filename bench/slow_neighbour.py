"""A slow neighbour: one storefront's order latency on the embedded default while a
second storefront's shop drips every answer one byte at a time.

The second storefront is a WooCommerce shop served by a loopback stand-in that sends
the status line and then one byte a second for as long as the client listens, so each
of its calls runs into the adapter's total deadline. The first storefront is the SQL
demo store. Orders are placed in the first one at random moments (as bench/latency.py
does) and placed → accepted is measured, once without the neighbour and once with it.

    python bench/slow_neighbour.py [--orders 15] [--span 45] [--poll 2]"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime

from common import (
    REPO_DIR,
    SKUS,
    LedgerReader,
    bridge_cmd,
    bridge_env,
    configure,
    percentile,
    simulator,
    spawn,
    stop,
    wait_until,
    workdir,
)

from bridge import demo_store
from bridge.demo_store import DemoLine

sys.path.insert(0, str(REPO_DIR / "tests"))

from fakes.raw_http import StandIn  # noqa: E402

DRIP_TIMEOUT = 10  # the slow shop's `timeout_seconds`: every call of it ends there


def drip_forever(request, conn) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(600):
        conn.sendall(b" ")
        time.sleep(1)


def add_slow_storefront(config_dir, shop_url: str, sim_url: str) -> None:
    demo = (config_dir / "storefronts" / "demo.toml").read_text()
    fulfillment = demo[demo.index("[fulfillment]"):demo.index("[policy]")]
    (config_dir / "storefronts" / "slow.toml").write_text(
        'name = "slow"\norder_id_prefix = "SLOW"\n\n[cart]\nplatform = "woocommerce"\n'
        f'url = "{shop_url}"\nconsumer_key = "env:BENCH_WOO_KEY"\n'
        f'consumer_secret = "env:BENCH_WOO_SECRET"\ntimeout_seconds = {DRIP_TIMEOUT}\n\n'
        f"{fulfillment}\n[poll]\norders_seconds = 2\nstatus_seconds = 2\nstock_seconds = 2\n")


def measure(orders: int, span: float, poll: float, neighbour: bool, seed: int = 3) -> dict:
    rng = random.Random(seed)
    name = "with-neighbour" if neighbour else "alone"
    with workdir(f"slow-neighbour-{name}") as path, \
            simulator(clock_factor=0, log=path / "sim.log") as sim, StandIn(drip_forever) as shop:
        config_dir = configure(path, sim.url, orders_seconds=poll)
        if neighbour:
            add_slow_storefront(config_dir, shop.base_url, sim.url)
        store_url = f"sqlite:///{path / 'store.db'}"
        demo_store.create_schema(store_url)
        env = {**bridge_env(config_dir), "BENCH_WOO_KEY": "ck_bench", "BENCH_WOO_SECRET": "cs_bench"}
        proc = spawn(bridge_cmd("run"), env=env, log=path / "bridge-run.log", cwd=path)
        ledger = LedgerReader(f"sqlite:///{path / 'ledger.db'}")
        try:
            wait_until(ledger.ready, 60, "the first order poll")
            placed: dict[str, datetime] = {}
            for index in range(orders):
                time.sleep(rng.expovariate(orders / span))
                lines = [DemoLine(sku, 1) for sku in rng.sample(SKUS, 2)]
                order_id = demo_store.insert_order(store_url, f"#N{index + 1}", lines)
                placed[order_id] = datetime.now(UTC)
            wait_until(lambda: ledger.accepted_count() >= orders, 2 * poll + 90, "every order accepted")
            accepted = ledger.accepted()
            slow_calls = len(shop.requests)
        finally:
            stop(proc)
            ledger.close()
    latencies = [(accepted[oid] - at).total_seconds() for oid, at in placed.items()]
    return {"run": name, "orders": orders, "poll_s": poll,
            "p50_s": round(percentile(latencies, 50), 2), "p95_s": round(percentile(latencies, 95), 2),
            "max_s": round(max(latencies), 2), "slow_shop_requests": slow_calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=15)
    parser.add_argument("--span", type=float, default=45.0)
    parser.add_argument("--poll", type=float, default=2.0)
    args = parser.parse_args()
    print(json.dumps([measure(args.orders, args.span, args.poll, neighbour)
                      for neighbour in (False, True)], indent=2))


if __name__ == "__main__":
    main()
