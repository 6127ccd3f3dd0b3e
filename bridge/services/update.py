"""Edits from the cart sent to Amazon: an order in `update_requested` has a pending edit
(bridge.services.edits). Each run reads the order back at Amazon first (the ledger's
amazon_status is only a cache), then:

- Amazon's order already is what the edit asks for (an earlier run's update landed, its
  answer lost): nothing is sent; the order is `accepted` with the edit recorded;
- Amazon still takes changes (Received, Planning): updateFulfillmentOrder with only
  what differs (address, shipping speed, item quantities); then `accepted`;
- Amazon is past that: needs_attention `edit_too_late`, with a note in the shop.

updateFulfillmentOrder changes the quantities of the items an order was created with;
it adds no item and drops none (an item's quantity must stay above 0). An edit that
adds an item or changes an item's SKU is refused here with a typed reason
(`edit_adds_items`, `edit_changes_sku`) before anything is sent; fewer units are not an
edit (bridge.services.edits), so quantities are only ever raised. An update sent twice sets the same values
twice, which is harmless; an unknown outcome leaves the order `update_requested` and
the next run reads back."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain import fulfillment as amazon
from bridge.domain.fulfillment import (
    FulfillmentOrder,
    FulfillmentOrderRequest,
    FulfillmentOrderUpdate,
    RequestedItem,
    UpdateVerdict,
)
from bridge.domain.mapping import MappedLine, MappedOrder, build_fulfillment_request, quoted
from bridge.domain.marketplaces import label
from bridge.domain.model import CartOrder
from bridge.domain.states import OrderState as S
from bridge.errors import IndeterminateError, NeedsAttentionError
from bridge.fba.port import FulfillmentNetwork
from bridge.fba.priority import Priority, call_priority
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.services import status
from bridge.services.amazon_outcomes import OutcomePolicy
from bridge.services.common import log, mapping_policy, tell_merchant
from bridge.services.edits import pending_edit, set_pending_edit
from bridge.services.ingest import known_seller_skus

TOO_LATE = ("Amazon no longer takes changes to the order (it is {status}), so it ships as "
            "first sent: cancel and re-order, or arrange the change with the customer")


@dataclass
class UpdateResult:
    updated: int = 0  # Amazon took the edit (or had it already)
    too_late: int = 0
    refused: int = 0  # an edit Amazon's update cannot make, or Amazon refused it
    cancelled: int = 0  # cancelled in the cart meanwhile: handed to the cancel flow
    unknown: int = 0  # the update's outcome is unknown: read back next run


@dataclass(frozen=True)
class EditPlan:
    """The request Amazon's order should become, and the update that gets it there."""

    desired: FulfillmentOrderRequest
    mapped: MappedOrder
    update: FulfillmentOrderUpdate


def plan_update(sent: FulfillmentOrderRequest, sent_order: CartOrder, edited: CartOrder,
                mapped: MappedOrder, at_amazon: FulfillmentOrder) -> EditPlan:
    """What to ask updateFulfillmentOrder for so that Amazon's order (`at_amazon`, read
    back) ships the edited cart order. Pure. The speed changes only when the cart's
    shipping method did, so a speed set for the order otherwise (a rule) is kept.
    NeedsAttentionError for an edit the update cannot make."""
    speed = sent.shipping_speed
    if edited.shipping_method != sent_order.shipping_method:
        speed = mapped.request.shipping_speed
    amazon_items = {item.item_id: item for item in at_amazon.items}
    wanted = {item.item_id: item for item in mapped.request.items}
    added = [item for key, item in wanted.items() if key not in amazon_items]
    if added:
        raise NeedsAttentionError(
            "edit_adds_items",
            "the edit adds " + ", ".join(f"SKU {quoted(item.seller_sku)}" for item in added[:5])
            + "; Amazon's update changes only the quantities of the items the order was "
              "created with: cancel and re-order, or send the new items as another order")
    changed_sku = [item for key, item in wanted.items()
                   if amazon_items[key].seller_sku != item.seller_sku]
    if changed_sku:
        raise NeedsAttentionError(
            "edit_changes_sku",
            "the edit changes the SKU of " + ", ".join(
                f"item {quoted(item.item_id)} to {quoted(item.seller_sku)}" for item in changed_sku[:5])
            + "; Amazon's update cannot change an item's SKU: cancel and re-order")
    # Only more units are sent: fewer (or a line gone) is what fulfilment in the shop
    # looks like too, and Amazon's update cannot drop an item anyway.
    items = tuple(
        RequestedItem(item.seller_sku, key, max(item.quantity, wanted[key].quantity)
                      if key in wanted else item.quantity)
        for key, item in amazon_items.items())
    desired = replace(sent, destination=mapped.request.destination, shipping_speed=speed,
                      items=items)
    update = FulfillmentOrderUpdate(
        seller_fulfillment_order_id=sent.seller_fulfillment_order_id,
        marketplace_id=sent.marketplace_id,
        destination=desired.destination if at_amazon.destination != desired.destination else None,
        shipping_speed=speed if at_amazon.shipping_speed != speed else None,
        items=tuple(item for item in items if item.quantity != amazon_items[item.item_id].quantity),
    )
    return EditPlan(desired, mapped, update)


