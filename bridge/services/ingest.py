"""Orders in: read the cart's changed orders since the cursor and record them.

Cursor rules: the window is half-open [since, until); `until` is the moment the read
started (never later), `since` is the cursor minus an overlap, so rows that were
committed late in the cart are read again; the unique key (storefront, cart order id)
plus the content hash dedupe what the overlap re-reads. The cursor moves in the same
transaction as the last page's rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain import rules
from bridge.domain.ids import seller_fulfillment_order_id
from bridge.domain.mapping import (
    MappedLine,
    MappingPolicy,
    build_fulfillment_request,
    quoted,
    reserved_lines,
)
from bridge.domain.model import CartOrder, OrderPage, PaymentStatus
from bridge.domain.states import OrderState as S
from bridge.errors import NeedsAttentionError
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, utcnow
from bridge.services.common import log, mapping_policy, tell_merchant_each
from bridge.services.edits import changed_after_submission

FLOW = "orders"
# Short: a heartbeat renews it while the poll runs, so a crashed poll's lease lapses
# within this (at once when its process is seen dead on the same host).
LEASE_SECONDS = repo.LEASE_SECONDS
# How far a cart's clock may run ahead of bridge's before an order's date is suspect.
CLOCK_SKEW = timedelta(minutes=5)
# Amazon statuses of an order it has shipped (in full or in part).
AMAZON_SHIPPED = ("Complete", "CompletePartialled")
CANCELLED_AFTER_SHIPMENT = (
    "cancelled in the cart after Amazon shipped it; Amazon cannot recall the shipment, so "
    "a refund or a return is the merchant's call"
)


@dataclass
class IngestResult:
    seen: int = 0
    recorded: int = 0
    ready: int = 0
    needs_attention: int = 0
    changed: int = 0
    cancelled: int = 0
    ignored: int = 0  # read but not recorded: unpaid (read again once paid) or cancelled
    nothing_to_ship: int = 0  # recorded as `ignored`: paid, but nothing for Amazon to ship
    # Of `ignored`: not paid (nor authorized) yet, so not recorded; read again once paid.
    awaiting_payment: int = 0
    on_hold: int = 0   # held for a person's approval (bridge.domain.rules)
    excluded: int = 0  # recorded as `ignored`: an exclusion rule says never send it
    edits: int = 0     # changes to send to an order Amazon has (updateFulfillmentOrder)
    notes: list[tuple[CartOrder, str]] = field(default_factory=list)
    window: tuple[datetime, datetime] | None = None
    skipped: bool = False  # another poll of this storefront was running


def ingest_orders(
    ledger: Ledger,
    cart: CartAdapter,
    storefront: StorefrontConfig,
    *,
    now: Callable[[], datetime] | None = None,
) -> IngestResult:
    """One poll of the cart. Only one poll per storefront runs at a time: a second one
    started meanwhile (a beat tick, a nudge) returns at once with `skipped` set."""
    now = now or ledger.clock
    peek = None if _reading.get(storefront.name) else _peek(ledger, cart, storefront, now)
    if isinstance(peek, IngestResult):
        return peek
    with repo.lease(ledger, f"{storefront.name}:{FLOW}", LEASE_SECONDS) as held:
        if not held:
            return IngestResult(skipped=True)
        try:
            result = _poll(ledger, cart, storefront, now, held, peek)
            _reading[storefront.name] = result.seen > 0
            return result
        except repo.LeaseLost:
            # Another poll has taken over; pages committed so far stand, the rest is its.
            log.warning("poll_lease_lost", storefront=storefront.name)
            return IngestResult(skipped=True)


# Storefronts whose last poll in this process read orders: the next poll goes straight
# to the lease (orders stay in the window for the overlap, so a peek would only read
# them twice); the peek comes back once a poll reads nothing.
_reading: dict[str, bool] = {}


@dataclass(frozen=True)
class _Peek:
    """The first page of a window, read before the lease was taken."""

    position: datetime
    since: datetime
    until: datetime
    page: OrderPage


def _peek(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig,
          now: Callable[[], datetime]) -> IngestResult | _Peek | None:
    """The idle path: most polls find nothing, so the first page is read before any
    lease is taken. An empty window moves the cursor (one small write, which also tells
    the watchdog the poll ran) and that is all. Anything read, even an order seen
    before, goes to the full poll under its lease, which uses this page if the cursor
    has not moved meanwhile. Reading without the lease is safe: it writes no order, and
    a cursor never moves backwards. A first poll (no cursor yet) is not peeked at."""
    with ledger.transaction() as session:
        if repo.lease_taken(session, f"{storefront.name}:{FLOW}", ledger.clock()):
            return None  # a poll is running: the full path skips without reading
        cursor = repo.get_cursor(session, storefront.name, FLOW)
        position = cursor.position if cursor else None
    if position is None:
        return None
    until = now()
    since = position - timedelta(seconds=storefront.poll.overlap_seconds)
    page = cart.fetch_orders(since, until, None, storefront.poll.page_size)
    if page.orders or page.next_page is not None:
        return _Peek(position, since, until, page)
    with ledger.transaction() as session:
        repo.set_cursor(session, storefront.name, FLOW, until)
    return IngestResult(window=(since, until))


def _poll(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig,
          now: Callable[[], datetime], held: repo.HeldLease, peek: _Peek | None) -> IngestResult:
    result = IngestResult()
    with ledger.transaction() as session:
        cursor = repo.get_cursor(session, storefront.name, FLOW)
        position = cursor.position if cursor else None
    first: OrderPage | None = None
    if peek is not None and position == peek.position:
        since, until, first = peek.since, peek.until, peek.page
    else:
        until = now()
        if position is None:
            since = until - timedelta(hours=storefront.poll.initial_lookback_hours)
        else:
            since = position - timedelta(seconds=storefront.poll.overlap_seconds)
    result.window = (since, until)

    page_token: str | None = None
    while True:
        if first is not None:
            page, first = first, None
        else:
            page = cart.fetch_orders(since, until, page_token, storefront.poll.page_size)
        last_page = page.next_page is None
        with ledger.transaction() as session:
            held.confirm(session)  # a page commits only while this poll holds the lease
            repo.lock_storefront(session, storefront.name)
            known_skus = known_seller_skus(session, storefront.name)
            # Locked: the state read here decides what is written (e.g. `cancelled` for a
            # row read as `ready`); without the lock a submit worker's claim committed in
            # between would be overwritten while that worker sends the order to Amazon.
            rows = repo.find_orders(session, storefront.name,
                                    [order.order_id for order in page.orders], lock=True)
            # The page's new orders are inserted together (one flush, not one per order).
            added = repo.add_orders(session, storefront.name, _new_orders(page.orders, rows), S.RECEIVED)
            for order in page.orders:
                result.seen += 1
                fresh = added.pop(order.order_id, None)
                if fresh is not None:
                    result.recorded += 1
                    prepare(session, storefront, fresh, order, known_skus, result, new=True)
                    rows[order.order_id] = fresh
                    continue
                row = record_order(session, storefront, order, known_skus, result,
                                   rows.get(order.order_id))
                if row is not None:
                    rows[order.order_id] = row
            if last_page:
                repo.set_cursor(session, storefront.name, FLOW, until)
        if last_page:
            break
        page_token = page.next_page

    tell_merchant_each(cart, result.notes, ledger=ledger, storefront=storefront.name)
    return result


def _new_orders(orders: list[CartOrder], rows: dict[str, Order]) -> list[CartOrder]:
    """The orders of a page to record as new: not in the ledger, paid (or authorized)
    and not cancelled (see `record_order`), each once."""
    new: dict[str, CartOrder] = {}
    for order in orders:
        if order.order_id not in rows and _recordable(order):
            new.setdefault(order.order_id, order)
    return list(new.values())


def known_seller_skus(session: Session, storefront: str) -> dict[str, set[str]] | None:
    """Seller SKUs Amazon has inventory records for, per marketplace ("": home); None
    until the first stock sync (then unknown SKUs are left for Amazon to refuse)."""
    return repo.known_seller_skus(session, storefront) or None


def record_order(
    session: Session,
    storefront: StorefrontConfig,
    order: CartOrder,
    known_skus: dict[str, set[str]] | None,
    result: IngestResult,
    row: Order | None,
) -> Order | None:
    """Record one cart order against its (locked) ledger row, if any; returns the row."""
    if row is None:
        if not _recordable(order):
            # Unpaid: its payment changes it, so it is read again then. Cancelled before
            # bridge ever saw it: there is nothing to do, now or later.
            result.ignored += 1
            result.awaiting_payment += not order.cancelled
            return None
        row = repo.add_order(session, storefront.name, order, S.RECEIVED)
        result.recorded += 1
        prepare(session, storefront, row, order, known_skus, result)
        return row
    if row.content_hash == order.content_hash():
        return row
    result.changed += 1
    _record_change(session, storefront, row, order, known_skus, result)
    return row


def _record_change(session: Session, storefront: StorefrontConfig, row: Order,
                   order: CartOrder, known_skus: dict[str, set[str]] | None, result: IngestResult) -> None:
    if order.cancelled:
        _cart_cancelled(session, row, order, result)
        return
    if _editable(row):
        repo.update_snapshot(row, order)
        repo.record_event(session, row.storefront, row.id, "cart_changed",
                          message="the order changed in the cart before submission")
        held_for = row.attention_reason if row.state == S.ON_HOLD else ""
        if row.state != S.RECEIVED:
            _leave_ignored(row)
            repo.transition(session, row, S.RECEIVED, "remap", "mapping the changed order again")
        prepare(session, storefront, row, order, known_skus, result)
        if held_for and row.state != S.ON_HOLD:
            _hold_lifted(session, row, order, held_for, result)
        return
    # Amazon already has (or may have) the order.
    if changed_after_submission(session, storefront, row, order, result.notes):
        result.edits += 1


def _editable(row: Order) -> bool:
    """Amazon has never accepted this order, so a cart edit can simply be mapped again."""
    return row.state in (S.RECEIVED, S.READY, S.IGNORED, S.ON_HOLD) or (
        row.state == S.NEEDS_ATTENTION and row.accepted_at is None
    )


def _leave_ignored(row: Order) -> None:
    """An ignored or held order's reason stops holding once the cart changed it."""
    if row.state in (S.IGNORED, S.ON_HOLD):
        row.attention_reason, row.last_error = "", ""


