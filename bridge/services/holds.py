"""What a person decides about orders waiting before Amazon (`bridge orders approve`,
`hold`, `release`). Each decision names who made it, goes into the order's event log and
into a note in the shop, and leaves the order where the storefront's rules then put it.

- approve: every hold the order has now (rules, all_orders, awaiting_capture, a hold by
  hand) is approved and the order is mapped again: ready, or needs_attention when its
  data or the config is wrong. The approval is kept on the order: after a cart edit the
  rules are evaluated again and only a hold it did not cover holds it anew.
- hold: a not-yet-submitted order is held by hand until approved or released. Refused
  once Amazon has (or may have) the order: then only a cancel in the shop stops it.
- release: lifts a hold by hand and nothing else; the rules are evaluated again, so an
  order a rule holds stays on hold (for that rule) until approved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain import rules
from bridge.domain.model import CartOrder
from bridge.domain.states import AT_AMAZON_OPEN
from bridge.domain.states import OrderState as S
from bridge.errors import BridgeError
from bridge.ledger import orders as order_rows
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order
from bridge.logging import get_logger
from bridge.services.common import tell_merchant_each
from bridge.services.ingest import IngestResult, known_seller_skus, pending_holds, prepare
from bridge.services.orders import OrderNotFound, find

log = get_logger("bridge.holds")

APPROVE, HOLD, RELEASE = "approve", "hold", "release"


@dataclass(frozen=True)
class Selection:
    """Which orders a decision is about: references (ledger id, cart id, number or
    fulfillment order id), or held orders by filter."""

    references: tuple[str, ...] = ()
    storefront: str | None = None
    rule: str | None = None      # held orders one of whose pending holds is this reason
    all_held: bool = False
    reason: str | None = None    # held orders whose hold reason (`bridge status`) is this

    @property
    def by_filter(self) -> bool:
        return self.all_held or self.rule is not None or self.reason is not None


@dataclass(frozen=True)
class Outcome:
    reference: str
    done: bool
    message: str
    state: str = ""


class NothingSelected(ValueError):
    pass


@dataclass
class _Notes:
    by_storefront: dict[str, list[tuple[CartOrder, str]]] = field(default_factory=dict)

    def add(self, storefront: str, notes: Iterable[tuple[CartOrder, str]]) -> None:
        self.by_storefront.setdefault(storefront, []).extend(notes)


def decide(ledger: Ledger, storefronts: dict[str, StorefrontConfig], action: str,
           selection: Selection, by: str,
           cart_for: Callable[[str], CartAdapter] | None = None) -> list[Outcome]:
    """Apply `action` to every selected order, each in its own transaction, then tell
    each shop. Orders that cannot take the decision are reported, the rest go on."""
    if not selection.references and not selection.by_filter:
        raise NothingSelected("name orders, or select held ones with --reason, --rule or --all-held")
    if selection.by_filter and action == HOLD:
        raise NothingSelected("hold names its orders; --reason, --rule and --all-held select "
                              "held ones")
    by = by.strip() or "someone"
    notes = _Notes()
    outcomes = [_decide_one(ledger, storefronts, action, target, selection.storefront, by, notes)
                for target in _targets(ledger, storefronts, selection)]
    for storefront, written in notes.by_storefront.items():
        if cart_for is None or not written:
            continue
        try:
            tell_merchant_each(cart_for(storefront), written, ledger=ledger, storefront=storefront)
        except BridgeError as exc:  # the decision stands; the failed notes are on record
            log.warning("decision_notes_not_written", storefront=storefront, error=str(exc))
    return outcomes


def _targets(ledger: Ledger, storefronts: dict[str, StorefrontConfig],
             selection: Selection) -> list[str | int]:
    """References as given, or the ledger ids of the held orders the filter selects."""
    if not selection.by_filter:
        return list(selection.references)
    with ledger.transaction() as session:
        held = [row for row in order_rows.held_orders(session, selection.storefront)
                if selection.reason is None or row.attention_reason == selection.reason]
        if selection.rule is None:
            return [row.id for row in held]
        return [row.id for row in held if row.storefront in storefronts and selection.rule in
                _pending_reasons(row, storefronts[row.storefront])]


def _pending_reasons(row: Order, storefront: StorefrontConfig) -> tuple[str, ...]:
    decision = rules.evaluate(storefront.rule_book, CartOrder.from_snapshot(row.snapshot))
    return tuple(hold.reason for hold in pending_holds(row, decision))


def _decide_one(ledger: Ledger, storefronts: dict[str, StorefrontConfig], action: str,
                target: str | int, storefront: str | None, by: str, notes: _Notes) -> Outcome:
    reference = str(target)
    with ledger.transaction() as session:
        try:
            found = (order_rows.get_order(session, target) if isinstance(target, int)
                     else find(session, target, storefront))
        except OrderNotFound as exc:
            return Outcome(reference, False, str(exc))
        row = order_rows.get_order(session, found.id, lock=True) if found else None
        if row is None:
            return Outcome(reference, False, f"no order matches {reference!r}")
        config = storefronts.get(row.storefront)
        if config is None:
            return Outcome(reference, False, f"order {row.number}: storefront {row.storefront!r} "
                                             "is not configured")
        result = IngestResult()
        act = {APPROVE: _approve, HOLD: _hold, RELEASE: _release}[action]
        refused = act(session, config, row, by, result)
        if refused:
            return Outcome(reference, False, f"order {row.number}: {refused}", row.state)
        notes.add(row.storefront, result.notes)
        log.info("order_decision", action=action, order=row.cart_order_id, by=by, state=row.state)
        return Outcome(reference, True, f"order {row.number} is now {row.state}"
                       + (f" ({row.attention_reason})" if row.attention_reason else ""), row.state)


def _approve(session: Session, config: StorefrontConfig, row: Order, by: str,
             result: IngestResult) -> str:
    if row.state != S.ON_HOLD:
        return f"it is {row.state}, not on hold"
    order = CartOrder.from_snapshot(row.snapshot)
    holds = _pending_reasons(row, config)
    marks = dict(row.hold_decisions or {})
    approved = sorted({*marks.get("approved", ()), *holds})
    row.hold_decisions = {"approved": approved}  # a hold by hand ends with its approval
    message = f"approved by {by}: " + (", ".join(holds) or "no hold left")
    repo.record_event(session, row.storefront, row.id, "approved", message=message)
    prepare(session, config, row, order, known_seller_skus(session, row.storefront), result)
    result.notes.insert(0, (order, f"{message}; the order is now {row.state}"))
    return ""


def _hold(session: Session, config: StorefrontConfig, row: Order, by: str,
          result: IngestResult) -> str:
    state = S(row.state)
    if state in (S.SUBMITTING, S.SUBMIT_UNKNOWN):
        return ("it is being sent to Amazon and Amazon may have it already; to stop it, "
                "cancel it in the shop")
    if row.accepted_at is not None or state in (*AT_AMAZON_OPEN, S.SHIPPED, S.COMPLETE):
        return f"Amazon already has it ({state.value}); to stop it, cancel it in the shop"
    if state in (S.CANCELLED, S.IGNORED):
        return f"it is {state.value}: there is nothing to send to Amazon"
    marks = dict(row.hold_decisions or {})
    if marks.get("held_by") and state == S.ON_HOLD:
        return f"it is already held by {marks['held_by']}"
    marks["held_by"] = by
    row.hold_decisions = marks
    order = CartOrder.from_snapshot(row.snapshot)
    repo.record_event(session, row.storefront, row.id, "held",
                      message=f"held by {by}: not sent to Amazon until approved or released")
    if state == S.NEEDS_ATTENTION:
        # Already waiting for a person; once retried it waits on hold.
        result.notes.append((order, f"held by {by}: once retried it waits for approval"))
        return ""
    if state == S.READY:
        repo.transition(session, row, S.RECEIVED, "held", f"held by {by}")
    prepare(session, config, row, order, known_seller_skus(session, row.storefront), result)
    return ""


def _release(session: Session, config: StorefrontConfig, row: Order, by: str,
             result: IngestResult) -> str:
    marks = dict(row.hold_decisions or {})
    if not marks.get("held_by"):
        reason = f" (on hold for {row.attention_reason})" if row.state == S.ON_HOLD else ""
        return f"it is not held by hand{reason}; approve it to send it"
    held_by = marks.pop("held_by")
    row.hold_decisions = marks
    order = CartOrder.from_snapshot(row.snapshot)
    message = f"released by {by}: the hold by {held_by} is lifted; the rules still apply"
    repo.record_event(session, row.storefront, row.id, "released", message=message)
    if row.state == S.ON_HOLD:
        prepare(session, config, row, order, known_seller_skus(session, row.storefront), result)
    result.notes.insert(0, (order, f"{message}; the order is now {row.state}"))
    return ""
