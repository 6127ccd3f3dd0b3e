"""Stock back: keep each shop SKU's quantity equal to its sellable stock (defined once
in `bridge.domain.stock`), reconciling with what the shop really shows.

A cycle reads Amazon (see `stock_amazon`), works out every shop SKU's target, reads
the shop's actual quantity, and corrects every difference, whoever made it: Amazon,
an order, a cancellation, or a person or another app in the shop. A write carries the
quantity just read, so a platform with conditional writes (Shopify) refuses it when a
sale lands in between; those SKUs are read again and retried, a bounded number of
times. Every correction goes to the inventory ledger with before, after and source.

Raising a quantity is done only once bridge has seen every order placed before the
shop was read (the order poll's cursor is past that read): otherwise a sale the shop
already counted, but bridge not yet, would be handed back and could be sold twice.
When the poll is behind, the cycle runs one itself first.

One cycle per storefront runs at a time (a lease, like the order poll's): a second one
started meanwhile returns at once with `skipped`; the one running writes what it finds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain.model import StockLevel
from bridge.domain.skus import SkuMap
from bridge.domain.stock import SellerStock, cart_targets, sellable_by_seller_sku
from bridge.errors import NeedsAttentionError
from bridge.fba.port import FulfillmentNetwork
from bridge.fba.priority import Priority, call_priority
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import ShopStock
from bridge.logging import get_logger
from bridge.services import ingest
from bridge.services.stock_amazon import read_inventory
from bridge.shadow import is_shadow

log = get_logger("bridge.stock")
MAX_STALE_ROUNDS = 3
LEASE_FLOW = "stock"
LEASE_SECONDS = repo.LEASE_SECONDS


@dataclass
class StockResult:
    read: int = 0              # inventory summaries read from Amazon
    full_read: bool = False
    checked: int = 0           # shop SKUs whose quantity was read
    written: int = 0           # corrections that landed
    drift: int = 0             # of them, undoing a change made in the shop
    stale: int = 0             # conditional writes refused because the shop moved
    unresolved: list[str] = field(default_factory=list)  # still not right, with a reason
    skipped: bool = False      # another cycle of this storefront was running

    @property
    def unchanged(self) -> int:
        return self.checked - self.written


@dataclass(frozen=True)
class Target:
    quantity: int
    fulfillable: int   # Amazon's fulfillable units behind it (summed over components)
    open_units: int    # units bridge holds back for orders Amazon does not reflect yet


def sync_stock(
    ledger: Ledger,
    fba: FulfillmentNetwork,
    cart: CartAdapter,
    storefront: StorefrontConfig,
    *,
    full: bool = False,
    read_amazon: bool = True,
    reconcile: bool | None = None,
    now: Callable[[], datetime] | None = None,
) -> StockResult:
    """One stock cycle. `read_amazon` false applies bridge's own reservations only (new
    or cancelled orders), at no SP-API cost; `reconcile` (default: `read_amazon`) reads
    every shop SKU, otherwise only those whose target moved from what the shop showed."""
    now = now or ledger.clock
    with call_priority(Priority.INVENTORY), \
            repo.lease(ledger, f"{storefront.name}:{LEASE_FLOW}", LEASE_SECONDS) as held:
        if not held:
            return StockResult(skipped=True)
        # Shop writes that landed are always recorded, so the lease only keeps two
        # cycles from running at once; a heartbeat keeps it while this one runs.
        result, used = _cycle(ledger, fba, cart, storefront, full, read_amazon, reconcile, now)
        _apply_reservations_made_meanwhile(ledger, cart, storefront, used, result, now)
        return result


def _apply_reservations_made_meanwhile(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig,
                                       used: dict[str, Target], result: StockResult,
                                       now: Callable[[], datetime]) -> None:
    """Orders recorded or cancelled while a cycle ran were nudged to a cycle that found
    this one running and returned. The targets they moved are applied now, before the
    lease goes, so the shop never shows units already sold. (Only targets that moved:
    a write the shop refused as stale is not pressed again here.)"""
    if not used:
        return
    targets = stock_targets(ledger, storefront)
    moved = [sku for sku, target in targets.items()
             if sku not in used or used[sku].quantity != target.quantity]
    if moved:
        _reconcile(ledger, cart, storefront, targets, moved, result, now)


def _cycle(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter, storefront: StorefrontConfig,
           full: bool, read_amazon: bool, reconcile: bool | None,
           now: Callable[[], datetime]) -> tuple[StockResult, dict[str, Target]]:
    result = StockResult()
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront.name):
            return result, {}
    if read_amazon:
        result.read, result.full_read = read_inventory(ledger, fba, storefront, full=full, now=now)
    everything = read_amazon if reconcile is None else reconcile
    targets = stock_targets(ledger, storefront)
    candidates = list(targets) if everything else _moved(ledger, storefront.name, targets)
    if candidates:
        _reconcile(ledger, cart, storefront, targets, candidates, result, now)
    return result, targets


def stock_targets(ledger: Ledger, storefront: StorefrontConfig) -> dict[str, Target]:
    """Shop SKU → what the shop should show, by the definition in `bridge.domain.stock`:
    of the marketplace the storefront's `shop_stock` names, or the sum of every routed
    marketplace's, each with its own SKU map, reservations and buffer."""
    account = storefront.fulfillment
    routing = account.routing_table
    each = []
    with ledger.transaction() as session:
        for marketplace_id in account.stock_marketplaces:
            key = routing.key(marketplace_id)
            stock = _seller_stock(session, storefront.name, key)
            each.append(_targets(storefront.policy.skus_for(marketplace_id), stock,
                                 storefront.policy.stock_buffer))
    if len(each) == 1:
        return each[0]
    summed: dict[str, Target] = {}
    for targets in each:
        for cart_sku, target in targets.items():
            was = summed.get(cart_sku, Target(0, 0, 0))
            summed[cart_sku] = Target(was.quantity + target.quantity,
                                      was.fulfillable + target.fulfillable,
                                      was.open_units + target.open_units)
    return summed


