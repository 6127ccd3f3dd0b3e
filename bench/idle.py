"""Idle cost: N storefronts on the demo SQL store with no orders, the simulator behind
them, and the CPU every bridge process spends over a window, as CPU-seconds per
storefront-hour; beat (the tick sender) apart on the production topology.

    python bench/idle.py --storefronts 200 --window 180
    python bench/idle.py --storefronts 50 --topology embedded
    python bench/idle.py --storefronts 1000 --sweep-only   # one sweep, in-process

Intervals are bridge's defaults (orders 60 s, status 120 s, stock 300 s, inbound 900 s,
sweep 60 s), so the window sees every periodic flow run. The first window starts after
a warm-up, once every storefront could have polled once."""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from common import simulator, workdir
from topologies import Deployment, embedded, postgres_redis

from bridge import demo_store

INTERVALS = {"orders_seconds": 60, "status_seconds": 120, "stock_seconds": 300,
             "sweep_seconds": 60}


def many_storefronts(config_dir: Path, count: int) -> None:
    """The demo storefront file copied `count` times, all on one SQLite demo store (it
    has no orders; one file keeps 200 storefronts from opening 200 PostgreSQL pools)."""
    folder = config_dir / "storefronts"
    store_url = f"sqlite:///{(config_dir.parent / 'idle-store.db').resolve()}"
    demo_store.create_schema(store_url)
    template = (folder / "demo.toml").read_text()
    template = re.sub(r'(?m)^url = ".*"$', f'url = "{store_url}"', template, count=1)
    (folder / "demo.toml").unlink()
    for index in range(count):
        name = f"shop{index:04d}"
        text = re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', template)
        text = re.sub(r'(?m)^order_id_prefix = ".*"$', f'order_id_prefix = "S{index:04d}"', text)
        (folder / f"{name}.toml").write_text(text)


def measure(deployment: Deployment, storefronts: int, warmup: float, window: float) -> dict:
    time.sleep(warmup)
    deployment.check_alive()
    # One name per process, from its log file: bridge-worker-submit.log → worker-submit.
    names = [log.stem.removeprefix("bridge-") for log in deployment.logs]
    before = {name: deployment_cpu(deployment, i) for i, name in enumerate(names)}
    started = time.monotonic()
    time.sleep(window)
    elapsed = time.monotonic() - started
    deployment.check_alive()
    spent = {name: deployment_cpu(deployment, i) - before[name] for i, name in enumerate(names)}
    total = sum(spent.values())
    hours = elapsed / 3600
    return {
        "topology": deployment.name, "storefronts": storefronts, "window_s": round(elapsed, 1),
        "cpu_s": round(total, 2),
        "cpu_s_per_storefront_hour": round(total / storefronts / hours, 3),
        "cores": round(total / elapsed, 4),
        "per_process_cores": {name: round(cpu / elapsed, 4) for name, cpu in spent.items()},
    }


def deployment_cpu(deployment: Deployment, index: int) -> float:
    from common import tree_cpu

    return tree_cpu([deployment.procs[index].pid])


def run(topology: str, storefronts: int, warmup: float, window: float) -> dict:
    start = {"embedded": embedded, "postgres_redis": postgres_redis}[topology]
    with simulator() as sim, workdir(f"idle-{topology}") as folder:
        original = _patch_configure(storefronts)
        try:
            with start(folder, sim.url, **INTERVALS) as deployment:
                return measure(deployment, storefronts, warmup, window)
        finally:
            _restore_configure(original)


def _patch_configure(storefronts: int):
    """topologies.configure writes one demo storefront; multiply it before the daemon starts."""
    import topologies

    original = topologies.configure

    def configure(*args, **kwargs):
        config_dir = original(*args, **kwargs)
        many_storefronts(config_dir, storefronts)
        return config_dir

    topologies.configure = configure
    return original


def _restore_configure(original) -> None:
    import topologies

    topologies.configure = original


def sweep_cost(storefronts: int, repeat: int = 5) -> dict:
    """CPU ms of one sweep (and of the watchdog run after it) over `storefronts` idle
    storefronts, in this process, on a SQLite and on a PostgreSQL ledger."""
    from datetime import timedelta

    from common import postgres_databases

    from bridge.config import load_config
    from bridge.demo import write_config
    from bridge.ledger import migrate
    from bridge.ledger.db import make_engine
    from bridge.ledger.repo import Ledger
    from bridge.services import sweep, watchdog

    results: dict = {"storefronts": storefronts}
    with workdir("sweep") as folder, postgres_databases("ledger") as (postgres_url,):
        config_dir = write_config(folder, "http://127.0.0.1:9", rate_limit_url="off")
        many_storefronts(config_dir, storefronts)
        config = load_config(config_dir)
        thresholds = watchdog.Thresholds.from_settings(config.settings)
        for name, url in (("sqlite", config.settings.database_url), ("postgres", postgres_url)):
            migrate.upgrade(url)
            engine = make_engine(url)
            ledger = Ledger(engine)
            runs = {"sweep": lambda ledger=ledger: sweep.sweep(ledger, config.storefronts,
                                                                timedelta(minutes=5)),
                    "watchdog": lambda ledger=ledger: watchdog.watch(ledger, config.storefronts,
                                                                     None, thresholds)}
            for part, run_once in runs.items():
                run_once()
                started = time.process_time()
                for _ in range(repeat):
                    run_once()
                results[f"{part}_{name}_ms"] = round((time.process_time() - started) / repeat * 1000, 1)
            engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--storefronts", type=int, default=200)
    parser.add_argument("--topology", choices=["postgres_redis", "embedded", "both"], default="both")
    parser.add_argument("--warmup", type=float, default=75)
    parser.add_argument("--window", type=float, default=180)
    parser.add_argument("--sweep-only", action="store_true",
                        help="only the CPU of one sweep and one watchdog run, in-process")
    args = parser.parse_args()
    if args.sweep_only:
        print(json.dumps(sweep_cost(args.storefronts)), flush=True)
        return
    topologies = ["postgres_redis", "embedded"] if args.topology == "both" else [args.topology]
    for topology in topologies:
        print(json.dumps(run(topology, args.storefronts, args.warmup, args.window)), flush=True)


if __name__ == "__main__":
    main()
