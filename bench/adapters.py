"""Cart adapters against the stateful platform fakes of the test suite:

(a) orders per second one adapter can read (`fetch_orders`, every page of a window) from a
    fake that answers instantly, and the platform requests each order costs;
(b) the platform requests a full stock sync of 10,000 SKUs costs (`set_stock`), split
    into the SKU lookups (first sync only; later syncs use the adapter's cache) and the
    writes, with the writes compared to the platform's minimum for its batch size.

"Answering instantly": the fakes are Starlette apps that do real work (schema checks,
linear scans), so they are not instant. Each one is served in this process through a
`requests` transport adapter (`InProcessTransport`) and the CPU the fake spends inside
each request is measured and subtracted; there is no socket, so the figure is the
adapter's own work (parsing, mapping, paging) without the HTTP client stack. With
`--over-http` the fake is served with `tests/fakes/server.FakeServer` on 127.0.0.1 as
the contract tests do, and the adapter's thread CPU is counted (the fake runs in other
threads), which adds the HTTP client's cost. The sql adapter reads a SQLite store file;
its figure includes SQLite's own work, which runs in the adapter's thread.

    python bench/adapters.py [--orders 2000] [--skus 10000] [--platform shopify ...]"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

import requests
import sqlalchemy as sa
import urllib3
from common import REPO_DIR, workdir
from requests.structures import CaseInsensitiveDict

from bridge import demo_store
from bridge.carts.bigcommerce import BigCommerceAdapter
from bridge.carts.magento import MagentoAdapter
from bridge.carts.shopify import ShopifyAdapter
from bridge.carts.sql import SqlCartAdapter
from bridge.carts.woocommerce import WooCommerceAdapter
from bridge.domain.model import StockLevel

# The platform fakes live in tests/fakes and are imported as the `fakes` package, the
# way the contract tests import them; bench/ is not a package, so put tests/ on the path.
sys.path.insert(0, str(REPO_DIR / "tests"))

from fakes.bigcommerce_fake import BigCommerceFake  # noqa: E402
from fakes.magento_fake import MagentoFake  # noqa: E402
from fakes.server import FakeServer  # noqa: E402
from fakes.shopify_fake import DEFAULT_LOCATION, ShopifyFake  # noqa: E402
from fakes.woocommerce_fake import WooStore, create_app  # noqa: E402

PLATFORMS = ("shopify", "woocommerce", "bigcommerce", "magento", "sql")
# Never contacted in-process (the transport answers); over HTTP the real port replaces it.
NOWHERE = "http://127.0.0.1:9"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PAGE = 100  # bridge's default `page_size`
ORDER_SKUS = ("MUG-BLUE", "MUG-RED", "TEE-M", "TEE-L", "CAP-01")
SECRETS = {
    "env:SHOPIFY_TOKEN": "shpat_fake_admin_token",
    "env:WOO_KEY": "ck_fake_0123456789abcdef",
    "env:WOO_SECRET": "cs_fake_0123456789abcdef",
    "env:BC_TOKEN": "bc-bench-token",
    "env:MAGENTO_TOKEN": "adm1n7oken0f4magent0st0reXXXXXXX",
}
ADDRESS = {"name": "Ava Johnson", "line1": "1200 Pine St", "line2": "Apt 4", "city": "Seattle",
           "state": "WA", "zip": "98101", "country": "US", "phone": "+12065550100"}


def secret(reference: str) -> str:
    return SECRETS[reference]


def lines_of(index: int) -> list[tuple[str, int]]:
    """One or two lines per order, SKUs cycling through ORDER_SKUS."""
    first = ORDER_SKUS[index % len(ORDER_SKUS)]
    if index % 2:
        return [(first, 1)]
    return [(first, 2), (ORDER_SKUS[(index + 1) % len(ORDER_SKUS)], 1)]


def changed_at(index: int) -> datetime:
    # Three orders share each second, so the adapters' same-second paging is exercised.
    return T0 + timedelta(seconds=index // 3)


# ---------------------------------------------------------------- serving a fake in-process

class InProcessTransport(requests.adapters.BaseAdapter):
    """A `requests` transport that calls an ASGI app directly: no socket, no urllib3.
    Measures the CPU the app spends answering."""

    def __init__(self, app) -> None:
        super().__init__()
        self.app = app
        self.loop = asyncio.new_event_loop()
        # This thread's CPU inside the app (routing, middleware, async handlers). Sync
        # handlers run in anyio's worker threads, which the adapter's thread_time never
        # counted in the first place.
        self.app_cpu = 0.0

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1"))
                   for k, v in request.headers.items()]
        headers.append((b"host", url.netloc.encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": request.method, "scheme": url.scheme, "root_path": "",
                 "path": unquote(url.path), "raw_path": url.path.encode(),
                 "query_string": url.query.encode(), "headers": headers,
                 "server": (url.hostname, url.port or 80), "client": ("127.0.0.1", 40000)}
        sent = {"status": 500, "headers": [], "body": []}

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send_message(message):
            if message["type"] == "http.response.start":
                sent["status"], sent["headers"] = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                sent["body"].append(message.get("body", b""))

        started = time.thread_time()
        self.loop.run_until_complete(self.app(scope, receive, send_message))
        self.app_cpu += time.thread_time() - started
        response = requests.Response()
        response.status_code = sent["status"]
        response.headers = CaseInsensitiveDict(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in sent["headers"])
        content = b"".join(sent["body"])
        # A urllib3 response over the bytes, as a real transport gives: bridge's edge
        # streams every body through `raw.read(n, decode_content=...)` under its caps.
        response.raw = urllib3.HTTPResponse(body=io.BytesIO(content), headers=sent_headers(sent),
                                            status=sent["status"], preload_content=False)
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.url, response.request, response.reason = request.url, request, ""
        return response

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.loop.close()


def sent_headers(sent: dict) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in sent["headers"]}


def counting(app, calls: Counter):
    """The fake's ASGI app, counting the requests it receives per (method, path)."""
    async def counted(scope, receive, send):
        if scope["type"] == "http":
            calls[(scope["method"], scope["path"])] += 1
        await app(scope, receive, send)
    return counted


