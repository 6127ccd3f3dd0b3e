"""Customer returns of orders Amazon shipped: ask Amazon to take units back
(listReturnReasonCodes, createFulfillmentReturn), record its return authorizations and
label URLs, tell the shop, then follow the units until Amazon has processed every one
and tell the shop they are back, with the condition Amazon found them in. Refunds stay
the merchant's decision: bridge never issues one.

A return is saved in the ledger with its units' sellerReturnItemIds before Amazon is
asked. An answer lost on the way is resolved by sending the same request again (the
next `follow_returns` does): Amazon refuses ids it has seen as DuplicateRequest, which
means "taken already", and the units are then read back from the order. So a replay
never creates a second return.

Amazon takes a return one unit at a time; bridge asks for at most what shipped minus
what is already being returned (by Amazon's count and by the ledger's, the larger)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter, ReturnStage, ReturnUpdate
from bridge.config import StorefrontConfig
from bridge.domain.model import CartOrder, ShippedLine
from bridge.domain.states import OrderState as S
from bridge.errors import IndeterminateError, NeedsAttentionError, TransientError
from bridge.fba import returns as amazon
from bridge.fba.errors import NotFound
from bridge.fba.port import FulfillmentNetwork
from bridge.fba.returns import CreatedReturn, OrderReturns, ReturnReason, ReturnUnit
from bridge.ledger import repo
from bridge.ledger import returns as rows
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, Return, ReturnItem, session_now
from bridge.logging import get_logger
from bridge.services.orders import OrderNotFound, find

log = get_logger("bridge.returns")

FLOW = "returns"
# Orders Amazon shipped: only these have units to send back.
RETURNABLE_STATES = (S.SHIPPED.value, S.COMPLETE.value)
# A return still `requested` this long after it was saved lost its answer (or its
# process): the follow-up sends it again with the same ids.
RESEND_AFTER = timedelta(minutes=2)
REFUND_NOTE = "bridge issues no refund: whether and how much to refund is the merchant's call"


class ReturnProblem(Exception):
    """A return bridge will not ask for, with a typed reason and what to do."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ReasonRequired(ReturnProblem):
    """No reason code given: these are the ones Amazon takes for every SKU asked."""

    def __init__(self, codes: list[ReturnReason]) -> None:
        super().__init__("reason_required", "a return reason code is required (--reason CODE)")
        self.codes = codes


# -- what is shown -----------------------------------------------------------------------------

@dataclass(frozen=True)
class AuthorizationView:
    authorization_id: str
    rma_id: str
    label_url: str
    fulfillment_center_id: str
    address: dict[str, str]


@dataclass(frozen=True)
class UnitView:
    seller_return_item_id: str
    line_id: str
    cart_sku: str
    seller_sku: str
    amazon_shipment_id: str
    status: str
    condition: str
    authorization_id: str
    invalid_code: str
    invalid_reason: str


@dataclass(frozen=True)
class ReturnView:
    id: int
    storefront: str
    order_number: str
    seller_fulfillment_order_id: str
    state: str
    reason_code: str
    reason: str
    comment: str
    requested_at: datetime
    last_error: str
    authorizations: tuple[AuthorizationView, ...]
    units: tuple[UnitView, ...]

    @property
    def invalid(self) -> tuple[UnitView, ...]:
        return tuple(unit for unit in self.units if unit.status == rows.INVALID)


def _view(row: Return, order: Order, items: list[ReturnItem]) -> ReturnView:
    return ReturnView(
        id=row.id, storefront=row.storefront, order_number=order.number,
        seller_fulfillment_order_id=order.seller_fulfillment_order_id or "",
        state=row.state, reason_code=row.reason_code, reason=row.reason, comment=row.comment,
        requested_at=row.requested_at, last_error=row.last_error,
        authorizations=tuple(AuthorizationView(key, a.get("rma_id", ""), a.get("label_url", ""),
                                               a.get("fulfillment_center_id", ""),
                                               dict(a.get("address", {})))
                             for key, a in sorted(row.authorizations.items())),
        units=tuple(UnitView(i.seller_return_item_id, i.line_id, i.cart_sku, i.seller_sku,
                             i.amazon_shipment_id, i.status, i.condition, i.authorization_id,
                             i.invalid_code, i.invalid_reason) for i in items),
    )


