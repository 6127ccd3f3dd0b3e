"""The order state machine. The ledger row's `state` is one of these; every change goes
through `check_transition`, so an impossible move fails loudly instead of corrupting a row.

    received ──► ready ──► submitting ──► accepted ──► processing ──► shipped ──► complete
        │          │            │  ▲          │             │                      │
        │          │            ▼  │          ▼             ▼                      │
        │          │      submit_unknown   cancel_requested ──► cancelled          │
        ▼          ▼                                                               │
    needs_attention (from anywhere not terminal; `retry` leads back)  ◄────────────┘

    received ◄──► ignored ──► cancelled

    received ──► on_hold ──► ready (approved), received (cart edit, rules again),
                    │        cancelled, needs_attention
    ready ─────────►┘  (held by hand: `bridge orders hold`)

`ignored`: a paid order with nothing for Amazon to ship (no lines, or none that needs
shipping). It is recorded so that nothing read is dropped unseen, and it waits for
nothing; a cart change that makes it shippable (a line added) maps it again from
`received`.

`on_hold`: a rule, the storefront's approval setting, an authorized-only payment or a
person holds the order before it is sent; it waits for `bridge orders approve` (or for
its payment, or for the cart to change it). Its units stay reserved in the shop's stock.
A cart edit maps it again from `received` (an exclusion that now matches makes it
`ignored` from there).

`accepted ⇄ update_requested`: the cart edited (address, shipping speed, items) an order
Amazon has; the edit is sent with updateFulfillmentOrder while Amazon still takes it
(bridge.services.update), else the order needs a person (`edit_too_late`).

`complete → needs_attention`: the only way out of `complete`. The cart cancelled an order
Amazon has already shipped; nothing can be recalled, but a person must decide on a
refund or a return, so the order is held for them instead of staying quietly complete.
"""

from __future__ import annotations

from enum import StrEnum


class OrderState(StrEnum):
    RECEIVED = "received"          # recorded from the cart, not yet mapped
    READY = "ready"                # mapped and valid; request and id saved
    SUBMITTING = "submitting"      # recovery point: the create call may be in flight
    SUBMIT_UNKNOWN = "submit_unknown"  # outcome unknown: only a read-back resolves it
    ACCEPTED = "accepted"          # Amazon has the order (Received / Planning)
    PROCESSING = "processing"      # Amazon is picking; too late to cancel
    SHIPPED = "shipped"            # Amazon finished; tracking still to write back
    COMPLETE = "complete"          # shipped and every package's tracking is in the cart
    CANCEL_REQUESTED = "cancel_requested"  # the cart cancelled an order Amazon has
    UPDATE_REQUESTED = "update_requested"  # the cart edited an order Amazon has
    CANCELLED = "cancelled"
    NEEDS_ATTENTION = "needs_attention"
    IGNORED = "ignored"            # paid, but nothing for Amazon to ship (or excluded by a rule)
    ON_HOLD = "on_hold"            # waiting for a person's approval (a rule, or by hand)


S = OrderState

# No work left for bridge. A terminal state is left only by `REOPENED_BY_THE_CART`.
TERMINAL = frozenset({S.COMPLETE, S.CANCELLED, S.IGNORED})

# The cart changed a finished order after the fact: shipped-then-cancelled needs a
# person, and an ignored order that gained something to ship is mapped again.
REOPENED_BY_THE_CART: dict[OrderState, frozenset[OrderState]] = {
    S.COMPLETE: frozenset({S.NEEDS_ATTENTION}),
    S.IGNORED: frozenset({S.RECEIVED, S.CANCELLED}),
}

# Orders bridge has not handed to Amazon yet: their units are reserved by bridge itself.
NOT_YET_SUBMITTED = frozenset({S.RECEIVED, S.READY, S.SUBMITTING, S.SUBMIT_UNKNOWN})

# Orders Amazon holds that have not shipped.
AT_AMAZON_OPEN = frozenset({S.ACCEPTED, S.PROCESSING, S.CANCEL_REQUESTED, S.UPDATE_REQUESTED})

_ALLOWED: dict[OrderState, frozenset[OrderState]] = {
    S.RECEIVED: frozenset(
        {S.READY, S.CANCELLED, S.NEEDS_ATTENTION, S.RECEIVED, S.IGNORED, S.ON_HOLD}),
    S.READY: frozenset({S.SUBMITTING, S.RECEIVED, S.CANCELLED, S.NEEDS_ATTENTION, S.ON_HOLD}),
    S.ON_HOLD: frozenset(
        {S.READY, S.RECEIVED, S.CANCELLED, S.NEEDS_ATTENTION, S.ON_HOLD}),
    # submitting → cancelled: a read-back found nothing at Amazon for an order the cart
    # cancelled meanwhile, so it is never created.
    S.SUBMITTING: frozenset(
        {S.ACCEPTED, S.SUBMIT_UNKNOWN, S.READY, S.NEEDS_ATTENTION, S.CANCELLED}
    ),
    S.SUBMIT_UNKNOWN: frozenset({S.ACCEPTED, S.READY, S.SUBMITTING, S.NEEDS_ATTENTION}),
    S.ACCEPTED: frozenset(
        {S.PROCESSING, S.SHIPPED, S.CANCEL_REQUESTED, S.CANCELLED, S.NEEDS_ATTENTION,
         S.UPDATE_REQUESTED}
    ),
    # update_requested → accepted once Amazon has the edit (or had it already); the
    # others when Amazon moved on or the cart cancelled meanwhile.
    S.UPDATE_REQUESTED: frozenset(
        {S.ACCEPTED, S.PROCESSING, S.SHIPPED, S.CANCEL_REQUESTED, S.CANCELLED,
         S.NEEDS_ATTENTION}
    ),
    S.PROCESSING: frozenset({S.SHIPPED, S.CANCEL_REQUESTED, S.CANCELLED, S.NEEDS_ATTENTION}),
    S.SHIPPED: frozenset({S.COMPLETE, S.NEEDS_ATTENTION}),
    S.CANCEL_REQUESTED: frozenset(
        {S.CANCELLED, S.NEEDS_ATTENTION, S.PROCESSING, S.SHIPPED}
    ),
    S.NEEDS_ATTENTION: frozenset(
        {S.RECEIVED, S.SUBMIT_UNKNOWN, S.ACCEPTED, S.PROCESSING, S.SHIPPED, S.CANCELLED,
         S.CANCEL_REQUESTED, S.COMPLETE}
    ),
    **REOPENED_BY_THE_CART,
    S.CANCELLED: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(current, target)
        self.current, self.target = current, target

    def __str__(self) -> str:
        return f"an order cannot move from {self.current} to {self.target}"


def check_transition(current: str, target: str) -> None:
    if OrderState(target) not in _ALLOWED[OrderState(current)]:
        raise IllegalTransition(current, target)
