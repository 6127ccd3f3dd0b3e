"""The WooCommerce cart adapter (REST API v3, `https://<store>/wp-json/wc/v3/`).

    [cart]
    platform = "woocommerce"
    url = "https://shop.example.com"
    consumer_key = "env:SHOP_WC_KEY"          # ck_…, Read/Write
    consumer_secret = "env:SHOP_WC_SECRET"    # cs_…
    tracking = "shipment-tracking"            # or "notes" without the extension

Reads: orders changed in a window (by `date_modified_gmt`), the products and variations
of their lines (to learn which need a parcel), existing trackings or notes.
Writes: a tracking item (Shipment Tracking extension) or an order note per package,
status `completed` once every shippable line has shipped, absolute stock per SKU, notes;
for the order's later life (see `lifecycle`): status `cancelled` with a note when Amazon
will not ship it (whole orders only: a line cancel is a refund in WooCommerce), and
private notes for delivery milestones and customer returns. bridge never refunds or
restocks; WooCommerce itself puts a cancelled order's reduced stock back.
Stock is read with the same SKU lookup that finds where it is written (`/products?sku=`,
which answers with products and variations alike), up to 100 SKUs a request.

Decisions worth knowing:
- WooCommerce publishes no rate limit; its limit is the merchant's PHP host. One adapter
  sends one request at a time and backs off on 429/503 (Retry-After) and 5xx.
- A line needs a parcel unless its product (or variation) is `virtual`; `downloadable`
  alone does not say so (a CD with a download still ships), as in WooCommerce itself.
- What each package shipped is kept on the order (meta `_bridge_shipped_lines`, keyed by
  tracking number), so completion can be decided from the cart alone, and a replayed
  package is counted once.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests

from bridge.carts import lifecycle_words as words
from bridge.carts.batching import sku_chunks
from bridge.carts.contract import (
    CancelRequest,
    Capabilities,
    DeliveryUpdate,
    ReturnUpdate,
    SecretResolver,
)
from bridge.carts.timestamps import parse_utc
from bridge.carts.woocommerce import lifecycle, paging
from bridge.carts.woocommerce.client import MAX_PAGES, WooHttp, header_int, json_of, total_pages
from bridge.carts.woocommerce.mapping import (
    ProductFacts,
    naive_gmt,
    product_key,
    to_cart_order,
)
from bridge.carts.woocommerce.settings import WooSettings, check_settings
from bridge.carts.woocommerce.stock import (
    StockRow,
    StockTarget,
    searchable,
    stock_row,
)
from bridge.domain.model import CartLine, CartOrder, OrderPage, PackageShipment, ShippedLine, StockLevel
from bridge.errors import ConfigError, FatalError, NeedsAttentionError
from bridge.logging import get_logger

log = get_logger(__name__)

API = "wp-json/wc/v3"
TRACKING_API = "wp-json/wc-shipment-tracking/v3"
SHIPPED_META = "_bridge_shipped_lines"
BATCH_LIMIT = 100          # WooCommerce's default `woocommerce_rest_batch_items_limit`
SKUS_PER_LOOKUP = 50       # keeps the lookup URL short; SKUs are unique, so ≤ 50 rows
SKUS_PER_READ = paging.MAX_PER_PAGE  # SKUs are unique, so one full page answers a read
READ_QUERY_CHARS = 4000    # the encoded SKU list, well inside an 8 KB request line
PRODUCT_FIELDS = "id,sku,type,parent_id,virtual,downloadable"
STOCK_FIELDS = "id,sku,type,parent_id,manage_stock,stock_quantity"


class WooCommerceAdapter:
    platform: ClassVar[str] = "woocommerce"
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_fulfillment=True, notes=True, bulk_stock=True, webhooks=False,
        stock_batch_size=BATCH_LIMIT, stock_read_batch_size=SKUS_PER_READ,
        conditional_stock_writes=False,
        # A line can only leave a WooCommerce order through a refund, which is money.
        cancel_lines=False,
    )

    def __init__(self, settings: WooSettings, consumer_key: str, consumer_secret: str,
                 *, sleep: Callable[[float], None] = time.sleep, max_retries: int = 4,
                 session: requests.Session | None = None) -> None:
        self.settings = settings
        self.http = WooHttp(settings.url, consumer_key, consumer_secret,
                            timeout=settings.timeout_seconds, sleep=sleep,
                            max_retries=max_retries, session=session,
                            verify=settings.verify, ca_bundle=settings.ca_bundle)
        self._products: dict[int, ProductFacts] = {}
        self._stock_targets: dict[str, StockTarget] = {}

    # -- construction

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return check_settings(settings)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], secret: SecretResolver,
                      **options: Any) -> WooCommerceAdapter:
        problems = check_settings(settings)
        if problems:
            raise ConfigError([("-", f"cart.{key}", what) for key, what in problems])
        woo = WooSettings.from_mapping(settings)
        key = _resolve(secret, "consumer_key", woo.consumer_key_ref, "ck_")
        value = _resolve(secret, "consumer_secret", woo.consumer_secret_ref, "cs_")
        return cls(woo, key, value, **options)

    def __repr__(self) -> str:
        return f"WooCommerceAdapter({self.settings.url})"

    # -- online check

    def probe(self) -> list[tuple[str, str]]:
        """The key reads orders (what bridge does first), and the Shipment Tracking
        extension answers when tracking goes there. WooCommerce shows no key's
        permissions through its API: a key without write permission is found on the
        first write, which it refuses as credentials (the storefront pauses)."""
        try:
            self.http.get_json(f"{API}/orders", {"per_page": 1, "_fields": "id"})
        except FatalError as exc:
            if exc.reason == "cart_config":
                return [("url", exc.message)]
            return [("consumer_key", f"WooCommerce refused the key: {exc.message}; create a key "
                     "with Read/Write permissions for a shop manager or administrator "
                     "(WooCommerce → Settings → Advanced → REST API) and point consumer_key "
                     "and consumer_secret at it")]
        if self.settings.tracking == "shipment-tracking" and not self._has_tracking_extension():
            return [("tracking", "the store has no Shipment Tracking endpoint "
                     f"(/{TRACKING_API}): install and activate the WooCommerce Shipment "
                     "Tracking extension, or set tracking = \"notes\"")]
        return []

    def _has_tracking_extension(self) -> bool:
        # The extension's REST namespace index exists only while the plugin is active.
        response = self.http.request("GET", TRACKING_API, allow_404=True)
        return response.status_code != 404

    def close(self) -> None:
        self.http.close()

    # -- orders

    def fetch_orders(self, since: datetime, until: datetime, page: str | None,
                     limit: int) -> OrderPage:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        end = _ceil_second(until)
        position = paging.decode(page) if page else paging.Position(anchor=_ceil_second(since))
        if position.anchor >= end:
            return OrderPage(orders=[])
        if position.sweep is None and len(position.seen) >= paging.CROWDED:
            position = position.crowded()
        if position.sweep is not None:
            rows, position, more = self._sweep_second(position, end, limit)
        else:
            rows, position, more = self._scan(position, end, limit)
        more = more and position.anchor < end
        return OrderPage(orders=self._to_orders(rows),
                         next_page=paging.encode(position) if more else None)

    def _scan(self, position: paging.Position, end: int, limit: int):
        """Page 1 from the anchor, skipping what was returned at the anchor second."""
        per_page = min(paging.MAX_PER_PAGE, limit + len(position.seen))
        rows = self._list_orders(position.anchor, end, "modified", per_page)[1]
        taken: list[dict] = []
        left_over = False
        for stamp, order_id, row in _stamped(rows):
            if stamp < position.anchor or stamp >= end:
                continue
            if stamp == position.anchor and order_id in position.seen:
                continue
            if len(taken) == limit:
                left_over = True
                break
            taken.append(row)
            position = position.after(stamp, order_id)
        full = len(rows) >= per_page
        if full and not taken:
            # A whole page of orders already returned: only a sweep gets past them.
            position = position.crowded()
        return taken, position, left_over or full

    def _sweep_second(self, position: paging.Position, end: int, limit: int):
        """The anchor second alone, by id, with an offset stepped back by removals."""
        second, sweep = position.anchor, position.sweep or paging.Sweep()
        offset = sweep.offset
        for _ in range(4):
            response, rows = self._list_orders(second, second + 1, "id", paging.MAX_PER_PAGE,
                                               offset=offset)
            total = header_int(response, "X-WP-Total")
            if sweep.total is None or total is None:
                break
            # Orders of this second edited away since the last read sat before the offset
            # at worst: step back by as many (re-read rows are skipped through `seen`).
            safe = max(0, sweep.offset - (sweep.total - total))
            if safe >= offset:
                break
            offset = safe
        else:
            # Still shrinking under us: take nothing now, continue from the safe offset.
            return [], replace(position, sweep=paging.Sweep(offset, total)), True
        taken: list[dict] = []
        consumed = 0
        for index, row in enumerate(rows):
            if len(taken) == limit:
                break
            consumed = index + 1
            stamp, order_id = _stamp_of(row), int(row["id"])
            if stamp != second or order_id in position.seen:
                continue
            taken.append(row)
            position = position.after(stamp, order_id)
        if consumed == len(rows) and len(rows) < paging.MAX_PER_PAGE:
            return taken, position.next_second(), True
        swept = paging.Sweep(offset=offset + consumed, total=total)
        return taken, paging.Position(second, position.seen, swept), True

    def _list_orders(self, first_second: int, end: int, orderby: str, per_page: int,
                     offset: int | None = None):
        # `modified_after` and `modified_before` are both exclusive in WooCommerce.
        params: dict[str, Any] = {
            "modified_after": naive_gmt(first_second - 1),
            "modified_before": naive_gmt(end),
            "dates_are_gmt": "true",
            "orderby": orderby,
            "order": "asc",
            "per_page": per_page,
        }
        if offset is None:
            params["page"] = 1
        else:
            params["offset"] = offset
        response, rows = self.http.get_json(f"{API}/orders", params)
        if not isinstance(rows, list):
            raise NeedsAttentionError("cart_rejected", "WooCommerce answered the order list "
                                      "with something that is not a list")
        return response, rows

    def _to_orders(self, rows: list[dict]) -> list[CartOrder]:
        self._learn_products(item for row in rows for item in row.get("line_items") or [])
        s = self.settings
        return [to_cart_order(row, self._products, s.ready_statuses, s.cancelled_statuses)
                for row in rows]

    def _learn_products(self, items: Iterable[dict]) -> None:
        """Fetch (once per adapter) whether each line's product or variation is virtual."""
        products: set[int] = set()
        variations: dict[int, set[int]] = defaultdict(set)
        for item in items:
            key = product_key(item)
            if not key or key in self._products:
                continue
            if int(item.get("variation_id") or 0):
                variations[int(item.get("product_id") or 0)].add(key)
            else:
                products.add(key)
        for chunk in _chunks(sorted(products), paging.MAX_PER_PAGE):
            self._remember(chunk, f"{API}/products")
        for parent, ids in variations.items():
            for chunk in _chunks(sorted(ids), paging.MAX_PER_PAGE):
                self._remember(chunk, f"{API}/products/{parent}/variations")

    def _remember(self, ids: list[int], path: str) -> None:
        params = {"include": ",".join(map(str, ids)), "per_page": len(ids),
                  "_fields": PRODUCT_FIELDS}
        _, found = self.http.get_json(path, params, allow_404=True)
        by_id = {int(p["id"]): p for p in found} if isinstance(found, list) else {}
        for product_id in ids:
            product = by_id.get(product_id)
            self._products[product_id] = ProductFacts(
                # Deleted since the sale: unknown, so it counts as physical.
                requires_shipping=not product.get("virtual", False) if product else True,
                sku=str(product.get("sku") or "") if product else "",
            )

    # -- tracking

    def push_shipment(self, order: CartOrder, shipment: PackageShipment, notify: bool) -> bool:
        order_id = int(order.order_id)
        number = shipment.tracking_number
        if self.settings.tracking == "notes":
            present = any(_names_tracking(note.get("note"), number)
                          for note in self._notes(order_id))
            if not present:
                self._post_note(order_id, tracking_note(shipment), customer_note=notify)
        else:
            present = any(str(item.get("tracking_number", "")).strip() == number
                          for item in self._trackings(order_id))
            if not present:
                self._post_tracking(order_id, shipment)
        # Also on a replay: the write before may have stopped between tracking and status.
        completed = self._record_shipped(order, shipment)
        if notify and not present and not completed and self.settings.tracking != "notes":
            # The extension emails nothing itself; its trackings ride on the Completed
            # email. A partial shipment gets a customer note (which WooCommerce emails).
            self._post_note(order_id, tracking_note(shipment), customer_note=True)
        return not present

    def _trackings(self, order_id: int) -> list[dict]:
        path = f"{TRACKING_API}/orders/{order_id}/shipment-trackings"
        response, items = self.http.get_json(path, allow_404=True)
        if response.status_code == 404:
            raise self._not_found(response, order_id)
        return items if isinstance(items, list) else []

    def _post_tracking(self, order_id: int, shipment: PackageShipment) -> None:
        body: dict[str, Any] = {"tracking_number": shipment.tracking_number}
        if shipment.tracking_url:
            body |= {"custom_tracking_provider": shipment.carrier,
                     "custom_tracking_link": shipment.tracking_url}
        else:
            # A provider the extension knows gets its tracking link from the extension.
            body["tracking_provider"] = shipment.carrier
        if shipment.shipped_at:
            body["date_shipped"] = shipment.shipped_at.astimezone(UTC).date().isoformat()
        self.http.request("POST", f"{TRACKING_API}/orders/{order_id}/shipment-trackings", json=body)

    def _record_shipped(self, order: CartOrder, shipment: PackageShipment) -> bool:
        """Add this package's lines to the order's shipped record; complete the order when
        every shippable line is fully shipped. True when it was completed now."""
        if not self.settings.complete_when_shipped:
            return False
        order_id = int(order.order_id)
        response, data = self.http.get_json(f"{API}/orders/{order_id}", allow_404=True)
        if response.status_code == 404 or not isinstance(data, dict):
            raise self._not_found(response, order_id)
        if str(data.get("status", "")).lower() not in self.settings.ready_statuses:
            return False  # completed, cancelled or held by someone: not ours to change
        shipped = _shipped_record(data)
        # A package without line details is taken to be the rest of the order.
        lines: tuple[ShippedLine | CartLine, ...] = shipment.lines or tuple(order.shippable_lines)
        shipped[shipment.tracking_number] = {line.line_id: line.quantity for line in lines}
        totals: dict[str, int] = defaultdict(int)
        for per_line in shipped.values():
            for line_id, quantity in per_line.items():
                totals[line_id] += int(quantity)
        complete = all(totals[line.line_id] >= line.quantity for line in order.shippable_lines)
        body: dict[str, Any] = {"meta_data": [{"key": SHIPPED_META,
                                               "value": json.dumps(shipped, sort_keys=True)}]}
        if complete:
            body["status"] = "completed"
        self.http.request("PUT", f"{API}/orders/{order_id}", json=body)
        return complete

    # -- notes

    def add_note(self, order: CartOrder, text: str) -> None:
        self._post_note(int(order.order_id), text, customer_note=False)

    def _notes(self, order_id: int) -> list[dict]:
        response, notes = self.http.get_json(f"{API}/orders/{order_id}/notes",
                                             {"type": "any"}, allow_404=True)
        if response.status_code == 404:
            raise self._not_found(response, order_id)
        return notes if isinstance(notes, list) else []

    def _post_note(self, order_id: int, text: str, customer_note: bool) -> None:
        self.http.request("POST", f"{API}/orders/{order_id}/notes",
                          json={"note": text, "customer_note": customer_note})

    # -- the order's later life

    def cancel_order(self, order: CartOrder, request: CancelRequest) -> bool:
        """Whole orders only: `status: cancelled`, after a note with the reason (a
        customer note, which WooCommerce e-mails, when `request.notify_customer`). Lines
        are left alone (False): the caller names them in a note. No refund is issued;
        WooCommerce itself puts back the stock it reduced for the order."""
        if request.lines is not None:
            return False
        order_id = int(order.order_id)
        if self._status(order_id) in self.settings.cancelled_statuses:
            return False
        # The note first: a retry after a lost status answer finds it and adds no second.
        if not lifecycle.shows(self._notes(order_id), lifecycle.cancel_marker(order, request)):
            self._post_note(order_id, lifecycle.cancel_note(order, request),
                            customer_note=request.notify_customer)
        self.http.request("PUT", f"{API}/orders/{order_id}", json={"status": "cancelled"})
        return True

    def push_delivery(self, order: CartOrder, update: DeliveryUpdate) -> bool:
        """A private order note naming the package's carrier, tracking number and what
        happened; written once per (tracking number, milestone)."""
        return self._note_once(int(order.order_id), words.delivery_marker(update),
                               lifecycle.delivery_note(update))

    def push_return(self, order: CartOrder, update: ReturnUpdate) -> bool:
        """A private order note per (authorization, stage): at AUTHORIZED the return's
        id, lines, reason and label URL; at RECEIVED the units back and their condition.
        No refund or restock is made."""
        return self._note_once(int(order.order_id), words.return_marker(update),
                               lifecycle.return_note(order, update))

    def _note_once(self, order_id: int, marker: str, text: str) -> bool:
        if lifecycle.shows(self._notes(order_id), marker):
            return False
        self._post_note(order_id, text, customer_note=False)
        return True

    def _status(self, order_id: int) -> str:
        response, data = self.http.get_json(f"{API}/orders/{order_id}",
                                            {"_fields": "id,status"}, allow_404=True)
        if response.status_code == 404 or not isinstance(data, dict):
            raise self._not_found(response, order_id)
        return str(data.get("status", "")).lower()

    # -- stock

    def get_stock(self, skus: Sequence[str]) -> dict[str, int]:
        wanted = [sku for sku in dict.fromkeys(skus) if searchable(sku)]
        found: dict[str, int] = {}
        for chunk in sku_chunks(wanted, SKUS_PER_READ, READ_QUERY_CHARS):
            for row in self._rows_by_sku(chunk, STOCK_FIELDS):
                if row.quantity is not None:
                    found[row.sku] = row.quantity
        return found

    def set_stock(self, levels: Sequence[StockLevel]) -> list[str]:
        """Unconditional: WooCommerce cannot compare before it writes, so `expected` is
        not used and no SKU is ever refused as stale."""
        latest = {level.sku: level.quantity for level in levels}  # last one per SKU wins
        targets = self._stock_targets_for(list(latest))
        unknown = sorted(sku for sku in latest if sku not in targets)
        if unknown:
            log.warning("woocommerce_unknown_skus", count=len(unknown), skus=unknown[:20])
        products: list[tuple[str, dict]] = []
        variations: dict[int, list[tuple[str, dict]]] = defaultdict(list)
        for sku, quantity in latest.items():
            target = targets.get(sku)
            if target is None:
                continue
            update = {"id": target.product_id, "manage_stock": True, "stock_quantity": quantity}
            if target.parent_id:
                variations[target.parent_id].append((sku, update))
            else:
                products.append((sku, update))
        refused: list[str] = []
        refused += self._batch_update(f"{API}/products/batch", products)
        for parent, updates in variations.items():
            refused += self._batch_update(f"{API}/products/{parent}/variations/batch", updates)
        if refused:
            raise NeedsAttentionError("cart_rejected", "WooCommerce refused the stock of "
                                      f"{len(refused)} SKU(s): {'; '.join(refused[:10])}")
        return []

    def _batch_update(self, path: str, updates: list[tuple[str, dict]]) -> list[str]:
        """POST the updates ≤ 100 at a time; return the SKUs WooCommerce refused."""
        refused = []
        for chunk in _chunks(updates, BATCH_LIMIT):
            sku_of = {update["id"]: sku for sku, update in chunk}
            response = self.http.request("POST", path, json={"update": [u for _, u in chunk]})
            for item in (json_of(response) or {}).get("update") or []:
                error = item.get("error") if isinstance(item, dict) else None
                if error:
                    sku = sku_of.get(item.get("id"), str(item.get("id")))
                    self._stock_targets.pop(sku, None)  # maybe deleted: look it up again
                    refused.append(f"{sku}: {error.get('message') or error.get('code')}")
        return refused

    def _stock_targets_for(self, skus: list[str]) -> dict[str, StockTarget]:
        wanted = [s for s in skus if s not in self._stock_targets and searchable(s)]
        for chunk in _chunks(wanted, SKUS_PER_LOOKUP):
            self._rows_by_sku(chunk, PRODUCT_FIELDS)
        return {s: self._stock_targets[s] for s in skus if s in self._stock_targets}

    def _rows_by_sku(self, chunk: list[str], fields: str) -> list[StockRow]:
        """The rows of exactly these SKUs; each one's place is remembered for writes."""
        asked = set(chunk)
        rows = [row for row in map(stock_row, self._products_by_sku(chunk, fields))
                if row.sku in asked]  # the whole string is matched too: "A,B" for A and B
        for row in rows:
            self._stock_targets[row.sku] = row.target
        return rows

    def _products_by_sku(self, chunk: list[str], fields: str) -> list[Any]:
        # With `sku`, /products also returns variations (type "variation", parent_id).
        params = {"sku": ",".join(chunk), "per_page": paging.MAX_PER_PAGE, "_fields": fields}
        found: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            response, rows = self.http.get_json(f"{API}/products", {**params, "page": page})
            if not isinstance(rows, list):
                raise NeedsAttentionError("cart_rejected", "WooCommerce answered a SKU lookup "
                                          "with something that is not a list")
            found += rows
            if page >= total_pages(response):
                break
        return found

    # -- errors

    def _not_found(self, response: requests.Response, order_id: int) -> NeedsAttentionError:
        try:
            code = (response.json() or {}).get("code", "")
        except (ValueError, AttributeError):
            code = ""
        if code == "rest_no_route" and self.settings.tracking == "shipment-tracking":
            return NeedsAttentionError(
                "cart_rejected",
                "the store has no Shipment Tracking endpoint: install and activate the "
                "WooCommerce Shipment Tracking extension, or set tracking = \"notes\"")
        return NeedsAttentionError("cart_order_missing",
                                   f"WooCommerce has no order {order_id} (deleted or trashed?)")