def _seller_stock(session: Session, storefront: str, marketplace: str) -> dict[str, SellerStock]:
    levels = repo.stock_levels(session, storefront, marketplace)
    pending = repo.units_not_yet_at_amazon(session, storefront, marketplace)
    late = repo.units_accepted_after_read(session, storefront, marketplace)
    return {sku: SellerStock(level.fulfillable, pending.get(sku, 0), late.get(sku, 0))
            for sku, level in levels.items()}


def _targets(sku_map: SkuMap, stock: dict[str, SellerStock], buffer: int) -> dict[str, Target]:
    quantities = cart_targets(sku_map, sellable_by_seller_sku(stock, buffer))
    out = {}
    for cart_sku, quantity in quantities.items():
        parts = [stock[sku] for sku, _units in sku_map.components(cart_sku)]
        out[cart_sku] = Target(quantity, sum(p.fulfillable for p in parts),
                               sum(p.open_units + p.accepted_after_read for p in parts))
    return out


def _moved(ledger: Ledger, storefront: str, targets: dict[str, Target]) -> list[str]:
    with ledger.transaction() as session:
        rows = repo.shop_stock(session, storefront)
    return [sku for sku, target in targets.items()
            if sku not in rows or rows[sku].shop_quantity != target.quantity]


def _reconcile(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig,
               targets: dict[str, Target], candidates: list[str], result: StockResult,
               now: Callable[[], datetime]) -> None:
    read_at = now()
    actual = cart.get_stock(candidates)
    result.checked += len(candidates)
    problems: dict[str, str] = {}
    if any(sku in actual and actual[sku] < targets[sku].quantity for sku in candidates):
        seen = _with_orders_seen_until(ledger, cart, storefront, read_at, now)
        targets = stock_targets(ledger, storefront) if seen is None else seen
        if seen is None:  # a poll is running elsewhere: raise nothing this cycle
            for sku in candidates:
                if sku in actual and actual[sku] < targets[sku].quantity:
                    problems[sku] = ("raising waits until the order poll running now has "
                                     "finished; checked again next cycle")
    writes = _differences([s for s in candidates if s not in problems], actual, targets)
    writes += _first_writes(ledger, storefront.name, candidates, actual, targets)
    if is_shadow(storefront):
        # Targets and drift are recorded below; the shop is not written.
        for level in writes:
            log.info("would_set_stock", storefront=storefront.name, sku=level.sku,
                     quantity=level.quantity, shop_shows=level.expected)
        writes = []
    landed: dict[str, int] = {}
    for _round in range(MAX_STALE_ROUNDS):
        if not writes:
            break
        stale = _write(cart, writes, problems)
        landed.update({level.sku: level.quantity for level in writes
                       if level.sku not in stale and level.sku not in problems})
        result.stale += len(stale)
        if not stale:
            writes = []
            break
        fresh = cart.get_stock(stale)
        actual.update(fresh)
        writes = _differences(stale, fresh, targets)
        # The shop moved between read and write, most likely a sale bridge has not seen:
        # lowering is still safe, raising waits for the next cycle's order poll.
        for level in [w for w in writes if w.quantity > (w.expected or 0)]:
            problems[level.sku] = ("the shop's quantity changed while bridge corrected it; "
                                   "raised after the next order poll")
        writes = [w for w in writes if w.sku not in problems]
    for level in writes:
        problems[level.sku] = "the shop's quantity kept changing; checked again next cycle"
    _record(ledger, storefront.name, targets, candidates, actual, landed, problems, result, now())


