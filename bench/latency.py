"""Order placed -> accepted latency on the embedded default, at a given orders poll
interval. Orders are placed one at a time at random moments (exponential gaps, so they
land at arbitrary points of the poll cycle); latency is the ledger's `accepted_at`
minus the moment the order was committed to the store.

    python bench/latency.py --poll 30 --orders 20 --span 180
    python bench/latency.py --poll 2 --orders 20 --span 40"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime

import topologies
from common import SKUS, percentile, simulator, workdir

from bridge import demo_store
from bridge.demo_store import DemoLine


def run(poll: float, orders: int, span: float, seed: int = 1) -> dict:
    rng = random.Random(seed)
    overlap = 120 if poll >= 30 else 30  # demo.toml's value with 30 s, write_config's with 2 s
    with workdir(f"latency-{poll:g}") as path, simulator(clock_factor=0, log=path / "sim.log") as sim, \
            topologies.embedded(path, sim.url, orders_seconds=poll,
                                overlap_seconds=overlap) as deployment:
        placed: dict[str, datetime] = {}
        for index in range(orders):
            time.sleep(rng.expovariate(orders / span))
            deployment.check_alive()
            lines = [DemoLine(sku, rng.randint(1, 3)) for sku in rng.sample(SKUS, rng.randint(1, 3))]
            order_id = demo_store.insert_order(deployment.store_url, f"#L{index + 1}", lines)
            placed[order_id] = datetime.now(UTC)  # just after the commit
        deadline = time.monotonic() + 2 * poll + 60
        while deployment.ledger.accepted_count() < orders:
            deployment.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"latency: not all accepted; {deployment.ledger.states()}")
            time.sleep(0.2)
        accepted = deployment.ledger.accepted()
    latencies = [(accepted[oid] - at).total_seconds() for oid, at in placed.items()]
    return {
        "poll_seconds": poll,
        "orders": orders,
        "span_s": span,
        "p50_s": round(percentile(latencies, 50), 2),
        "p95_s": round(percentile(latencies, 95), 2),
        "max_s": round(max(latencies), 2),
        "min_s": round(min(latencies), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=float, default=30.0, help="orders_seconds")
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--span", type=float, default=180.0, help="seconds over which to place them")
    args = parser.parse_args()
    print(json.dumps(run(args.poll, args.orders, args.span), indent=2))


if __name__ == "__main__":
    main()
