"""Orders per second from cart to accepted, and CPU milliseconds per order.

A deployment is started and left to finish its first order poll; then N orders are
placed in the store in one transaction (t0), and the ledger is polled until every one
has `accepted_at`. Rate limits are off on both sides (simulator and bridge's limiter),
so the figure is bridge's own cost.

    python bench/throughput.py --topology embedded --orders 2000
    python bench/throughput.py --topology postgres_redis --orders 2000"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import topologies
from common import SKUS, percentile, simulator, spawn, stop, workdir

from bridge import demo_store

# Orders poll interval for throughput runs: short, so the wait for the first poll is a
# small part of the run (write_config's demo value). Status and stock keep the real
# defaults (60 s / 120 s) so their polls do not dominate.
ORDERS_SECONDS = 2.0


# Status, stock and sweep parked far beyond the run: only ingest + submit remain.
PARKED = {"status_seconds": 3600, "stock_seconds": 3600, "sweep_seconds": 3600}


def run(topology: str, orders: int, timeout: float | None = None,
        profile_dir: Path | None = None, park_status: bool = False,
        orders_seconds: float = ORDERS_SECONDS) -> dict:
    timeout = timeout or max(120.0, orders / 10)
    # write_config's overlap with its 2 s poll; config/storefronts/demo.toml's with 30 s.
    intervals = {**(PARKED if park_status else {}),
                 "overlap_seconds": 120 if orders_seconds >= 30 else 30}
    start_deployment = getattr(topologies, topology)
    # The simulator's clock is frozen: orders stay "received" at Amazon, so the status
    # flow finds nothing to refresh and the figure is the cart -> accepted path alone.
    with workdir(topology) as path, simulator(clock_factor=0, log=path / "sim.log") as sim, \
            start_deployment(path, sim.url, orders_seconds=orders_seconds,
                             **intervals) as deployment, \
            profiled(deployment.pids() + [sim.proc.pid], profile_dir):
        cpu_bridge_0, cpu_sim_0 = deployment.cpu(), sim.cpu()
        wall_0 = datetime.now(UTC)
        t0 = time.monotonic()
        demo_store.place_orders(deployment.store_url, orders, SKUS)
        placed = time.monotonic() - t0
        deadline = t0 + timeout
        while (done := deployment.ledger.accepted_count()) < orders:
            deployment.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topology}: {done}/{orders} accepted after {timeout:.0f}s; "
                                   f"states {deployment.ledger.states()}")
            time.sleep(0.25)
        elapsed = time.monotonic() - t0
        cpu_bridge = deployment.cpu() - cpu_bridge_0
        cpu_sim = sim.cpu() - cpu_sim_0
        accepted = sorted((at - wall_0).total_seconds() for at in deployment.ledger.accepted().values())
        states = deployment.ledger.states()
        recorded = max(deployment.ledger.recorded_times())
    # Steady rate: between the 10th and 90th percentile acceptance, which leaves out the
    # wait for the first poll and the ramp at both ends.
    p10, p90 = percentile(accepted, 10), percentile(accepted, 90)
    steady = 0.8 * orders / (p90 - p10) if p90 > p10 else float("nan")
    last = accepted[-1]
    return {
        "topology": topology,
        "orders_seconds": orders_seconds,
        "other_flows": "parked" if park_status else "default intervals",
        "orders": orders,
        "insert_seconds": round(placed, 3),
        "all_recorded_s": round((recorded - wall_0).total_seconds(), 2),
        "first_accepted_s": round(accepted[0], 2),
        "last_accepted_s": round(last, 2),
        "accepted_by_decile_s": [round(percentile(accepted, q), 1) for q in range(10, 101, 10)],
        "orders_per_s": round(orders / last, 1),
        "steady_orders_per_s": round(steady, 1),
        "bridge_cpu_ms_per_order": round(1000 * cpu_bridge / orders, 2),
        "sim_cpu_ms_per_order": round(1000 * cpu_sim / orders, 2),
        "bridge_cpu_cores": round(cpu_bridge / elapsed, 2),
        # The simulator shares the 2 cores: if it were what limits the run, it would be
        # the busy one (near a full core), not bridge.
        "sim_cpu_cores": round(cpu_sim / elapsed, 2),
        "states": states,
    }


@contextlib.contextmanager
def profiled(pids: list[int], profile_dir: Path | None):
    """py-spy sampling each process tree while the orders flow (collapsed stacks)."""
    if profile_dir is None:
        yield
        return
    profile_dir.mkdir(parents=True, exist_ok=True)
    # py-spy is often installed in the virtualenv only, beside this interpreter.
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    spies = [spawn([py_spy, "record", "--subprocesses", "--nonblocking", "--format", "raw",
                    "--rate", "50", "-o", str(profile_dir / f"{pid}.txt"), "-p", str(pid)],
                   log=profile_dir / "py-spy.log")
             for pid in pids]
    time.sleep(1)  # let py-spy attach before the orders arrive
    try:
        yield
    finally:
        for spy in spies:  # SIGINT makes py-spy write its file and exit
            with contextlib.suppress(ProcessLookupError):
                os.kill(spy.pid, signal.SIGINT)
        for spy in spies:
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop(spy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", choices=("embedded", "postgres_redis"), default="embedded")
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="also record py-spy profiles of every process into DIR")
    parser.add_argument("--park-status", action="store_true",
                        help="poll status/stock and sweep only hourly: ingest + submit alone")
    parser.add_argument("--orders-seconds", type=float, default=ORDERS_SECONDS,
                        help="orders poll interval (30 = the shipped default)")
    args = parser.parse_args()
    print(json.dumps(run(args.topology, args.orders, profile_dir=args.profile,
                         park_status=args.park_status, orders_seconds=args.orders_seconds),
                     indent=2))


if __name__ == "__main__":
    main()
