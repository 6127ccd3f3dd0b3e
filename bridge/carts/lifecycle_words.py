"""The words bridge writes to any shop about an order's later life (Amazon cancelled it,
where a package ended up, a customer return) and the keys that make each write idempotent.

A key (`bridge:delivery:<tracking>:<milestone>`, `bridge:return:<rma>:<stage>`,
`bridge:cancel:<order>`) is how a retry after a lost answer, or a second bridge process,
finds a write already in the shop: at the end of a note in brackets, or in a notes
table's own column. Shops already hold them, so their spelling never changes. An adapter
adds only what its shop needs: where to refund, a key, a shorter line where the shop
itself shows the package."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bridge.carts.contract import CancelRequest, DeliveryUpdate, Milestone, ReturnStage, ReturnUpdate
from bridge.domain.model import CartOrder, PackageShipment, ShippedLine

MILESTONE_WORDS = {
    Milestone.DELIVERED: "was delivered",
    Milestone.DELIVERY_FAILED: "could not be delivered",
    Milestone.RETURNED_TO_SENDER: "was returned to Amazon undelivered",
}

NO_REFUND = "No refund has been issued"


# -- keys --------------------------------------------------------------------------------


def delivery_key(update: DeliveryUpdate) -> str:
    return f"bridge:delivery:{update.package.tracking_number}:{update.milestone.value}"


def return_key(update: ReturnUpdate) -> str:
    return f"bridge:return:{update.authorization_id}:{update.stage.value}"


def cancel_key(order: CartOrder) -> str:
    return f"bridge:cancel:{order.order_id}"


def bracketed(key: str) -> str:
    """A key as a note ends with it, and as a read of the shop's notes looks for it."""
    return f"[{key}]"


def with_key(text: str, key: str) -> str:
    return f"{text} {bracketed(key)}"


def delivery_marker(update: DeliveryUpdate) -> str:
    return bracketed(delivery_key(update))


def return_marker(update: ReturnUpdate) -> str:
    return bracketed(return_key(update))


def cancel_marker(order: CartOrder) -> str:
    return bracketed(cancel_key(order))


# -- sentences ---------------------------------------------------------------------------


def when(moment: datetime) -> str:
    """To the minute, in UTC; a time without a zone is UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def package_named(package: PackageShipment) -> str:
    carrier = f"{package.carrier} " if package.carrier else ""
    return f"Package {package.package_number} ({carrier}tracking {package.tracking_number})"


def named_lines(lines: Sequence[ShippedLine], order: CartOrder | None = None) -> str:
    """"Blue mug (MUG-BLUE) × 2, TEE-M × 1": with the shop's own item names where the
    order is given and knows them."""
    titles = {line.line_id: line.title for line in order.lines} if order else {}
    named = []
    for line in lines:
        title = titles.get(line.line_id, "")
        named.append(f"{title} ({line.sku}) × {line.quantity}" if title
                     else f"{line.sku} × {line.quantity}")
    return ", ".join(named) or "no lines named"


def delivery_sentence(update: DeliveryUpdate) -> str:
    detail = f": {update.detail}" if update.detail else ""
    return (f"{package_named(update.package)} {MILESTONE_WORDS[update.milestone]} on "
            f"{when(update.happened_at)}{detail}.")


def return_opening(authorization_id: str, stage: ReturnStage) -> str:
    """How a return stage's sentence begins: a shop that keeps no key finds it by this."""
    return f"Return {authorization_id} {stage.value}"


def return_sentence(update: ReturnUpdate, order: CartOrder | None = None,
                    refund_in: str = "") -> str:
    """At AUTHORIZED the lines, reason and label; at RECEIVED the units back and their
    condition. `refund_in` names the shop where the merchant refunds, if at all."""
    opening = return_opening(update.authorization_id, update.stage)
    lines = named_lines(update.lines, order)
    if update.stage is ReturnStage.AUTHORIZED:
        reason = f" Reason: {update.reason}." if update.reason else ""
        label = f" Return label: {update.label_url}" if update.label_url else ""
        return f"{opening} by Amazon for {lines}.{reason}{label} {NO_REFUND}."
    condition = f", condition {update.condition}" if update.condition else ""
    advice = f": refund in {refund_in} if it is due" if refund_in else ""
    return f"{opening} by Amazon: {lines}{condition}. No refund or restock has been made{advice}."


def cancelled(reason: str) -> str:
    """The cancel as a customer may read it: nothing about money."""
    return f"Order cancelled: {reason}"


def cancel_sentence(request: CancelRequest, refund_in: str = "") -> str:
    """The whole order's cancel, or the lines', with the reason, for the merchant."""
    advice = f": refund the payment in {refund_in} if it was taken" if refund_in else ""
    if request.lines is None:
        return f"{cancelled(request.reason)} {NO_REFUND}{advice}."
    return f"Lines cancelled ({named_lines(request.lines)}): {request.reason} {NO_REFUND}{advice}."


# -- notes that end with their key -------------------------------------------------------


def delivery_note(update: DeliveryUpdate) -> str:
    return with_key(delivery_sentence(update), delivery_key(update))


def return_note(update: ReturnUpdate, order: CartOrder | None = None, refund_in: str = "") -> str:
    return with_key(return_sentence(update, order, refund_in), return_key(update))


def cancel_note(order: CartOrder, request: CancelRequest, refund_in: str = "") -> str:
    return with_key(cancel_sentence(request, refund_in), cancel_key(order))
