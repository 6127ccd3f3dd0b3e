"""The Magento 2 / Adobe Commerce cart adapter (REST `V1`).

What bridge reads: `GET /V1/orders` (changed orders), `GET /V1/orders/{id}`,
`GET /V1/shipments` (tracking already written), `GET /V1/inventory/source-items` (MSI
stock, up to 300 SKUs a request), `GET /V1/stockItems/{sku}` (legacy stock, one SKU).
What it writes: `POST /V1/order/{id}/ship` (shipment with tracking),
`POST /V1/shipment/track` (tracking for lines already shipped), `POST /V1/orders/{id}/comments`
(notes, never shown to the customer), `POST /V1/inventory/source-items` or
`PUT /V1/products/{sku}/stockItems/{id}` (stock), `POST /V1/orders/{id}/cancel` (a whole
order, while Magento still allows it), order comments for cancels, delivery milestones
and returns (`lifecycle`). No write refunds money or restocks anything.

Decisions worth knowing:
- Stock batches default to 20 source items per call: Magento has no cap by default, but a
  store that enables Web API input limits refuses synchronous list inputs above 20.
  Stores without input limits may raise `stock_batch_size` (up to 1000).
- `paid` means the order's state is one of `ready_states` and its money is captured
  (`mapping.payment_status`); `processing` is Magento's "invoiced, not yet shipped", but
  an "Authorize Only" order sits there too, authorized and not paid.
- Unknown SKUs: MSI stores source items by SKU without checking the catalogue, so they
  are written as given; with `legacy_stock` a SKU the catalogue lacks is skipped and logged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from bridge import secrets
from bridge.carts import lifecycle_words as words
from bridge.carts import tls
from bridge.carts.contract import (
    CancelRequest,
    Capabilities,
    DeliveryUpdate,
    ReturnUpdate,
    SecretResolver,
)
from bridge.carts.magento.client import BearerAuth, MagentoHttp, oauth1_signer
from bridge.carts.magento.lifecycle import (
    cancel_comment,
    cannot_cancel_because,
    delivery_comment,
    has_event,
    is_cancelled,
    return_comment,
    with_key,
)
from bridge.carts.magento.mapping import (
    OrderItems,
    carrier_code,
    cart_order,
    ceil_div,
    changed_orders_params,
    decode_page_token,
    encode_page_token,
    remaining,
    search_params,
    ship_quantity,
)
from bridge.carts.magento.settings import (
    DEFAULT_STOCK_BATCH,
    DEFAULTS,
    SECRET_KEYS,
    check_settings,
)
from bridge.carts.magento.stock import (
    READ_PAGE,
    asked_spelling,
    json_body,
    sku_chunks,
    source_item_level,
    source_item_rows,
    source_items_params,
    source_problems,
    stock_item_level,
)
from bridge.domain.model import CartOrder, OrderPage, PackageShipment, StockLevel
from bridge.errors import ConfigError, FatalError, NeedsAttentionError
from bridge.logging import get_logger

log = get_logger(__name__)

SHIPMENTS_PAGE = 50


class MagentoAdapter:
    platform: ClassVar[str] = "magento"
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_fulfillment=True, notes=True, bulk_stock=True, webhooks=False,
        stock_batch_size=DEFAULT_STOCK_BATCH, stock_read_batch_size=READ_PAGE,
        conditional_stock_writes=False,
        # Magento's REST API cancels whole orders only.
        cancel_lines=False,
    )

    def __init__(self, http: MagentoHttp, settings: Mapping[str, Any]) -> None:
        self.http = http
        options = {**DEFAULTS, **settings}
        self.ready_states = frozenset(s.lower() for s in options["ready_states"])
        self.cancelled_states = frozenset(s.lower() for s in options["cancelled_states"])
        self.source_code = options["source_code"].strip()
        self.legacy_stock = options["legacy_stock"]
        self.stock_batch_size = options["stock_batch_size"]
        store_caps = replace(type(self).capabilities, stock_batch_size=self.stock_batch_size,
                             stock_read_batch_size=1 if self.legacy_stock else READ_PAGE)
        if store_caps != type(self).capabilities:
            # Shadows the class default for this store only.
            self.capabilities = store_caps  # type: ignore[misc]  # an instance value on purpose
        self._stock_item_ids: dict[str, int] = {}

    # -- construction

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return check_settings(settings)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], secret: SecretResolver) -> MagentoAdapter:
        problems = check_settings(settings)
        if problems:
            raise ConfigError([("-", f"cart.{key}", what) for key, what in problems])
        values = {}
        for key in SECRET_KEYS:
            if settings.get(key) is None:
                continue
            try:
                values[key] = secret(settings[key])
            except ValueError as exc:
                raise ConfigError([("-", f"cart.{key}", str(exc))]) from None
            secrets.remember(values[key])
        auth: requests.auth.AuthBase
        if "consumer_key" in values:
            auth = oauth1_signer(values["consumer_key"], values["consumer_secret"],
                                 values["access_token"], values["access_token_secret"])
        else:
            auth = BearerAuth(values["access_token"])
        store_code = settings.get("store_code", DEFAULTS["store_code"])
        base = f"{settings['url'].strip().rstrip('/')}/rest/{store_code}/V1"
        http = MagentoHttp(base, auth=auth,
                           timeout=float(settings.get("timeout_seconds", DEFAULTS["timeout_seconds"])),
                           **tls.tls_options(settings))
        return cls(http, settings)

    def __repr__(self) -> str:
        return f"MagentoAdapter({self.http.base_url})"

    # -- online check

    def probe(self) -> list[tuple[str, str]]:
        """The token reads orders; with MSI, `source_code` names an enabled source."""
        try:
            self.http.request("GET", "orders", params=search_params([], page_size=1, current_page=1))
        except FatalError as exc:
            return [("access_token", f"{exc.message}; check the token (or the integration's "
                     "four OAuth values) and that the integration may read Sales › Orders")]
        if self.legacy_stock:
            return []
        try:
            return source_problems(self.http, self.source_code)
        except FatalError as exc:
            return [("source_code", f"cannot read inventory sources to check it ({exc.message}); "
                     "allow the integration Stores › Inventory › Sources")]

    def close(self) -> None:
        self.http.close()

    # -- orders

    def fetch_orders(self, since: datetime, until: datetime, page: str | None, limit: int) -> OrderPage:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        after = decode_page_token(page) if page else None
        params = changed_orders_params(since, until, after, limit)
        body = self.http.request("GET", "orders", params=params).json()
        rows = [row for row in body.get("items") or [] if isinstance(row, Mapping)][:limit]
        orders = [cart_order(row, self.ready_states, self.cancelled_states, since) for row in rows]
        # total_count counts every row after the token; more than this page means more pages.
        more = bool(rows) and int(body.get("total_count") or 0) > len(rows)
        if not more:
            return OrderPage(orders=orders, next_page=None)
        last = rows[-1]
        return OrderPage(orders=orders, next_page=encode_page_token(str(last["updated_at"]), int(last["entity_id"])))

    def _order(self, order_id: str) -> Mapping[str, Any]:
        response = self.http.request("GET", f"orders/{quote(order_id, safe='')}", allow_404=True)
        if response.status_code == 404:
            raise NeedsAttentionError("cart_order_missing", f"Magento has no order with id {order_id}")
        return response.json()

    # -- writing back

    def push_shipment(self, order: CartOrder, shipment: PackageShipment, notify: bool) -> bool:
        shipments = self._shipments_of(order.order_id)
        if any(track.get("track_number") == shipment.tracking_number
               for s in shipments for track in s.get("tracks") or []):
            return False
        items = OrderItems(self._order(order.order_id).get("items") or [])
        track = {
            "track_number": shipment.tracking_number,
            "title": shipment.carrier or "Carrier",
            "carrier_code": carrier_code(shipment.carrier),
        }
        ship_items = self._ship_items(order, shipment, items)
        if not ship_items:
            return self._track_on_existing(order, shipments, track, shipment)
        body: dict[str, Any] = {"items": ship_items, "notify": bool(notify), "tracks": [track]}
        if not self.legacy_stock:
            # MSI deducts the shipped units from this source.
            body["arguments"] = {"extension_attributes": {"source_code": self.source_code}}
        self.http.request("POST", f"order/{quote(order.order_id, safe='')}/ship", json=body)
        return True

    def _shipments_of(self, order_id: str) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        for page in range(1, 1000):
            params = search_params([[("order_id", "eq", order_id)]], [("entity_id", "ASC")],
                                   page_size=SHIPMENTS_PAGE, current_page=page)
            body = self.http.request("GET", "shipments", params=params).json()
            rows = body.get("items") or []
            found.extend(r for r in rows if isinstance(r, Mapping))
            # Past the last page Magento answers with the last page again: stop on the count.
            if not rows or len(found) >= int(body.get("total_count") or 0):
                break
        return found

    def _ship_items(self, order: CartOrder, shipment: PackageShipment,
                    items: OrderItems) -> list[dict[str, Any]]:
        """`order_item_id`/`qty` pairs for Magento, never more than is left to ship."""
        wanted: dict[str, Decimal] = {}
        bundles: dict[str, Decimal] = {}
        for line in shipment.lines:
            row = items.by_id.get(str(line.line_id))
            if row is None:
                raise NeedsAttentionError(
                    "unknown_line",
                    f"order {order.number}: Magento has no order item {line.line_id} (SKU {line.sku})",
                )
            qty = min(Decimal(line.quantity), remaining(row) - wanted.get(str(line.line_id), 0))
            if qty <= 0:
                continue
            wanted[str(line.line_id)] = wanted.get(str(line.line_id), Decimal(0)) + qty
            parent = items.parent_of(row)
            if parent is not None and parent.get("product_type") == "bundle":
                # A bundle shipped together ships through its own row: as many bundles
                # as this child's units make up, within what is left of the bundle.
                per_bundle = _ratio(row, parent)
                bundle_qty = min(ceil_div(wanted[str(line.line_id)], per_bundle), remaining(parent))
                key = str(parent.get("item_id"))
                bundles[key] = max(bundles.get(key, Decimal(0)), bundle_qty)
        wanted.update({k: v for k, v in bundles.items() if v > 0})
        return [{"order_item_id": int(k), "qty": ship_quantity(v)} for k, v in wanted.items()]

    def _track_on_existing(self, order: CartOrder, shipments: Sequence[Mapping[str, Any]],
                           track: dict[str, Any], shipment: PackageShipment) -> bool:
        """Everything in the package was already shipped in Magento (by hand, say):
        add the tracking number to the order's latest shipment instead of a new one."""
        if not shipments:
            raise NeedsAttentionError(
                "nothing_to_ship",
                f"order {order.number}: Magento has nothing left to ship for package "
                f"{shipment.package_number} and no shipment to add its tracking to",
            )
        latest = shipments[-1]
        units = sum(line.quantity for line in shipment.lines)
        entity = {
            **track,
            "order_id": int(latest.get("order_id") or order.order_id),
            "parent_id": int(latest["entity_id"]),
            "weight": 0,
            "qty": units,
            "description": f"package {shipment.package_number}",
        }
        self.http.request("POST", "shipment/track", json={"entity": entity})
        return True

    def add_note(self, order: CartOrder, text: str) -> None:
        history = {
            "comment": text,
            "is_customer_notified": 0,
            "is_visible_on_front": 0,
            "parent_id": int(order.order_id),
        }
        self.http.request("POST", f"orders/{quote(order.order_id, safe='')}/comments",
                          json={"statusHistory": history})

    # -- lifecycle writes (never a refund or a restock)

    def cancel_order(self, order: CartOrder, request: CancelRequest) -> bool:
        """`POST /V1/orders/{id}/cancel`, then a comment with the reason. Magento cancels
        only an order that is not fully invoiced, held, under payment review, complete
        or closed (an open authorization is voided, nothing captured is refunded); it
        answers `false` otherwise, which is a NeedsAttentionError `cart_cannot_cancel`
        naming why. Lines: Magento has no line cancel over REST, so False (the caller
        names the lines in a note). An order already cancelled: False."""
        if request.lines is not None:
            return False
        path = f"orders/{quote(order.order_id, safe='')}"
        if is_cancelled(self._order(order.order_id)):
            return False
        if self.http.request("POST", f"{path}/cancel").json() is not True:
            now = self._order(order.order_id)
            if is_cancelled(now):
                return False  # another writer got there first
            raise NeedsAttentionError(
                "cart_cannot_cancel",
                f"Magento did not cancel order {order.number}: {cannot_cancel_because(now)}",
            )
        self.add_note(order, cancel_comment(request))
        return True

    def push_delivery(self, order: CartOrder, update: DeliveryUpdate) -> bool:
        """An order comment naming the package's carrier, tracking number and milestone,
        once per (tracking number, milestone)."""
        return self._event_comment(order, delivery_comment(update), words.delivery_key(update))

    def push_return(self, order: CartOrder, update: ReturnUpdate) -> bool:
        """An order comment with the authorization, lines, label URL and reason
        (authorized) or the units back and their condition (received), once per
        (authorization, stage)."""
        return self._event_comment(order, return_comment(update), words.return_key(update))

    def _event_comment(self, order: CartOrder, text: str, key: str) -> bool:
        if has_event(self._order(order.order_id), key):
            return False
        self.add_note(order, with_key(text, key))
        return True

    # -- stock

    def get_stock(self, skus: Sequence[str]) -> dict[str, int]:
        wanted = [sku for sku in dict.fromkeys(skus) if sku]
        if self.legacy_stock:
            levels = ((sku, self._legacy_level(sku)) for sku in wanted)
            return {sku: quantity for sku, quantity in levels if quantity is not None}
        found: dict[str, int] = {}
        for chunk in sku_chunks(wanted):
            found.update(self._source_levels(chunk))
        return found

    def _source_levels(self, chunk: list[str]) -> dict[str, int]:
        spelling = asked_spelling(chunk)
        found: dict[str, int] = {}
        for item in self._source_items(chunk):
            sku, quantity = source_item_level(item)
            asked = spelling.get(sku) or spelling.get(sku.casefold())
            if asked is not None:
                found[asked] = quantity
        return found

    def _source_items(self, chunk: list[str]) -> list:
        items: list = []
        for page in range(1, 1000):
            params = source_items_params(chunk, self.source_code, page)
            response = self.http.request("GET", "inventory/source-items", params=params)
            rows, total = source_item_rows(json_body(response))
            items += rows
            # Past the last page Magento answers with the last page again: stop on the count.
            if not rows or len(items) >= total:
                break
        return items

    def _legacy_level(self, sku: str) -> int | None:
        response = self.http.request("GET", f"stockItems/{quote(sku, safe='')}", allow_404=True)
        if response.status_code == 404:
            return None
        item = json_body(response)
        level = stock_item_level(item, sku)
        if isinstance(item.get("item_id"), int):
            self._stock_item_ids[sku] = item["item_id"]  # a later write needs no lookup
        return level

    def set_stock(self, levels: Sequence[StockLevel]) -> list[str]:
        """Unconditional: Magento's stock saves cannot compare first, so `expected` is
        not used and no SKU is refused as stale."""
        latest = {level.sku: max(0, level.quantity) for level in levels}  # last one wins
        if self.legacy_stock:
            for sku, quantity in latest.items():
                self._set_legacy_stock(sku, quantity)
            return []
        rows = [
            {"sku": sku, "source_code": self.source_code, "quantity": qty, "status": 1 if qty > 0 else 0}
            for sku, qty in latest.items()
        ]
        for start in range(0, len(rows), self.stock_batch_size):
            batch = rows[start:start + self.stock_batch_size]
            self.http.request("POST", "inventory/source-items", json={"sourceItems": batch})
        return []

    def _set_legacy_stock(self, sku: str, quantity: int) -> None:
        item_id = self._stock_item_ids.get(sku)
        if item_id is None:
            response = self.http.request("GET", f"stockItems/{quote(sku, safe='')}", allow_404=True)
            if response.status_code == 404:
                log.warning("magento_stock_unknown_sku", sku=sku)
                return
            item_id = self._stock_item_ids[sku] = int(response.json()["item_id"])
        body = {"stockItem": {"qty": quantity, "is_in_stock": quantity > 0}}
        self.http.request("PUT", f"products/{quote(sku, safe='')}/stockItems/{item_id}", json=body)


def _ratio(child: Mapping[str, Any], parent: Mapping[str, Any]) -> Decimal:
    """Units of this child in one bundle."""
    parent_qty = Decimal(str(parent.get("qty_ordered") or 0))
    child_qty = Decimal(str(child.get("qty_ordered") or 0))
    return child_qty / parent_qty if parent_qty > 0 else Decimal(1)