def show_return(ledger: Ledger, return_id: int) -> ReturnView:
    with ledger.transaction() as session:
        row = rows.get_return(session, return_id)
        order = repo.get_order(session, row.order_id) if row else None
        if row is None or order is None:
            raise ReturnProblem("not_found", f"no return {return_id}")
        return _view(row, order, rows.return_items(session, row.id))


def list_returns(ledger: Ledger, storefront: str | None = None, state: str | None = None,
                 limit: int = 50) -> list[ReturnView]:
    with ledger.transaction() as session:
        return [_view(row, order, rows.return_items(session, row.id))
                for row, order in rows.list_returns(session, storefront, state, limit)]


# -- asking for a return ---------------------------------------------------------------------

def storefront_of(ledger: Ledger, reference: str, storefront: str | None = None) -> str:
    """The storefront of the order `reference` names (its Amazon account and shop)."""
    with ledger.transaction() as session:
        try:
            return find(session, reference, storefront).storefront
        except OrderNotFound as exc:
            raise ReturnProblem("order_not_found", str(exc)) from None


def parse_lines(text: str) -> dict[str, int]:
    """`SKU=QTY[,SKU=QTY…]` (a cart SKU or line id each) → units per key."""
    lines: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, quantity = part.rpartition("=")
        if not sep or not key.strip() or not quantity.strip().isdigit():
            raise ReturnProblem("bad_lines", f"{part!r} is not SKU=QTY (e.g. MUG-BLUE=1)")
        lines[key.strip()] = lines.get(key.strip(), 0) + int(quantity)
    if not lines:
        raise ReturnProblem("no_lines", "name at least one line to return (--lines SKU=QTY)")
    return lines


@dataclass(frozen=True)
class _Component:
    line_id: str
    cart_sku: str
    seller_sku: str
    item_id: str
    kit_units: int


def request_return(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None,
                   reference: str, lines: Mapping[str, int], reason_code: str | None,
                   comment: str = "", storefront: str | None = None) -> ReturnView:
    """Ask Amazon to take back `lines` (cart SKU or line id → units) of the order
    `reference` names (as `bridge orders show` takes it), for `reason_code`. Raises
    ReturnProblem (ReasonRequired without a reason) before anything is sent."""
    if not lines:
        raise ReturnProblem("no_lines", "name at least one line to return (--lines SKU=QTY)")
    with ledger.transaction() as session:
        try:
            order = find(session, reference, storefront)
        except OrderNotFound as exc:
            raise ReturnProblem("order_not_found", str(exc)) from None
        if order.state not in RETURNABLE_STATES or not order.seller_fulfillment_order_id:
            raise ReturnProblem("not_shipped", f"order {order.number} is {order.state}: only "
                                "orders Amazon shipped (shipped, complete) can be returned")
        sfo_id = order.seller_fulfillment_order_id
        wanted = _components(session, order, lines)
        ledger_taken = rows.units_in_returns(session, order.id)
        order_id = order.id

    at_amazon = fba.order_returns(sfo_id)
    if at_amazon is None:
        raise ReturnProblem("not_at_amazon", f"Amazon has no fulfillment order {sfo_id}")
    placed = _place_units(wanted, at_amazon, ledger_taken)
    reason = _check_reason(fba, sfo_id, sorted({c.seller_sku for c, _ in wanted}), reason_code)

    with ledger.transaction() as session:
        locked = repo.get_order(session, order_id, lock=True)
        assert locked is not None
        order = locked
        sequence = rows.next_sequence(session, order.id)
        prefix = f"{sfo_id}-R{sequence}"
        units = [rows.NewUnit(f"{prefix}-{n}", c.line_id, c.cart_sku, c.seller_sku, c.item_id,
                              shipment_id)
                 for n, (c, shipment_id) in enumerate(placed, start=1)]
        row = rows.add_return(session, order, sequence=sequence, reason_code=reason.code,
                              reason=reason.description, comment=comment, units=units)
        repo.record_event(session, order.storefront, order.id, "return_requested", message=(
            f"return {row.id}: {len(units)} unit(s) ({_summary(units)}) for {reason.code} "
            f"({reason.description})"))
        return_id = row.id
    try:
        send_return(ledger, fba, return_id)
        if cart is not None:
            tell_shop(ledger, cart, return_id)
    except TransientError as passing:
        # Recorded on the return; the returns flow sends it again (same ids) or writes
        # to the shop on its next round.
        log.warning("return_pending", return_id=return_id, error=str(passing))
    return show_return(ledger, return_id)


