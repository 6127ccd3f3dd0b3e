"""Where bridge's CPU per order goes, without Celery: the ingest and submit services
called directly in this process, one thread, on the embedded SQLite ledger (or a fresh
PostgreSQL ledger with --postgres). The difference to the throughput run's figure is
the cost of Celery, the scheduler and concurrency.

    python bench/breakdown.py --orders 2000 [--postgres]"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time

from common import SKUS, configure, postgres_databases, simulator, workdir

from bridge import demo_store
from bridge import logging as bridge_logging
from bridge.bootstrap import build_runtime
from bridge.ledger import migrate
from bridge.services import ingest, submit

STOREFRONT = "demo"


class TimedFba:
    """The real SP-API client, with the CPU this process spends inside each call counted."""

    def __init__(self, fba) -> None:
        self._fba = fba
        self.cpu = 0.0
        self.calls = 0

    def create_fulfillment_order(self, request) -> None:
        start = time.process_time()
        try:
            return self._fba.create_fulfillment_order(request)
        finally:
            self.cpu += time.process_time() - start
            self.calls += 1

    def __getattr__(self, name):
        return getattr(self._fba, name)


def measure(orders: int, postgres: bool) -> dict:
    with contextlib.ExitStack() as stack:
        path = stack.enter_context(workdir("breakdown"))
        sim = stack.enter_context(simulator(clock_factor=0, log=path / "sim.log"))
        urls = {}
        if postgres:
            ledger_url, store_url = stack.enter_context(postgres_databases("ledger", "store"))
            urls = {"database_url": ledger_url, "store_url": store_url}
        config_dir = configure(path, sim.url, orders_seconds=2, **urls)
        runtime = build_runtime(config_dir, configure_logging=False)
        # Same logging as the daemon (JSON lines, info), into memory instead of a file.
        bridge_logging.configure("json", "info", stream=io.StringIO())
        migrate.upgrade(runtime.config.settings.database_url)
        store_url = runtime.storefront(STOREFRONT).cart.settings()["url"]
        demo_store.create_schema(store_url)
        demo_store.place_orders(store_url, orders, SKUS)
        storefront = runtime.storefront(STOREFRONT)
        cart, fba = runtime.cart(STOREFRONT), TimedFba(runtime.fba(STOREFRONT))
        batch = runtime.config.settings.submit_batch

        cpu0, wall0 = time.process_time(), time.monotonic()
        result = ingest.ingest_orders(runtime.ledger, cart, storefront)
        ingest_cpu, ingest_wall = time.process_time() - cpu0, time.monotonic() - wall0
        assert result.ready == orders, result

        # The next poll re-reads the overlap window: every order again, all unchanged.
        cpu0 = time.process_time()
        again = ingest.ingest_orders(runtime.ledger, cart, storefront)
        reread_cpu = time.process_time() - cpu0
        assert again.seen == orders and again.recorded == 0, again

        cpu0, wall0, sim0 = time.process_time(), time.monotonic(), sim.cpu()
        accepted = 0
        while (done := submit.submit_ready(runtime.ledger, fba, cart, storefront, batch)).accepted:
            accepted += done.accepted
        submit_cpu, submit_wall = time.process_time() - cpu0, time.monotonic() - wall0
        sim_cpu = sim.cpu() - sim0
        assert accepted == orders, accepted
        runtime.close()
    ms = lambda seconds: round(1000 * seconds / orders, 2)  # noqa: E731
    return {
        "ledger": "postgres" if postgres else "sqlite",
        "orders": orders,
        "ingest_cpu_ms_per_order": ms(ingest_cpu),
        "ingest_orders_per_s": round(orders / ingest_wall, 1),
        "reread_cpu_ms_per_order": ms(reread_cpu),
        "submit_cpu_ms_per_order": ms(submit_cpu),
        "submit_http_client_cpu_ms_per_order": ms(fba.cpu),
        "submit_ledger_and_rest_cpu_ms_per_order": ms(submit_cpu - fba.cpu),
        "submit_orders_per_s_one_thread": round(orders / submit_wall, 1),
        "sim_cpu_ms_per_create": ms(sim_cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    print(json.dumps(measure(args.orders, args.postgres), indent=2))


if __name__ == "__main__":
    main()