class Served:
    """One fake behind one adapter, in-process (default) or over loopback HTTP."""

    def __init__(self, app, over_http: bool) -> None:
        self.calls: Counter = Counter()
        self.app, self.over_http = counting(app, self.calls), over_http
        self.transport = InProcessTransport(self.app)
        self.server: FakeServer | None = None
        self.base_url = NOWHERE

    def __enter__(self) -> Served:
        if self.over_http:
            self.server = FakeServer(self.app).__enter__()
            self.base_url = self.server.base_url
        return self

    def attach(self, session: requests.Session) -> None:
        if not self.over_http:
            session.mount("http://", self.transport)

    def __exit__(self, *exc) -> None:
        if self.server:
            self.server.__exit__(*exc)
        self.transport.close()


# ---------------------------------------------------------------- one rig per platform

class ShopifyRig:
    platform = "shopify"
    write_batch = 250  # quantities per inventorySetQuantities

    def __init__(self, over_http: bool) -> None:
        # A restore rate far above the adapter's needs: its leaky bucket never waits.
        self.fake = ShopifyFake(restore_rate=1e9)
        self.served = Served(self.fake.app, over_http)

    def adapter(self):
        settings = {"platform": "shopify", "shop": self.served.base_url, "api_version": "2026-07",
                    "access_token": "env:SHOPIFY_TOKEN", "location_id": DEFAULT_LOCATION}
        adapter = ShopifyAdapter.from_settings(settings, secret)
        self.served.attach(adapter.http.session)
        return adapter

    def add_order(self, index: int) -> None:
        items = [(sku, qty, True) for sku, qty in lines_of(index)]
        self.fake.add_order(f"#{1000 + index}", updated_at=changed_at(index),
                            address={"firstName": "Ava", "lastName": "Johnson", "company": None,
                                     "address1": ADDRESS["line1"], "address2": ADDRESS["line2"],
                                     "city": ADDRESS["city"], "provinceCode": ADDRESS["state"],
                                     "zip": ADDRESS["zip"], "countryCodeV2": ADDRESS["country"],
                                     "phone": ADDRESS["phone"]},
                            fulfillment_orders=[(DEFAULT_LOCATION, "OPEN", items)])

    def add_skus(self, skus: list[str]) -> None:
        # The fake's ensure_variant scans every variant (quadratic for 10,000); same shape.
        for sku in skus:
            self.fake.variants.append({"id": self.fake.gid("ProductVariant"), "sku": sku,
                                       "inventory_item_id": self.fake.gid("InventoryItem"),
                                       "tracked": True})

    def stock(self) -> dict[str, int]:
        return self.fake.stock_by_sku()


