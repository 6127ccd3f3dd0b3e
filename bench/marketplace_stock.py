"""Stock with several marketplaces: what a stock cycle costs when Amazon's inventory is
read per marketplace (home only, or US + CA + MX added up).

Bridge's real stock cycle (`services.stock.sync_stock`, SQLite ledger) over N SKUs on the
sql shop's stateful rig (as in bench/stock_reconcile.py), Amazon in memory
(`FakeFulfillmentNetwork`, stock in each marketplace). Per configuration: the first sync,
then a quiet cycle (a full Amazon read of every routed marketplace, every shop SKU read,
nothing to write), timed, with the inventory reads counted. Every SKU is checked in the
store afterwards against the expected number (home's, or the sum).

    python bench/marketplace_stock.py [--skus 10000]"""

from __future__ import annotations

import argparse
import json
import sys
import time

from adapters import RIGS
from common import REPO_DIR, workdir

sys.path.insert(0, str(REPO_DIR / "tests"))

from bridge.config import CartConnection, FulfillmentAccount, StorefrontConfig  # noqa: E402
from bridge.domain.model import StockLevel  # noqa: E402
from bridge.fba.fake import FakeFulfillmentNetwork  # noqa: E402
from bridge.ledger import migrate  # noqa: E402
from bridge.ledger.db import make_engine  # noqa: E402
from bridge.ledger.repo import Ledger  # noqa: E402
from bridge.services.stock import sync_stock  # noqa: E402

CA, MX = "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"
ROUTING = {"US": "US", "CA": CA, "MX": MX, "default": "refuse"}


def storefront(shop_stock: str, routed: bool) -> StorefrontConfig:
    return StorefrontConfig(
        name="bench", cart=CartConnection(platform="sql"),
        fulfillment=FulfillmentAccount(client_id="x", client_secret="env:UNUSED",
                                       refresh_token="env:UNUSED", shop_stock=shop_stock,
                                       routing=ROUTING if routed else {}))


def measure(label: str, skus: int, shop_stock: str, routed: bool) -> dict:
    rig = RIGS["sql"](False)
    names = [f"SKU-{i:05d}" for i in range(skus)]
    amazon = FakeFulfillmentNetwork()
    home = {sku: 10 + i % 50 for i, sku in enumerate(names)}
    amazon.set_stock(home)
    amazon.set_stock({sku: i % 7 for i, sku in enumerate(names)}, marketplace_id=CA)
    amazon.set_stock({sku: i % 3 for i, sku in enumerate(names)}, marketplace_id=MX)
    expected = ({sku: home[sku] + i % 7 + i % 3 for i, sku in enumerate(names)}
                if shop_stock == "sum" else home)
    with rig.served, workdir(f"marketplaces-{label}") as folder:
        url = f"sqlite:///{folder / 'ledger.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        ledger, shop = Ledger(engine), storefront(shop_stock, routed)
        rig.add_skus(names)
        adapter, editor = rig.adapter(), rig.adapter()
        try:
            editor.set_stock([StockLevel(sku, 0) for sku in names])
            started = time.perf_counter()
            sync_stock(ledger, amazon, adapter, shop, full=True)
            first_wall = time.perf_counter() - started
            reads_before = amazon.calls["inventory_levels"]
            started = time.perf_counter()
            quiet = sync_stock(ledger, amazon, adapter, shop, full=True)
            quiet_wall = time.perf_counter() - started
            quiet_reads = amazon.calls["inventory_levels"] - reads_before
        finally:
            adapter.close()
            editor.close()
            engine.dispose()
        stored = rig.stock()
    wrong = sum(stored.get(sku) != expected[sku] for sku in names)
    if wrong or quiet.written:
        raise AssertionError(f"{label}: {wrong} SKUs wrong, quiet cycle wrote {quiet.written}")
    return {"configuration": label, "skus": skus, "first_sync_wall_s": round(first_wall, 2),
            "quiet_cycle_wall_s": round(quiet_wall, 2), "quiet_cycle_inventory_reads": quiet_reads,
            "amazon_summaries_read": quiet.read}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    args = parser.parse_args()
    results = [measure("no routing", args.skus, "home", False),
               measure("routed, shop shows home", args.skus, "home", True),
               measure("routed, shop shows the sum", args.skus, "sum", True)]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