def _components(session: Session, order: Order,
                lines: Mapping[str, int]) -> list[tuple[_Component, int]]:
    """Each asked line's Amazon items with the units to return (a kit: its components)."""
    recorded = repo.order_lines(session, order.id)
    out: list[tuple[_Component, int]] = []
    for key, quantity in lines.items():
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ReturnProblem("bad_quantity", f"{key}: the quantity must be a whole number "
                                "of at least 1")
        by_line = [r for r in recorded if r.line_id == key]
        if not by_line:
            line_ids = {r.line_id for r in recorded if r.cart_sku == key}
            if len(line_ids) > 1:
                raise ReturnProblem("ambiguous_line", f"{key} is on several lines of order "
                                    f"{order.number} ({', '.join(sorted(line_ids))}): name the "
                                    "line id")
            by_line = [r for r in recorded if r.cart_sku == key]
        if not by_line:
            known = ", ".join(sorted({f"{r.cart_sku} (line {r.line_id})" for r in recorded}))
            raise ReturnProblem("unknown_line", f"order {order.number} has no line or SKU {key}; "
                                f"its lines: {known or 'none'}")
        for r in by_line:
            if not r.item_id:
                raise ReturnProblem("unknown_item", f"line {r.line_id} was recorded without "
                                    "Amazon's item id; return it in Seller Central")
            out.append((_Component(r.line_id, r.cart_sku, r.seller_sku, r.item_id, r.kit_units),
                        quantity * r.kit_units))
    return out


def _place_units(wanted: list[tuple[_Component, int]], at_amazon: OrderReturns,
                 ledger_taken: Mapping[tuple[str, str], int]) -> list[tuple[_Component, str]]:
    """Each unit to return with the shipment it left in, taking shipments in Amazon's
    order; ReturnProblem when more is asked than shipped and not yet returned."""
    amazon_taken = Counter((u.shipment_id, u.item_id) for u in at_amazon.units)
    used: Counter[tuple[str, str]] = Counter()
    placed: list[tuple[_Component, str]] = []
    for component, units in wanted:
        shipments = [s for s in at_amazon.shipped if s.item_id == component.item_id]
        left = units
        free_total = 0
        for shipment in shipments:
            key = (shipment.shipment_id, component.item_id)
            free = shipment.quantity - max(amazon_taken[key], ledger_taken.get(key, 0)) - used[key]
            free_total += max(0, free)
            take = max(0, min(free, left))
            placed += [(component, shipment.shipment_id)] * take
            used[key] += take
            left -= take
        if left:
            shipped = sum(s.quantity for s in shipments)
            raise ReturnProblem("too_many", (
                f"line {component.line_id} ({component.cart_sku}): {units} unit(s) of "
                f"{component.seller_sku} asked, {free_total} returnable ({shipped} shipped, "
                f"the rest already returned or being returned)"))
    return placed


def _check_reason(fba: FulfillmentNetwork, sfo_id: str, seller_skus: list[str],
                  reason_code: str | None) -> ReturnReason:
    """The reason, checked against the codes Amazon takes for every SKU returned."""
    codes: dict[str, ReturnReason] | None = None
    for sku in seller_skus:
        try:
            offered = {r.code: r for r in fba.return_reasons(sku, sfo_id)}
        except NeedsAttentionError as refused:
            raise ReturnProblem("amazon_refused", f"Amazon lists no return reasons for "
                                f"{sku}: {refused.message}") from None
        codes = offered if codes is None else {k: v for k, v in codes.items() if k in offered}
    reasons = list((codes or {}).values())
    if not reason_code:
        raise ReasonRequired(reasons)
    for reason in reasons:
        if reason.code == reason_code:
            return reason
    raise ReturnProblem("unknown_reason", (
        f"Amazon does not take {reason_code!r} as a return reason for "
        f"{', '.join(seller_skus)}; one of: {', '.join(r.code for r in reasons) or 'none'}"))