def tracking_note(shipment: PackageShipment) -> str:
    text = (f"Shipped by Amazon (package {shipment.package_number}) via {shipment.carrier}, "
            f"tracking number {shipment.tracking_number}")
    return f"{text}: {shipment.tracking_url}" if shipment.tracking_url else text


def _names_tracking(note: Any, number: str) -> bool:
    """Whether a note is bridge's tracking note for this number (not a longer one)."""
    pattern = r"tracking number " + re.escape(number) + r"(?![\w-])"
    return isinstance(note, str) and re.search(pattern, note) is not None


def _shipped_record(order: dict) -> dict[str, dict[str, int]]:
    for meta in order.get("meta_data") or []:
        if meta.get("key") == SHIPPED_META:
            try:
                value = meta.get("value")
                record = json.loads(value) if isinstance(value, str) else value
                return dict(record) if isinstance(record, dict) else {}
            except ValueError:
                return {}
    return {}


def _resolve(secret: SecretResolver, key: str, reference: str, prefix: str) -> str:
    try:
        value = secret(reference)
    except ValueError as exc:
        raise ConfigError([("-", f"cart.{key}", str(exc))]) from None
    if not value.startswith(prefix):
        # Say what is wrong without showing any of the value.
        what = f"{reference} does not hold a WooCommerce {key} (they start with {prefix})"
        raise ConfigError([("-", f"cart.{key}", what)])
    return value


def _ceil_second(moment: datetime) -> int:
    return math.ceil(moment.astimezone(UTC).timestamp())


def _stamp_of(row: dict) -> int | None:
    stamp = parse_utc(row.get("date_modified_gmt"))
    return int(stamp.timestamp()) if stamp else None


def _stamped(rows: list[dict]) -> list[tuple[int, int, dict]]:
    """(second, id, row) sorted by time, rows without a readable time left out."""
    out = []
    for row in rows:
        stamp = _stamp_of(row)
        if stamp is None:
            log.warning("woocommerce_order_without_modified_time", order_id=row.get("id"))
            continue
        out.append((stamp, int(row["id"]), row))
    return sorted(out, key=lambda entry: (entry[0], entry[1]))


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