def _recordable(order: CartOrder) -> bool:
    """Paid, or authorized (its hold says why it waits), and not cancelled. Other unpaid
    orders have no money yet: they are read again when their payment changes them."""
    return not order.cancelled and (
        order.paid or order.payment_status in (PaymentStatus.AUTHORIZED, PaymentStatus.ON_DELIVERY))


def prepare(
    session: Session,
    storefront: StorefrontConfig,
    row: Order,
    order: CartOrder,
    known_skus: dict[str, set[str]] | None,
    result: IngestResult,
    *,
    new: bool = False,
) -> None:
    """received (or on_hold) → ready (request and id saved), ignored (nothing to ship,
    or excluded by a rule), on_hold (a hold not approved yet) or needs_attention (with the
    reason). The storefront's rules are evaluated here, so every mapping applies them."""
    sfo_id = row.seller_fulfillment_order_id or seller_fulfillment_order_id(
        storefront.id_prefix, order.order_id
    )
    policy = mapping_policy(storefront)
    try:
        check_dates(order, _bridge_now(result))
        unshippable = nothing_to_ship(order)
        if unshippable is not None:
            _ignore(session, row, *unshippable, result)
            return
        decision = rules.evaluate(storefront.rule_book, order)
        if decision.exclude is not None:
            _exclude(session, row, order, decision.exclude, result)
            return
        mapped = build_fulfillment_request(order, sfo_id, with_overrides(
            policy, decision.overrides), known_skus)
    except NeedsAttentionError as problem:
        # The shop already sold these units: they stay reserved while the order is held.
        row.marketplace_id = policy.reserving_marketplace(order)
        repo.replace_lines(session, row, reserved_lines(
            order, policy.sku_map_for(row.marketplace_id)), new=new)
        repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention", problem.message,
                        reason=problem.reason)
        result.needs_attention += 1
        result.notes.append((order, f"not sent to Amazon: {problem.message}"))
        log.warning("order_needs_attention", order=order.order_id, reason=problem.reason,
                    detail=problem.message)
        return
    row.marketplace_id = mapped.request.marketplace_id
    pending = pending_holds(row, decision)
    if pending:
        _hold(session, row, order, pending, mapped.lines, result, new=new)
        return
    _leave_ignored(row)
    row.seller_fulfillment_order_id = sfo_id
    row.request = mapped.request.to_json()
    repo.replace_lines(session, row, mapped.lines, new=new)
    repo.transition(session, row, S.READY, "ready", f"ready as {sfo_id}")
    result.ready += 1
    if decision.override_rules:
        repo.record_event(session, row.storefront, row.id, "rules_applied", message=(
            "sent with " + _rule_names(decision.override_rules) + ": "
            + _describe_overrides(decision.overrides)))
    if mapped.lines_without_sku:
        _tell_lines_without_sku(session, row, order, mapped.lines_without_sku, result)