def _summary(units: list[rows.NewUnit]) -> str:
    counts = Counter(unit.cart_sku for unit in units)
    return ", ".join(f"{sku} × {n}" for sku, n in sorted(counts.items()))


# -- sending, and reading back -----------------------------------------------------------------

def send_return(ledger: Ledger, fba: FulfillmentNetwork, return_id: int) -> str:
    """Send a `requested` return (again: the same ids) and record Amazon's answer; on a
    lost answer it stays `requested` for the next follow-up. Returns the state."""
    with ledger.transaction() as session:
        row = rows.get_return(session, return_id)
        order = repo.get_order(session, row.order_id) if row else None
        if row is None or order is None or row.state != rows.REQUESTED:
            return row.state if row else ""
        sfo_id = order.seller_fulfillment_order_id or ""
        units = [ReturnUnit(i.seller_return_item_id, i.item_id, i.amazon_shipment_id,
                            row.reason_code, row.comment)
                 for i in rows.return_items(session, row.id) if not i.status]
    try:
        created = fba.create_return(sfo_id, units)
    except (NeedsAttentionError, NotFound) as refused:
        return _refused(ledger, return_id, str(refused))
    except TransientError as lost:  # IndeterminateError included: resent later, same ids
        _note_error(ledger, return_id, str(lost) or type(lost).__name__,
                    resend=isinstance(lost, IndeterminateError))
        raise
    readback = None
    if any(bad.code == amazon.DUPLICATE_REQUEST for bad in created.invalid):
        readback = fba.order_returns(sfo_id)  # taken before: its answer was lost
    return _record(ledger, return_id, created, readback)


def _record(ledger: Ledger, return_id: int, created: CreatedReturn,
            readback: OrderReturns | None) -> str:
    with ledger.transaction() as session:
        row = rows.get_return(session, return_id, lock=True)
        assert row is not None
        if row.state != rows.REQUESTED:
            return row.state  # another run recorded it meanwhile
        items = {i.seller_return_item_id: i for i in rows.return_items(session, row.id)}
        accepted = list(created.accepted) + list(readback.units if readback else ())
        authorizations = list(created.authorizations) + list(
            readback.authorizations if readback else ())
        for unit in accepted:
            item = items.get(unit.return_item_id)
            if item is not None:
                item.status, item.condition = unit.status, unit.condition
                item.authorization_id = unit.authorization_id
        for bad in created.invalid:
            item = items.get(bad.return_item_id)
            if item is not None and not item.status:
                item.status, item.invalid_code = rows.INVALID, bad.code
                item.invalid_reason = bad.description
        used = {i.authorization_id for i in items.values() if i.authorization_id}
        row.authorizations = {**row.authorizations, **{
            a.authorization_id: {"rma_id": a.rma_id, "label_url": a.label_url,
                                 "fulfillment_center_id": a.fulfillment_center_id,
                                 "address": a.address}
            for a in authorizations if a.authorization_id in used}}
        taken = [i for i in items.values() if i.status not in ("", rows.INVALID)]
        invalid = [i for i in items.values() if i.status == rows.INVALID]
        row.state = rows.AUTHORIZED if taken else rows.REFUSED
        row.last_error = ""
        order = repo.get_order(session, row.order_id)
        assert order is not None
        if taken:
            labels = "; ".join(f"{key} (RMA {a['rma_id']}, label {a['label_url']})"
                               for key, a in sorted(row.authorizations.items()))
            repo.record_event(session, row.storefront, order.id, "return_authorized",
                              message=f"return {row.id}: {len(taken)} unit(s) authorized: {labels}")
        if invalid:
            repo.record_event(session, row.storefront, order.id, "return_items_refused",
                              message=f"return {row.id}: Amazon refused {len(invalid)} unit(s): "
                              + _refusals(invalid))
        return row.state