class WooRig:
    platform = "woocommerce"
    write_batch = 100  # items per products/batch (woocommerce_rest_batch_items_limit)

    def __init__(self, over_http: bool) -> None:
        self.store = WooStore()
        self.served = Served(create_app(self.store), over_http)

    def adapter(self):
        settings = {"platform": "woocommerce", "url": self.served.base_url,
                    "consumer_key": "env:WOO_KEY", "consumer_secret": "env:WOO_SECRET"}
        adapter = WooCommerceAdapter.from_settings(settings, secret, sleep=lambda _s: None)
        self.served.attach(adapter.http.session)
        return adapter

    def add_order(self, index: int) -> None:
        first, _, last = ADDRESS["name"].partition(" ")
        self.store.add_order(f"#{1000 + index}", lines_of(index), modified=changed_at(index),
                             shipping={"first_name": first, "last_name": last,
                                       "address_1": ADDRESS["line1"], "address_2": ADDRESS["line2"],
                                       "city": ADDRESS["city"], "state": ADDRESS["state"],
                                       "postcode": ADDRESS["zip"], "country": ADDRESS["country"]})

    def add_skus(self, skus: list[str]) -> None:
        for sku in skus:  # simple products: one products/batch call covers any 100 of them
            self.store.add_product(sku)

    def stock(self) -> dict[str, int]:
        return {p["sku"]: p["stock_quantity"] for p in self.store.products.values() if p["manage_stock"]}


class BigCommerceRig:
    platform = "bigcommerce"
    write_batch = 2000  # items per absolute adjustment

    def __init__(self, over_http: bool) -> None:
        self.fake = BigCommerceFake(token=SECRETS["env:BC_TOKEN"])
        self.fake.limit.quota = self.fake.limit.left = 10**9  # never throttled
        self.served = Served(self.fake.app, over_http)

    def adapter(self):
        settings = {"platform": "bigcommerce", "store_hash": self.fake.store_hash,
                    "access_token": "env:BC_TOKEN",
                    "api_base": self.served.base_url + "/stores/{store_hash}"}
        adapter = BigCommerceAdapter.from_settings(settings, secret)
        self.served.attach(adapter.http.session)
        return adapter

    def add_order(self, index: int) -> None:
        first, _, last = ADDRESS["name"].partition(" ")
        self.fake.add_order(1000 + index, modified=changed_at(index),
                            lines=[{"sku": sku, "quantity": qty, "type": "physical"}
                                   for sku, qty in lines_of(index)],
                            address={"first_name": first, "last_name": last, "company": "",
                                     "street_1": ADDRESS["line1"], "street_2": ADDRESS["line2"],
                                     "city": ADDRESS["city"], "state": ADDRESS["state"],
                                     "zip": ADDRESS["zip"], "country_iso2": ADDRESS["country"],
                                     "phone": ADDRESS["phone"], "email": "ava@example.com"})

    def add_skus(self, skus: list[str]) -> None:
        # Half with options (stock per variant), half without (stock on the product), as
        # the contract test does; both kinds go into the same adjustment batches.
        for i, sku in enumerate(skus):
            self.fake.add_catalog_sku(sku, with_options=i % 2 == 0)

    def stock(self) -> dict[str, int]:
        return self.fake.stock()