def _tell_lines_without_sku(session: Session, row: Order, order: CartOrder,
                            line_ids: tuple[str, ...], result: IngestResult) -> None:
    """Lines with no SKU are left out of what Amazon ships (gift wrap, a custom charge);
    the merchant is told which, once, in the event log and the shop."""
    message = ("not sent to Amazon, having no SKU: line" + ("s " if len(line_ids) > 1 else " ")
               + ", ".join(quoted(line_id) for line_id in line_ids[:10])
               + (f" and {len(line_ids) - 10} more" if len(line_ids) > 10 else "")
               + "; if it is an item to ship, ship it yourself or give it a SKU")
    if repo.has_event(session, row.id, "lines_without_sku", message):
        return
    repo.record_event(session, row.storefront, row.id, "lines_without_sku", message=message)
    result.notes.append((order, message))


def with_overrides(policy: MappingPolicy, overrides: rules.Overrides) -> MappingPolicy:
    """The storefront's mapping policy with a rule's per-order options on top."""
    if overrides.empty:
        return policy
    speed = overrides.shipping_speed
    return replace(
        policy,
        speed_for=(lambda _method: speed) if speed else policy.speed_for,
        fulfillment_policy=overrides.fulfillment_policy or policy.fulfillment_policy,
        features=tuple(dict.fromkeys((*policy.features, *overrides.features))),
    )