def _refusals(invalid: list[ReturnItem]) -> str:
    counts = Counter((i.cart_sku, i.invalid_code, i.invalid_reason) for i in invalid)
    return "; ".join(f"{sku} × {n}: {code}" + (f" ({text})" if text and text != code else "")
                     for (sku, code, text), n in sorted(counts.items()))


def _refused(ledger: Ledger, return_id: int, message: str) -> str:
    with ledger.transaction() as session:
        row = rows.get_return(session, return_id, lock=True)
        assert row is not None
        if row.state != rows.REQUESTED:
            return row.state
        row.state, row.last_error = rows.REFUSED, message
        repo.record_event(session, row.storefront, row.order_id, "return_refused",
                          message=f"return {row.id}: Amazon refused it: {message}")
        return row.state


def _note_error(ledger: Ledger, return_id: int, message: str, resend: bool) -> None:
    with ledger.transaction() as session:
        row = rows.get_return(session, return_id, lock=True)
        if row is None or row.state != rows.REQUESTED:
            return
        row.last_error = message + ("; it is sent again with the same item ids" if resend else "")


# -- following ----------------------------------------------------------------------------------

@dataclass
class FollowResult:
    resent: int = 0
    read: int = 0
    authorized_written: int = 0
    received_written: int = 0
    received: int = 0
    refused_by_shop: list[str] = field(default_factory=list)
    skipped: bool = False


def follow_returns(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter,
                   storefront: StorefrontConfig, limit: int = 100) -> FollowResult:
    """One round over every open return, `limit` at a time: resend returns whose answer
    was lost, read Amazon's return items of each authorized return's order, and tell the
    shop what it has not heard yet (the authorization, then the units back once every one
    is Processed)."""
    result = FollowResult()
    with repo.lease(ledger, f"{storefront.name}:{FLOW}", repo.LEASE_SECONDS) as held:
        if not held:
            return FollowResult(skipped=True)
        after = 0
        while True:
            with ledger.transaction() as session:
                if repo.is_paused(session, storefront.name):
                    return result
                now = session_now(session)
                batch = [(r.id, r.state, r.requested_at, o.seller_fulfillment_order_id or "")
                         for r, o in rows.open_returns(session, storefront.name, limit=limit,
                                                       after_id=after)]
            _follow_batch(ledger, fba, cart, batch, now, result)
            if len(batch) < limit:
                return result
            after = batch[-1][0]
            if held.lost:  # another holder has the flow now; it carries on from the start
                log.warning("returns_lease_lost", storefront=storefront.name)
                return result


def _follow_batch(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter,
                  batch: list[tuple[int, str, datetime, str]], now: datetime,
                  result: FollowResult) -> None:
    for return_id, state, requested_at, _ in batch:
        if state == rows.REQUESTED and now - requested_at >= RESEND_AFTER:
            result.resent += 1
            try:
                send_return(ledger, fba, return_id)
            except IndeterminateError:
                continue  # lost again: the next round sends the same ids once more
    read: dict[str, OrderReturns | None] = {}
    for return_id, state, _, sfo_id in batch:
        if state != rows.AUTHORIZED:
            continue
        if sfo_id not in read:
            read[sfo_id] = fba.order_returns(sfo_id)
            result.read += 1
        answer = read[sfo_id]
        if answer is not None:
            _update_units(ledger, return_id, answer)
    for return_id, *_ in batch:
        _tell_shop(ledger, cart, return_id, result)


def _update_units(ledger: Ledger, return_id: int, answer: OrderReturns) -> None:
    by_id = {unit.return_item_id: unit for unit in answer.units}
    with ledger.transaction() as session:
        for item in rows.return_items(session, return_id):
            unit = by_id.get(item.seller_return_item_id)
            if unit is None or item.status == rows.INVALID:
                continue
            if (unit.status, unit.condition) != (item.status, item.condition):
                item.status, item.condition = unit.status, unit.condition


def tell_shop(ledger: Ledger, cart: CartAdapter, return_id: int) -> FollowResult:
    """Write to the shop what it has not heard of this return yet."""
    result = FollowResult()
    _tell_shop(ledger, cart, return_id, result)
    return result