def _with_orders_seen_until(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig,
                            read_at: datetime,
                            now: Callable[[], datetime]) -> dict[str, Target] | None:
    """Targets once every order placed before `read_at` is known, running a poll if the
    last one started before it; None when a poll is running elsewhere right now."""
    with ledger.transaction() as session:
        cursor = repo.get_cursor(session, storefront.name, ingest.FLOW)
    if cursor is None or cursor.position < read_at:
        if ingest.ingest_orders(ledger, cart, storefront, now=now).skipped:
            return None
    return stock_targets(ledger, storefront)


def _differences(skus: Iterable[str], actual: Mapping[str, int],
                 targets: dict[str, Target]) -> list[StockLevel]:
    """Levels to write: every SKU the shop has whose quantity is not its target."""
    return [StockLevel(sku, targets[sku].quantity, expected=actual[sku])
            for sku in skus if sku in actual and actual[sku] != targets[sku].quantity]


def _first_writes(ledger: Ledger, storefront: str, candidates: list[str], actual: Mapping[str, int],
                  targets: dict[str, Target]) -> list[StockLevel]:
    """SKUs the shop did not report: written once per target (a platform that keeps
    stock rows, like a SQL shop, creates them; others skip SKUs they do not have), and
    not again every cycle while the target stays the same."""
    missing = [sku for sku in candidates if sku not in actual]
    if not missing:
        return []
    with ledger.transaction() as session:
        rows = repo.shop_stock(session, storefront, missing)
    return [StockLevel(sku, targets[sku].quantity) for sku in missing
            if sku not in rows or rows[sku].written_quantity != targets[sku].quantity]


def _write(cart: CartAdapter, writes: list[StockLevel], problems: dict[str, str]) -> list[str]:
    try:
        return list(cart.set_stock(writes))
    except NeedsAttentionError as refused:
        # The shop refused some of them; which ones is in the message. All are read
        # again next cycle, so what did land is not lost.
        for level in writes:
            problems[level.sku] = refused.message
        log.warning("stock_write_refused", count=len(writes), error=refused.message)
        return []


def _record(ledger: Ledger, storefront: str, targets: dict[str, Target], candidates: list[str],
            actual: Mapping[str, int], landed: dict[str, int], problems: dict[str, str],
            result: StockResult, at: datetime) -> None:
    with ledger.transaction() as session:
        rows = repo.shop_stock(session, storefront, candidates)
        for sku in candidates:
            target = targets[sku]
            row = rows.get(sku)
            if row is None:
                row = repo.add_shop_stock(session, storefront, sku, target.quantity)
            before = actual.get(sku)
            if sku in landed:
                source = correction_source(row, before, target)
                repo.record_stock_correction(session, storefront, sku, before, landed[sku],
                                             source, _detail(source, target))
                result.written += 1
                result.drift += source == "shop"
                row.written_quantity, row.corrected_at = landed[sku], at
                before = landed[sku]
            row.target, row.shop_quantity, row.checked_at = target.quantity, before, at
            row.fulfillable_basis, row.open_units_basis = target.fulfillable, target.open_units
            row.problem = problems.get(sku, "")
            if row.problem:
                result.unresolved.append(f"{sku}: {row.problem}")


def correction_source(row: ShopStock | None, before: int | None, target: Target) -> str:
    """Why the shop needed correcting: it changed there since bridge last wrote (shop),
    or bridge's target moved because Amazon's stock did (amazon), because of orders
    bridge holds back (order) or released (cancellation), or the map or buffer (config)."""
    if row is None or row.written_quantity is None:
        return "amazon"
    if before != row.written_quantity:
        return "shop"
    if target.fulfillable != row.fulfillable_basis:
        return "amazon"
    if target.open_units > row.open_units_basis:
        return "order"
    if target.open_units < row.open_units_basis:
        return "cancellation"
    return "config"


def _detail(source: str, target: Target) -> str:
    return (f"{source}: Amazon fulfillable {target.fulfillable}, "
            f"held for open orders {target.open_units}")