def pending_holds(row: Order, decision: rules.Decision) -> tuple[rules.Hold, ...]:
    """The holds on the order that no person has approved: a hold by hand first, then
    what the rules say. An approval covers the holds it was given for; a hold the order
    did not have then (a cart edit made a new rule match) needs an approval of its own."""
    marks = row.hold_decisions or {}
    if marks.get("held_by"):
        decision = replace(decision, holds=(
            rules.Hold(rules.MANUAL, f"held by {marks['held_by']}"), *decision.holds))
    return decision.pending(set(marks.get("approved", ())))


def _hold(session: Session, row: Order, order: CartOrder, pending: tuple[rules.Hold, ...],
          lines: tuple[MappedLine, ...], result: IngestResult, *, new: bool) -> None:
    """Held for a person, with the first hold's reason (a rule's name) on the row. The
    shop already sold the units: they stay reserved. The shop hears of a hold once."""
    message = "; ".join(hold.message for hold in pending)
    text = f"on hold for approval: {message}"
    repo.replace_lines(session, row, lines, new=new)
    result.on_hold += 1
    if row.state == S.ON_HOLD and row.attention_reason == pending[0].reason and row.last_error == message:
        return
    told = repo.has_event(session, row.id, "on_hold", text)
    repo.transition(session, row, S.ON_HOLD, "on_hold", text)
    row.attention_reason, row.last_error = pending[0].reason, message
    log.info("order_on_hold", order=order.order_id, reason=pending[0].reason)
    if not told:
        result.notes.append((order, f"{text} (bridge orders approve {row.id})"))


def _hold_lifted(session: Session, row: Order, order: CartOrder, reason: str,
                 result: IngestResult) -> None:
    """A cart change ended a hold (the payment was captured, a tag removed …)."""
    message = f"no longer held ({reason}): the order changed in the shop; now {row.state}"
    repo.record_event(session, row.storefront, row.id, "hold_lifted", message=message)
    result.notes.append((order, message))


def _exclude(session: Session, row: Order, order: CartOrder, rule: rules.Rule,
             result: IngestResult) -> None:
    """Never sent; recorded as `ignored` with the rule's name, reserving no stock (the
    merchant ships it some other way). A cart change that ends the match maps it again."""
    message = f"excluded by rule {rule.name!r} ({rule.when.describe()}): never sent to Amazon"
    if row.state == S.IGNORED and row.last_error == message:
        return
    told = repo.has_event(session, row.id, "excluded", message)
    repo.replace_lines(session, row, ())
    if row.state == S.ON_HOLD:  # only a received order is ignored
        _leave_ignored(row)
        repo.transition(session, row, S.RECEIVED, "remap", "evaluating the rules again")
    repo.transition(session, row, S.IGNORED, "excluded", message)
    row.attention_reason, row.last_error = f"excluded:{rule.name}", message
    result.excluded += 1
    log.info("order_excluded", order=order.order_id, rule=rule.name)
    if not told:
        result.notes.append((order, message))


def _rule_names(names: tuple[str, ...]) -> str:
    return ("rules " if len(names) > 1 else "rule ") + ", ".join(repr(name) for name in names)


def _describe_overrides(overrides: rules.Overrides) -> str:
    parts = []
    if overrides.fulfillment_policy:
        parts.append(f"fulfillment policy {overrides.fulfillment_policy}")
    if overrides.shipping_speed:
        parts.append(f"shipping speed {overrides.shipping_speed}")
    if overrides.features:
        parts.append("features " + ", ".join(overrides.features))
    return ", ".join(parts)