def _tell_shop(ledger: Ledger, cart: CartAdapter, return_id: int, result: FollowResult) -> None:
    """Each authorization once at AUTHORIZED, and once at RECEIVED when all its units
    are Processed. The write happens under the return row's lock and is stamped in the
    same transaction; a lost commit is covered by the adapter's own idempotency."""
    with ledger.transaction() as session:
        row = rows.get_return(session, return_id, lock=True)
        if row is None or row.state != rows.AUTHORIZED:
            return
        order = repo.get_order(session, row.order_id)
        assert order is not None
        cart_order = CartOrder.from_snapshot(order.snapshot)
        kit_units = {(line.line_id, line.item_id): line.kit_units
                     for line in repo.order_lines(session, order.id)}
        items = rows.return_items(session, row.id)
        now = session_now(session)
        for key in sorted(row.authorizations):
            units = [i for i in items if i.authorization_id == key]
            if not units:
                continue
            authorization = row.authorizations[key]
            update = ReturnUpdate(authorization_id=key, stage=ReturnStage.AUTHORIZED,
                                  lines=_lines(units, kit_units),
                                  label_url=authorization.get("label_url", ""), reason=row.reason)
            if any(i.authorized_written_at is None for i in units):
                if not _write(session, cart, cart_order, row, update, result):
                    return
                rows.stamp(units, "authorized_written_at", now)
                result.authorized_written += 1
            processed = all(i.status == amazon.PROCESSED for i in units)
            if processed and any(i.received_written_at is None for i in units):
                received = ReturnUpdate(authorization_id=key, stage=ReturnStage.RECEIVED,
                                        lines=update.lines, label_url=update.label_url,
                                        reason=row.reason, condition=_condition(units))
                if not _write(session, cart, cart_order, row, received, result):
                    return
                rows.stamp(units, "received_written_at", now)
                result.received_written += 1
        taken = [i for i in items if i.status != rows.INVALID]
        if taken and all(i.received_written_at is not None for i in taken):
            row.state = rows.RECEIVED
            result.received += 1
            repo.record_event(session, row.storefront, order.id, "return_received",
                              message=f"return {row.id}: every unit is back at Amazon "
                              f"({_condition(taken)}); {REFUND_NOTE}")


def _write(session: Session, cart: CartAdapter, cart_order: CartOrder, row: Return,
           update: ReturnUpdate, result: FollowResult) -> bool:
    """One push_return; a refusal is recorded on the return (tried again next round)."""
    try:
        written = cart.push_return(cart_order, update)
    except NeedsAttentionError as refused:
        row.last_error = f"the shop refused the return's {update.stage} write: {refused.message}"
        result.refused_by_shop.append(row.last_error)
        log.warning("return_not_written", return_id=row.id, error=refused.message)
        return False
    row.last_error = ""
    label = f" label {update.label_url}" if update.stage == ReturnStage.AUTHORIZED else (
        f" condition {update.condition}")
    repo.record_event(session, row.storefront, row.order_id,
                      f"return_{update.stage}_written" if written
                      else f"return_{update.stage}_already_in_shop",
                      message=f"return {row.id}, authorization {update.authorization_id}:{label}")
    return True


def _lines(units: list[ReturnItem],
           kit_units: Mapping[tuple[str, str], int]) -> tuple[ShippedLine, ...]:
    """The cart lines of these units, in cart units (a kit's components count once)."""
    per_item = Counter((i.line_id, i.cart_sku, i.item_id) for i in units)
    per_line: dict[tuple[str, str], int] = {}
    for (line_id, sku, item_id), count in per_item.items():
        whole = -(-count // max(1, kit_units.get((line_id, item_id), 1)))
        per_line[(line_id, sku)] = max(per_line.get((line_id, sku), 0), whole)
    return tuple(ShippedLine(line_id, sku, quantity)
                 for (line_id, sku), quantity in sorted(per_line.items()))


def _condition(units: list[ReturnItem]) -> str:
    """One condition, or each with its count ("Sellable × 1, Defective × 1")."""
    counts = Counter(i.condition or "unknown" for i in units)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{condition} × {n}" for condition, n in sorted(counts.items()))


def has_open_returns(ledger: Ledger, storefront: str) -> bool:
    with ledger.transaction() as session:
        return rows.has_open_returns(session, storefront)
