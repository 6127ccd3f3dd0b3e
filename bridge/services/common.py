"""Small pieces several services share."""

from __future__ import annotations

from collections.abc import Iterable

from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain.mapping import MappingPolicy
from bridge.domain.model import CartOrder
from bridge.errors import BridgeError, FatalError
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.logging import get_logger

log = get_logger("bridge.services")

# A task's time limit arrives as an exception in its thread: it ends the task, it is
# not a failed note.
_NOT_A_NOTE_FAILURE = (SoftTimeLimitExceeded, TimeLimitExceeded)


def mapping_policy(storefront: StorefrontConfig) -> MappingPolicy:
    policy = storefront.policy
    routing = storefront.fulfillment.routing_table
    return MappingPolicy(
        sku_map=policy.skus,
        speed_for=policy.speed_for,
        fulfillment_policy=policy.fulfillment_policy,
        comment_template=policy.comment_template,
        require_latin_address=policy.require_latin_address,
        routing=routing if routing.routed else None,
        marketplace_sku_maps={routing.key(m): policy.skus_for(m) for m in routing.marketplaces},
    )


def tell_merchant(cart: CartAdapter, order: CartOrder, text: str, *,
                  ledger: Ledger | None = None, storefront: str = "") -> bool:
    """Best effort: a note that cannot be written is logged, never fatal to the flow
    that found the problem (the ledger already records it). Each note stands alone:
    whatever goes wrong with one (a refusal, a malformed answer, an adapter's bug) is
    logged and, given the ledger, recorded on the order as `note_failed`, and the next
    note is still tried. Refused credentials are raised after that (the storefront
    pauses), and so are a task's time limits. True when the note was written."""
    if not cart.capabilities.notes:
        return False
    try:
        cart.add_note(order, f"bridge: {text}")
        return True
    except _NOT_A_NOTE_FAILURE:
        raise
    except FatalError as exc:
        note_failed(ledger, storefront, order, text, exc)
        raise
    except Exception as exc:  # one note's failure must not cost the notes after it
        note_failed(ledger, storefront, order, text, exc)
        return False


def tell_merchant_each(cart: CartAdapter, notes: Iterable[tuple[CartOrder, str]], *,
                       ledger: Ledger | None = None, storefront: str = "") -> None:
    """Every note, each on its own. Once the shop refuses bridge's credentials the rest
    cannot be written either: they are recorded as failed, then the refusal is raised."""
    pending = list(notes)
    for index, (order, text) in enumerate(pending):
        try:
            tell_merchant(cart, order, text, ledger=ledger, storefront=storefront)
        except FatalError as exc:
            for later, later_text in pending[index + 1:]:
                note_failed(ledger, storefront, later, later_text, exc)
            raise


def note_failed(ledger: Ledger | None, storefront: str, order: CartOrder, text: str,
                exc: BaseException) -> None:
    """Logged, and recorded on the order in a short transaction of its own (the flow's
    own transaction has committed by the time notes are written)."""
    log.warning("note_not_written", order=order.order_id, error=str(exc) or type(exc).__name__,
                error_type=type(exc).__name__, note=text)
    if ledger is None or not storefront:
        return
    # bridge's own errors never carry a secret; of anything else only its kind is kept.
    error = str(exc) if isinstance(exc, BridgeError) else f"unexpected {type(exc).__name__}"
    message = f"the note was not written to the shop ({error}): {text}"
    try:
        with ledger.transaction() as session:
            row = repo.find_order(session, storefront, order.order_id)
            repo.record_event(session, storefront, row.id if row else None, "note_failed",
                              message=message)
    except Exception as ledger_error:  # the log line above stands; the next note goes on
        log.warning("note_failure_not_recorded", order=order.order_id, error=str(ledger_error))