def nothing_to_ship(order: CartOrder) -> tuple[str, str] | None:
    """(reason, sentence) when a paid order gives Amazon nothing to ship."""
    if not order.lines:
        return "no_lines", "the order has no lines: there is nothing for Amazon to ship"
    if not order.shippable_lines:
        return ("nothing_to_ship", "no line of the order needs shipping (digital items, "
                "services or gift cards): there is nothing for Amazon to ship")
    return None


def _ignore(session: Session, row: Order, reason: str, message: str,
            result: IngestResult) -> None:
    """Recorded, with why, so the order is visible; it reserves no stock (no lines)."""
    repo.replace_lines(session, row, ())
    repo.transition(session, row, S.IGNORED, "ignored", message)
    row.attention_reason, row.last_error = reason, message
    result.nothing_to_ship += 1
    log.info("order_ignored", order=row.cart_order_id, reason=reason, detail=message)


def check_dates(order: CartOrder, now: datetime) -> None:
    """An order dated ahead of bridge's clock (beyond ordinary skew) means a wrong clock
    or time zone in the shop, which can also make polling miss orders: a person checks."""
    for label, moment in (("created", order.created_at), ("updated", order.updated_at)):
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if moment - now > CLOCK_SKEW:
            raise NeedsAttentionError(
                "future_date",
                f"the order's {label} time {moment.isoformat(timespec='seconds')} is "
                f"{_minutes(moment - now)} ahead of bridge's clock; check the shop's clock "
                "and time zone, then retry the order",
            )


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} min"


def _bridge_now(result: IngestResult) -> datetime:
    """The later of the poll's read start (a poll's clock, which tests may move) and now."""
    now = utcnow()
    return max(now, result.window[1]) if result.window else now


def _cart_cancelled(session: Session, row: Order, order: CartOrder, result: IngestResult) -> None:
    repo.update_snapshot(row, order)
    state = S(row.state)
    if _editable(row):
        _leave_ignored(row)
        repo.transition(session, row, S.CANCELLED, "cancelled", "cancelled in the cart before submission")
        result.cancelled += 1
    elif _shipped_by_amazon(row):
        _cancelled_after_shipment(session, row, order, result)
    elif state in (S.ACCEPTED, S.PROCESSING) or (state == S.NEEDS_ATTENTION and row.accepted_at):
        repo.transition(session, row, S.CANCEL_REQUESTED, "cancel_requested",
                        "cancelled in the cart; cancelling at Amazon")
        result.cancelled += 1
    elif state == S.UPDATE_REQUESTED:
        # The edit flow hands a cancelled order to the cancel flow, which runs it first:
        # counted as a cancel so that flow is nudged now, not at the next sweep.
        repo.record_event(session, row.storefront, row.id, "cancel_pending",
                          message="cancelled in the cart while its edit waited; cancelling "
                                  "at Amazon")
        result.cancelled += 1
    elif state in (S.SUBMITTING, S.SUBMIT_UNKNOWN):
        # The submit flow sees the cancelled snapshot once the outcome is known.
        repo.record_event(session, row.storefront, row.id, "cancel_pending",
                          message="cancelled in the cart while the submission was in flight")
    else:
        repo.record_event(session, row.storefront, row.id, "cart_cancelled_late",
                          message=f"cancelled in the cart while {state.value}")


def _shipped_by_amazon(row: Order) -> bool:
    """Amazon has shipped it (a held order too: its last status read says so)."""
    return row.state in (S.SHIPPED, S.COMPLETE) or (
        row.state == S.NEEDS_ATTENTION and row.amazon_status in AMAZON_SHIPPED
    )


def _cancelled_after_shipment(session: Session, row: Order, order: CartOrder,
                              result: IngestResult) -> None:
    """Nothing can be recalled once Amazon shipped: refunding or asking for a return is
    the merchant's call, so the order waits for them with a note saying so."""
    if row.state == S.NEEDS_ATTENTION:
        # Already waiting for a person: they hear about the cancel once, the reason stays.
        told = row.attention_reason == "cancelled_after_shipment" or repo.has_event(
            session, row.id, "cart_cancelled_after_shipment", CANCELLED_AFTER_SHIPMENT)
        if not told:
            repo.record_event(session, row.storefront, row.id, "cart_cancelled_after_shipment",
                              message=CANCELLED_AFTER_SHIPMENT)
            result.notes.append((order, CANCELLED_AFTER_SHIPMENT))
        return
    repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention", CANCELLED_AFTER_SHIPMENT,
                    reason="cancelled_after_shipment")
    result.needs_attention += 1
    result.notes.append((order, CANCELLED_AFTER_SHIPMENT))
    log.warning("order_needs_attention", order=order.order_id, reason="cancelled_after_shipment",
                detail=CANCELLED_AFTER_SHIPMENT)