@call_priority(Priority.CANCEL)  # beside cancels: both must reach Amazon before picking
def process_updates(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None,
                    storefront: StorefrontConfig, limit: int = 25) -> UpdateResult:
    result = UpdateResult()
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront.name):
            return result
        rows = repo.claim_orders(ledger, session, storefront.name, [S.UPDATE_REQUESTED], limit)
        work = [row.id for row in rows]
        known_skus = known_seller_skus(session, storefront.name) if work else None
    for order_id in work:
        _update_one(ledger, fba, cart, storefront, order_id, known_skus, result)
    return result


def _update_one(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None,
                storefront: StorefrontConfig, order_id: int,
                known_skus: dict[str, set[str]] | None,
                result: UpdateResult) -> None:
    with ledger.transaction() as session:
        row = repo.existing_order(session, order_id, lock=True)
        if row.state != S.UPDATE_REQUESTED:
            return
        edited = pending_edit(row)
        sent_order = CartOrder.from_snapshot(row.snapshot)
        if edited is None and not sent_order.cancelled:
            repo.transition(session, row, S.ACCEPTED, "accepted", "no edit left to send")
            return
        if edited is None or edited.cancelled or sent_order.cancelled:
            # Cancelled in the cart meanwhile (ingest records the cancel on the snapshot):
            # the cancel flow takes it from here; an edit no longer matters.
            set_pending_edit(row, None)
            repo.transition(session, row, S.CANCEL_REQUESTED, "cancel_requested",
                            "cancelled in the cart; cancelling at Amazon")
            result.cancelled += 1
            return
        sfo_id = row.seller_fulfillment_order_id or ""
        sent = FulfillmentOrderRequest.from_json(row.request or {})
    try:
        mapped = build_fulfillment_request(edited, sfo_id, mapping_policy(storefront), known_skus)
    except NeedsAttentionError as problem:
        _hold(ledger, cart, order_id, edited, problem.reason,
              f"the edit cannot be sent to Amazon: {problem.message}; Amazon ships the order "
              "as first sent", result)
        return
    if mapped.request.marketplace_id != sent.marketplace_id:
        routing = storefront.fulfillment.routing_table
        _hold(ledger, cart, order_id, edited, "marketplace_changed",
              "the edit was not sent: the new address routes to marketplace "
              f"{label(routing.marketplace_id(mapped.request.marketplace_id))}, and Amazon "
              "cannot move an order to another marketplace; Amazon ships the order as first "
              "sent unless it is cancelled and placed again", result)
        return
    detail = fba.fulfillment_order(sfo_id)
    if detail is None:
        _hold(ledger, cart, order_id, edited, "not_found_at_amazon",
              f"the edit was not sent: Amazon has no fulfillment order {sfo_id}", result)
        return
    try:
        plan = plan_update(sent, sent_order, edited, mapped, detail)
    except NeedsAttentionError as problem:
        _hold(ledger, cart, order_id, edited, problem.reason,
              f"the edit was not sent to Amazon: {problem.message}", result)
        return
    if plan.update.empty:  # Amazon has it already (an earlier update's answer was lost)
        _settle(ledger, storefront, cart, order_id, edited, plan, detail,
                "Amazon's order already has the cart's edit", result)
        return
    if detail.status not in amazon.UPDATABLE:
        _too_late(ledger, storefront, cart, order_id, edited, detail, result)
        return
    try:
        outcome = fba.update_order(plan.update)
    except IndeterminateError as exc:
        with ledger.transaction() as session:
            row = repo.existing_order(session, order_id)
            repo.record_event(session, row.storefront, row.id, "update_unknown",
                              message=f"the update's outcome is unknown ({exc}); reading back "
                                      "before sending it again")
        result.unknown += 1
        return
    if outcome.verdict == UpdateVerdict.UPDATED:
        _settle(ledger, storefront, cart, order_id, edited, plan, detail,
                "Amazon updated the order: " + _described(plan.update), result)
        return
    if outcome.verdict == UpdateVerdict.NOT_FOUND:
        _hold(ledger, cart, order_id, edited, "not_found_at_amazon",
              f"the edit was not sent: Amazon has no fulfillment order {sfo_id}", result)
        return
    # Refused: Amazon moved on between the read and the update, or will not take it.
    again = fba.fulfillment_order(sfo_id)
    if again is not None and again.status not in amazon.UPDATABLE:
        _too_late(ledger, storefront, cart, order_id, edited, again, result)
        return
    _hold(ledger, cart, order_id, edited, "amazon_refused_update",
          f"Amazon refused the edit: {outcome.reason}; the order ships as first sent", result)


