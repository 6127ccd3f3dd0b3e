"""The BigCommerce cart adapter: V2 REST for orders and shipments, V3 for catalog and
inventory, on `https://api.bigcommerce.com/stores/{store_hash}` with `X-Auth-Token`.

What it reads and writes:
    GET  /v2/orders?min_date_modified&max_date_modified&sort=date_modified:asc   changed orders
    GET  /v2/orders/{id}/products            lines (physical vs digital)
    GET  /v2/orders/{id}/shipping_addresses  ship-to, only for orders with physical lines
    GET  /v2/orders/{id}/shipments           tracking already there (and, for Shipped
                                             orders, whether bridge shipped them)
    POST /v2/orders/{id}/shipments           one shipment per Amazon package
    PUT  /v2/orders/{id}/shipments/{sid}     a delivery milestone in the shipment's comments
    GET/PUT /v2/orders/{id}                  staff notes (read, append, write); status 5
                                             (Cancelled) when Amazon will not ship it
    GET  /v3/catalog/variants?sku:in=…       SKU → variant or product, cached
    PUT  /v3/inventory/adjustments/absolute  absolute stock, ≤ 2,000 items per call
    GET  /v3/inventory/locations/{id}/items?sku:in=…   stock read back, ≤ 1,000 per call

Costs: a page of N orders is 1 list call plus about 2 calls per order (products,
address); an order in a shipped status adds 1 (its shipments). BigCommerce's quota is
per store (150 requests per 30 s on Standard/Plus), so keep poll page sizes modest."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from bridge.carts import lifecycle_words as words
from bridge.carts.bigcommerce import lifecycle
from bridge.carts.bigcommerce.client import BigCommerceHttp
from bridge.carts.bigcommerce.mapping import (
    SHIPMENT_MARK,
    OrderCursor,
    StatusRules,
    bridge_shipped,
    cart_order,
    epoch_floor,
    from_epoch,
    modified_second,
    physical_products,
    rfc2822,
    shipping_address_id,
)
from bridge.carts.bigcommerce.settings import BigCommerceSettings, check_settings
from bridge.carts.bigcommerce.stock import (
    READ_PAGE,
    SkuResolver,
    location_problems,
    read_levels,
    set_absolute,
)
from bridge.carts.contract import (
    CancelRequest,
    Capabilities,
    DeliveryUpdate,
    ReturnUpdate,
    SecretResolver,
)
from bridge.domain.model import CartOrder, OrderPage, PackageShipment, StockLevel
from bridge.errors import ConfigError, FatalError, NeedsAttentionError

MAX_PAGE = 250  # V2's largest `limit`
TRACKING_LINK_MAX = 500  # orderShipment_Post.tracking_link maxLength

# Amazon's carrier names → BigCommerce's built-in `shipping_provider` values, which get
# tracking links in the control panel and customer e-mails.
SHIPPING_PROVIDERS = {
    "ups": "ups", "usps": "usps", "fedex": "fedex", "federal express": "fedex",
    "royal mail": "royalmail", "royalmail": "royalmail", "canada post": "canadapost",
    "australia post": "auspost",
}
# Other carriers → AfterShip slugs (`tracking_carrier`); anything else is sent with
# Amazon's own tracking URL as a custom `tracking_link`.
TRACKING_CARRIERS = {"dhl": "dhl", "dhl express": "dhl", "ontrac": "ontrac",
                     "amazon logistics": "amazon", "amzl": "amazon", "amazon shipping": "amazon"}


class BigCommerceAdapter:
    platform: ClassVar[str] = "bigcommerce"
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_fulfillment=True, notes=True, bulk_stock=True, webhooks=False,
        stock_batch_size=2000, stock_read_batch_size=READ_PAGE, conditional_stock_writes=False,
        # V2 cancels whole orders (status 5); a line leaves an order only through a refund.
        cancel_lines=False,
    )

    def __init__(self, settings: BigCommerceSettings, access_token: str, *,
                 sleep: Callable[[float], None] = time.sleep, max_retries: int = 4,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        # `sleep` and `clock` together time the quota waits (injected by tests).
        self.http = BigCommerceHttp(settings.api_base, access_token, clock=clock,
                                    timeout=settings.timeout_seconds, sleep=sleep,
                                    max_retries=max_retries, verify=settings.verify,
                                    ca_bundle=settings.ca_bundle)
        self.rules = StatusRules(settings.ready_status_ids, settings.cancelled_status_ids,
                                 settings.shipped_status_ids)
        self.skus = SkuResolver(self.http)

    # -- construction

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return check_settings(settings)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], secret: SecretResolver,
                      **options: Any) -> BigCommerceAdapter:
        problems = check_settings(settings)
        if problems:
            raise ConfigError([("-", f"cart.{key}", what) for key, what in problems])
        parsed = BigCommerceSettings.from_settings(settings)
        try:
            token = secret(parsed.access_token_ref)
        except ValueError as exc:
            raise ConfigError([("-", "cart.access_token", str(exc))]) from None
        return cls(parsed, token, **options)

    def __repr__(self) -> str:
        return f"BigCommerceAdapter(store {self.settings.store_hash})"

    # -- online check

    def probe(self) -> list[tuple[str, str]]:
        """The token reads orders, and `location_id` is an enabled location (read only)."""
        try:
            self.http.request("GET", "/v2/orders", params={"limit": 1})
        except FatalError as exc:
            return [("access_token", f"BigCommerce refused the token: {exc.message}; check "
                     "access_token and that its API account has the scopes Orders: modify, "
                     "Products: read-only and Store Inventory: modify")]
        try:
            return location_problems(self.http, self.settings.location_id)
        except FatalError as exc:
            return [("location_id", f"cannot list the store's locations to check it "
                     f"({exc.message}); give the API account the Store Locations: read-only scope")]

    def close(self) -> None:
        self.http.close()

    # -- orders

    def fetch_orders(self, since: datetime, until: datetime, page: str | None,
                     limit: int) -> OrderPage:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        want = min(limit, MAX_PAGE)
        cursor = OrderCursor.decode(page) if page else OrderCursor(epoch_floor(since))
        rows, more = self._changed_rows(cursor, since, until, want)
        orders = [self._order(row) for row in rows]
        return OrderPage(orders, cursor.after(rows).encode() if more else None)

    def _changed_rows(self, cursor: OrderCursor, since: datetime, until: datetime,
                      want: int) -> tuple[list[Mapping[str, Any]], bool]:
        """Up to `want` orders of [since, until) after the cursor, and whether more follow.

        The filters are inclusive and whole-second, so bridge asks for the seconds around
        the window and keeps the half-open window itself. It asks for the ids it already
        returned at the cursor's second plus one extra row, so one request usually both
        fills the page and tells whether another follows."""
        seen = set(cursor.seen)
        size = min(MAX_PAGE, want + len(seen) + 1)
        picked: list[Mapping[str, Any]] = []
        picked_ids: set[int] = set()
        number = 1
        while True:
            batch = self._list_orders(cursor.at, until, number, size)
            for row in batch:
                second = modified_second(row)
                order_id = int(row["id"])
                if second is None or second < max(cursor.at, since.timestamp()) \
                        or second >= until.timestamp():
                    continue
                if (second == cursor.at and order_id in seen) or order_id in picked_ids:
                    continue
                if len(picked) == want:
                    return picked, True
                picked.append(row)
                picked_ids.add(order_id)
            if len(batch) < size:
                return picked, False
            # A full page: more than a page of orders share the cursor's second (or the
            # window's edges). Walk on; the skip list keeps the walk exact.
            number += 1

    def _list_orders(self, start: int, until: datetime, page: int, size: int) -> list:
        params = {
            "min_date_modified": rfc2822(from_epoch(start)),
            "max_date_modified": rfc2822(until),
            "sort": "date_modified:asc",
            "limit": size,
            "page": page,
        }
        response = self.http.request("GET", "/v2/orders", params=params)
        return self.http.read_json(response) or []

    def _order(self, row: Mapping[str, Any]) -> CartOrder:
        order_id = row["id"]
        products = self._all(f"/v2/orders/{order_id}/products")
        address = None
        if physical_products(products):
            address = self._shipping_address(order_id, products)
        shipped_by_bridge = False
        if _int(row.get("status_id")) in self.rules.shipped:
            shipped_by_bridge = bridge_shipped(self._all(f"/v2/orders/{order_id}/shipments"))
        return cart_order(row, products, address, self.rules, shipped_by_bridge)

    def _shipping_address(self, order_id: Any, products: list) -> Mapping[str, Any] | None:
        """The address the physical lines ship to. A shopper may split one order over
        several addresses ("multiple shipping addresses" checkout); Amazon ships a
        fulfillment order to one address, so such an order gets no address and waits
        for a person instead of sending every item to the first one."""
        target = shipping_address_id(products)
        if target is None:
            return None
        addresses = self._all(f"/v2/orders/{order_id}/shipping_addresses")
        for address in addresses:
            if address.get("id") == target:
                return address
        # Lines not tied to an address id (older orders): the order's only address.
        return addresses[0] if len(addresses) == 1 else None

    def _all(self, path: str) -> list:
        """Every row of a paged V2 list (204 = none)."""
        rows: list = []
        page = 1
        while True:
            response = self.http.request("GET", path, params={"limit": MAX_PAGE, "page": page})
            batch = self.http.read_json(response) or []
            rows.extend(batch)
            if len(batch) < MAX_PAGE:
                return rows
            page += 1

    # -- writing back

    def push_shipment(self, order: CartOrder, shipment: PackageShipment, notify: bool) -> bool:
        """One BigCommerce shipment per Amazon package. `notify` cannot be chosen per
        shipment: BigCommerce e-mails the customer according to the store's
        order-status e-mail settings when the status moves to (Partially) Shipped."""
        path = f"/v2/orders/{order.order_id}/shipments"
        if any(s.get("tracking_number") == shipment.tracking_number for s in self._all(path)):
            return False
        products = self._all(f"/v2/orders/{order.order_id}/products")
        body = self._shipment_body(order, shipment, products)
        self.http.request("POST", path, json=body)
        return True

    def _shipment_body(self, order: CartOrder, shipment: PackageShipment,
                       products: list) -> dict[str, Any]:
        by_id = {str(p["id"]): p for p in products}
        if shipment.lines:
            items = [(line.line_id, line.quantity) for line in shipment.lines]
        else:
            # No line detail from Amazon: everything physical that is not shipped yet.
            items = [(str(p["id"]), int(p["quantity"]) - int(p.get("quantity_shipped") or 0))
                     for p in physical_products(products)]
        unknown = [line_id for line_id, _ in items if line_id not in by_id]
        if unknown:
            raise NeedsAttentionError(
                "unknown_line", f"order {order.order_id} has no line(s) {', '.join(unknown)}")
        addresses = {by_id[line_id].get("order_address_id") for line_id, _ in items}
        if len(addresses) != 1:
            raise NeedsAttentionError(
                "multiple_addresses",
                f"order {order.order_id}: one package holds lines for several ship-to addresses")
        body: dict[str, Any] = {
            "order_address_id": addresses.pop(),
            "tracking_number": shipment.tracking_number,
            "comments": f"{SHIPMENT_MARK}: package {shipment.package_number}",
            "items": [{"order_product_id": int(line_id), "quantity": quantity}
                      for line_id, quantity in items if quantity > 0],
        }
        carrier = shipment.carrier.strip().lower()
        if carrier in SHIPPING_PROVIDERS:
            body["shipping_provider"] = SHIPPING_PROVIDERS[carrier]
        elif carrier in TRACKING_CARRIERS:
            body["tracking_carrier"] = TRACKING_CARRIERS[carrier]
        if shipment.carrier:
            body["shipping_method"] = shipment.carrier
        if shipment.tracking_url and len(shipment.tracking_url) <= TRACKING_LINK_MAX \
                and "shipping_provider" not in body and "tracking_carrier" not in body:
            body["tracking_link"] = shipment.tracking_url
        return body

    def get_stock(self, skus: Sequence[str]) -> dict[str, int]:
        return read_levels(self.http, skus, self.settings.location_id)

    def set_stock(self, levels: Sequence[StockLevel]) -> list[str]:
        """Absolute adjustments cannot compare first: `expected` is not used and no SKU
        is refused as stale."""
        set_absolute(self.http, self.skus, levels, self.settings.location_id)
        return []

    def add_note(self, order: CartOrder, text: str) -> None:
        """Appends to the order's staff notes (seen by staff only). V2 has no append, so
        this reads and writes the field; a staff edit in between could be overwritten."""
        current = self._read_order(order)
        notes = str(current.get("staff_notes") or "")
        self.http.request("PUT", f"/v2/orders/{order.order_id}",
                          json={"staff_notes": lifecycle.appended(notes, text)})

    # -- the order's later life

    def cancel_order(self, order: CartOrder, request: CancelRequest) -> bool:
        """Whole orders only: status 5 (Cancelled) and the reason in the staff notes, in
        one write. Lines are left alone (False): the caller names them in a note. No
        refund is issued. BigCommerce e-mails the customer as the store's order-status
        e-mail settings say (`request.notify_customer` cannot choose), and puts the
        order's stock back itself."""
        if request.lines is not None:
            return False
        current = self._read_order(order)
        if _int(current.get("status_id")) in self.rules.cancelled:
            return False
        notes = str(current.get("staff_notes") or "")
        note = lifecycle.cancel_note(order, request)
        body: dict[str, Any] = {"status_id": lifecycle.CANCELLED_STATUS}
        if words.cancel_marker(order) not in notes:
            body["staff_notes"] = lifecycle.appended(notes, note)
        self.http.request("PUT", f"/v2/orders/{order.order_id}", json=body)
        return True

    def push_delivery(self, order: CartOrder, update: DeliveryUpdate) -> bool:
        """A line in the comments of the package's shipment (found by tracking number),
        once per (tracking number, milestone). An order that no longer has that shipment
        gets the line, naming carrier and tracking number, in its staff notes."""
        marker = words.delivery_marker(update)
        number = update.package.tracking_number
        shipments = self._all(f"/v2/orders/{order.order_id}/shipments")
        shipment = next((s for s in shipments if s.get("tracking_number") == number), None)
        if shipment is None:
            return self._staff_note_once(order, marker, lifecycle.delivery_note(update))
        comments = str(shipment.get("comments") or "")
        if marker in comments:
            return False
        # Appended: the comment keeps starting with bridge's shipment mark.
        self.http.request("PUT", f"/v2/orders/{order.order_id}/shipments/{shipment['id']}",
                          json={"comments": lifecycle.appended(comments,
                                                               lifecycle.delivery_comment(update))})
        return True

    def push_return(self, order: CartOrder, update: ReturnUpdate) -> bool:
        """A staff note per (authorization, stage): at AUTHORIZED the return's id, lines,
        reason and label URL; at RECEIVED the units back and their condition. No refund
        or restock is made."""
        return self._staff_note_once(order, words.return_marker(update),
                                     lifecycle.return_note(order, update))

    def _staff_note_once(self, order: CartOrder, marker: str, text: str) -> bool:
        notes = str(self._read_order(order).get("staff_notes") or "")
        if marker in notes:
            return False
        self.http.request("PUT", f"/v2/orders/{order.order_id}",
                          json={"staff_notes": lifecycle.appended(notes, text)})
        return True

    def _read_order(self, order: CartOrder) -> Mapping[str, Any]:
        current = self.http.read_json(self.http.request("GET", f"/v2/orders/{order.order_id}"))
        if not isinstance(current, Mapping):
            raise NeedsAttentionError("cart_rejected", f"BigCommerce answered order "
                                      f"{order.order_id} with something that is not an order")
        return current


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