class MagentoRig:
    platform = "magento"

    def __init__(self, over_http: bool) -> None:
        self.fake = MagentoFake(admin_tokens={SECRETS["env:MAGENTO_TOKEN"]})
        self.served = Served(self.fake.app, over_http)
        self.write_batch = None  # the adapter's configured stock_batch_size, read below

    def adapter(self):
        settings = {"platform": "magento", "url": self.served.base_url,
                    "access_token": "env:MAGENTO_TOKEN"}
        adapter = MagentoAdapter.from_settings(settings, secret)
        self.write_batch = adapter.stock_batch_size
        self.served.attach(adapter.http.session)
        return adapter

    def add_order(self, index: int) -> None:
        first, _, last = ADDRESS["name"].partition(" ")
        rows = [self.fake.item(sku, qty) for sku, qty in lines_of(index)]
        self.fake.add_order(f"{100000 + index}", rows, updated_at=changed_at(index),
                            address={"firstname": first, "lastname": last,
                                     "street": [ADDRESS["line1"], ADDRESS["line2"]],
                                     "city": ADDRESS["city"], "region_code": ADDRESS["state"],
                                     "region": ADDRESS["state"], "postcode": ADDRESS["zip"],
                                     "country_id": ADDRESS["country"],
                                     "telephone": ADDRESS["phone"]})

    def add_skus(self, skus: list[str]) -> None:
        """MSI source items are addressed by SKU: nothing to look up or prepare."""

    def stock(self) -> dict[str, int]:
        return {sku: item["quantity"] for (sku, source), item in self.fake.source_items.items()
                if source == "default"}


class SqlRig:
    """The sql adapter on a SQLite store file (demo_store's schema); statements are its
    platform calls."""
    platform = "sql"

    def __init__(self, over_http: bool) -> None:
        self.folder = contextlib.ExitStack()
        path = self.folder.enter_context(workdir("adapters-sql"))
        self.url = f"sqlite:///{path / 'store.db'}"
        demo_store.create_schema(self.url)
        self.served = self  # the context protocol below stands in for Served
        self.calls: Counter = Counter()
        self.write_batch = SqlCartAdapter.capabilities.stock_batch_size

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.folder.close()

    def adapter(self):
        adapter = SqlCartAdapter.from_settings({"platform": "sql", "url": self.url}, secret)
        sa.event.listen(adapter._engine, "before_cursor_execute", self._count)
        return adapter

    def _count(self, _conn, _cursor, statement: str, *_args) -> None:
        # A statement is the SQL store's "request"; the BEGIN that opens each transaction
        # is counted apart so the figure compares with the other platforms' calls.
        verb = statement.split(None, 1)[0].upper()
        self.calls[("BEGIN (transactions)", "") if verb == "BEGIN" else (verb, "")] += 1

    def add_orders(self, count: int) -> None:
        for index in range(count):
            demo_store.insert_order(self.url, f"#{1000 + index}",
                                    [demo_store.DemoLine(sku, qty) for sku, qty in lines_of(index)],
                                    updated_at=changed_at(index))

    def add_skus(self, skus: list[str]) -> None:
        """Stock rows are upserted by SKU: nothing to prepare."""

    def stock(self) -> dict[str, int]:
        return demo_store.read_stock(self.url)


RIGS = {"shopify": ShopifyRig, "woocommerce": WooRig, "bigcommerce": BigCommerceRig,
        "magento": MagentoRig, "sql": SqlRig}


def calls_of(rig) -> Counter:
    return rig.calls if isinstance(rig, SqlRig) else rig.served.calls


def fake_cpu(rig) -> float:
    return 0.0 if isinstance(rig, SqlRig) else rig.served.transport.app_cpu


# ---------------------------------------------------------------- (a) reading orders