def _described(update: FulfillmentOrderUpdate) -> str:
    parts = []
    if update.destination is not None:
        parts.append("new shipping address")
    if update.shipping_speed is not None:
        parts.append(f"shipping speed {update.shipping_speed}")
    if update.items:
        parts.append("quantities " + ", ".join(f"{item.seller_sku} × {item.quantity}"
                                               for item in update.items))
    return "; ".join(parts)


def _settle(ledger: Ledger, storefront: StorefrontConfig, cart: CartAdapter | None,
            order_id: int, edited: CartOrder, plan: EditPlan, detail: FulfillmentOrder,
            message: str, result: UpdateResult) -> None:
    """Amazon has the edit: the row becomes the edited order as sent. A newer edit that
    arrived meanwhile stays pending (the order stays `update_requested` for it)."""
    notes: list[tuple[CartOrder, str]] = []
    moved_to = ""  # the status the read-back moved the order to, if it did
    with ledger.transaction() as session:
        row = repo.existing_order(session, order_id, lock=True)
        if row.state != S.UPDATE_REQUESTED:
            return  # settled meanwhile (the status sync, a cancel)
        newer = pending_edit(row)
        latest = row.content_hash  # the cart's order as last read, which ingest compares with
        repo.update_snapshot(row, edited)
        row.content_hash = latest
        row.request = plan.desired.to_json()
        repo.replace_lines(session, row, _lines_after(session, row.id, plan))
        if newer is not None and newer.snapshot() != edited.snapshot():
            set_pending_edit(row, newer)
            repo.record_event(session, row.storefront, row.id, "amazon_updated",
                              message=message + "; a newer edit is sent next")
        else:
            repo.transition(session, row, S.ACCEPTED, "amazon_updated", message)
            # What the read-back said (Processing, shipped, closed) applies as the status
            # sync would, which may have passed over it while the edit waited.
            if status.apply_fulfillment_order(session, row, detail, status.StatusResult(),
                                              notes, OutcomePolicy.of(storefront)):
                moved_to = detail.status
        name = row.storefront
    result.updated += 1
    log.info("order_updated", order_id=order_id, detail=message)
    status.tell_after_apply(ledger, cart, name, order_id, notes, moved_to)


def _lines_after(session: Session, order_id: int, plan: EditPlan) -> list[MappedLine]:
    """The order's items as Amazon now ships them: the edited lines at Amazon's final
    quantities, and the lines the edit dropped as they were (Amazon still ships them)."""
    final = {item.item_id: item.quantity for item in plan.desired.items}
    lines = [replace(line, quantity=final[line.item_id])
             for line in plan.mapped.lines if line.item_id in final]
    edited = {line.item_id for line in lines}
    lines += [MappedLine(line.line_id, line.cart_sku, line.seller_sku, line.quantity,
                         line.item_id, line.kit_units)
              for line in repo.order_lines(session, order_id) if line.item_id not in edited]
    return lines


def _too_late(ledger: Ledger, storefront: StorefrontConfig, cart: CartAdapter | None,
              order_id: int, edited: CartOrder, detail: FulfillmentOrder,
              result: UpdateResult) -> None:
    if detail.status in amazon.CLOSED_UNSHIPPED:
        # Amazon closed it: that outcome, not the edit, is what the merchant must hear.
        notes: list[tuple[CartOrder, str]] = []
        with ledger.transaction() as session:
            row = repo.existing_order(session, order_id, lock=True)
            if row.state != S.UPDATE_REQUESTED:
                return
            set_pending_edit(row, None)
            changed = status.apply_fulfillment_order(session, row, detail, status.StatusResult(),
                                                     notes, OutcomePolicy.of(storefront))
            name = row.storefront
        result.too_late += 1
        status.tell_after_apply(ledger, cart, name, order_id, notes,
                                detail.status if changed else "")
        return
    message = "the order changed in the cart, but " + TOO_LATE.format(status=detail.status)
    if _hold(ledger, cart, order_id, edited, "edit_too_late", message, None,
             amazon_status=detail.status):
        result.too_late += 1


def _hold(ledger: Ledger, cart: CartAdapter | None, order_id: int, edited: CartOrder,
          reason: str, message: str, result: UpdateResult | None, *,
          amazon_status: str = "") -> bool:
    """needs_attention with `reason`, and a note in the shop. The edit stops waiting;
    the row keeps the order as Amazon has it."""
    with ledger.transaction() as session:
        row = repo.existing_order(session, order_id, lock=True)
        if row.state != S.UPDATE_REQUESTED:
            return False
        set_pending_edit(row, None)
        if amazon_status:
            row.amazon_status = amazon_status
        repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention", message,
                        reason=reason)
        name = row.storefront
    if result is not None:
        result.refused += 1
    log.warning("order_needs_attention", order_id=order_id, reason=reason, detail=message)
    if cart is not None:
        tell_merchant(cart, edited, message, ledger=ledger, storefront=name)
    return True