def measure_orders(platform: str, orders: int, over_http: bool) -> dict:
    rig = RIGS[platform](over_http)
    with rig.served:  # entered first: it also removes the sql rig's folder on failure
        if isinstance(rig, SqlRig):
            rig.add_orders(orders)
        else:
            for index in range(orders):
                rig.add_order(index)
        adapter = rig.adapter()
        try:
            until = changed_at(orders) + timedelta(seconds=1)
            # A warm-up page (connections, per-adapter caches such as Woo's product facts),
            # then count from zero.
            adapter.fetch_orders(T0, until, None, 1)
            calls_of(rig).clear()
            fake0, cpu0, wall0 = fake_cpu(rig), time.thread_time(), time.perf_counter()
            seen, token, pages = 0, None, 0
            while True:
                page = adapter.fetch_orders(T0, until, token, PAGE)
                seen, pages, token = seen + len(page.orders), pages + 1, page.next_page
                if token is None:
                    break
                if pages > orders + 10:  # a paging bug must not spin forever
                    raise AssertionError(f"{platform}: no last page after {pages} pages")
            wall = time.perf_counter() - wall0
            cpu = time.thread_time() - cpu0 - (fake_cpu(rig) - fake0)
        finally:
            adapter.close()
    if seen != orders:
        raise AssertionError(f"{platform}: read {seen} of {orders} orders")
    calls = sum(calls_of(rig).values())
    return {"platform": platform, "orders": orders, "pages": pages,
            "orders_per_s": round(orders / cpu, 1),
            "adapter_cpu_ms_per_order": round(1000 * cpu / orders, 3),
            "requests_per_order": round(calls / orders, 3),
            "wall_orders_per_s_with_fake": round(orders / wall, 1)}


# ---------------------------------------------------------------- (b) stock sync

def minimum_writes(rig, skus: int) -> int | None:
    return math.ceil(skus / rig.write_batch) if rig.write_batch else None


def measure_stock(platform: str, skus: int, over_http: bool) -> dict:
    rig = RIGS[platform](over_http)
    names = [f"SKU-{i:05d}" for i in range(skus)]
    first = [StockLevel(sku, i % 97) for i, sku in enumerate(names)]
    second = [StockLevel(sku, (i + 1) % 97) for i, sku in enumerate(names)]
    with rig.served:
        rig.add_skus(names)
        adapter = rig.adapter()
        try:
            calls_of(rig).clear()
            fake0, cpu0 = fake_cpu(rig), time.thread_time()
            adapter.set_stock(first)  # looks every SKU up, then writes
            first_cpu = time.thread_time() - cpu0 - (fake_cpu(rig) - fake0)
            first_calls = Counter(calls_of(rig))
            calls_of(rig).clear()
            fake0, cpu0 = fake_cpu(rig), time.thread_time()
            adapter.set_stock(second)  # lookups cached: writes only
            cached_cpu = time.thread_time() - cpu0 - (fake_cpu(rig) - fake0)
            cached_calls = Counter(calls_of(rig))
        finally:
            adapter.close()
        stored = rig.stock()
    wrong = sum(stored.get(level.sku) != level.quantity for level in second)
    if wrong:
        raise AssertionError(f"{platform}: {wrong} SKUs do not hold the synced quantity")
    transactions = cached_calls.pop(("BEGIN (transactions)", ""), None)
    first_calls.pop(("BEGIN (transactions)", ""), None)
    writes = sum(cached_calls.values())
    lookups = sum(first_calls.values()) - writes
    minimum = minimum_writes(rig, skus)
    return {"platform": platform, "skus": skus, "batch": rig.write_batch,
            "write_calls": writes, "minimum_write_calls": minimum,
            "at_minimum": writes == minimum, "lookup_calls_first_sync": lookups,
            "first_sync_calls": sum(first_calls.values()),
            "cached_sync_adapter_cpu_ms": round(1000 * cached_cpu, 1),
            "first_sync_adapter_cpu_ms": round(1000 * first_cpu, 1),
            "writes_by_kind": {f"{method} {path}".strip(): n
                               for (method, path), n in cached_calls.items()},
            **({"write_transactions": transactions} if transactions else {})}


def run(orders: int = 2000, skus: int = 10_000, platforms=PLATFORMS, over_http: bool = False) -> dict:
    results = {"orders": [], "stock": [], "mode": "over loopback HTTP" if over_http else "in-process"}
    for platform in platforms:
        results["orders"].append(measure_orders(platform, orders, over_http))
        results["stock"].append(measure_stock(platform, skus, over_http))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--platform", action="append", choices=PLATFORMS,
                        help="only these (repeatable); default all")
    parser.add_argument("--over-http", action="store_true",
                        help="serve each fake on 127.0.0.1 with FakeServer instead of in-process")
    args = parser.parse_args()
    print(json.dumps(run(args.orders, args.skus, tuple(args.platform or PLATFORMS), args.over_http),
                     indent=2))


if __name__ == "__main__":
    main()
