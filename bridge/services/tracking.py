"""Tracking back: write every shipped package's carrier and tracking number to the
cart, once. A package is marked pushed in the same transaction that held its row lock
during the write; if that commit is lost, the adapter's own check of the cart (does it
already have this tracking number?) keeps the replay from adding it twice."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain.model import CartOrder, PackageShipment, ShippedLine
from bridge.domain.states import OrderState as S
from bridge.errors import NeedsAttentionError
from bridge.ledger import packages, repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, Package, session_now
from bridge.services import amazon_outcomes
from bridge.services.common import tell_merchant_each

# Public tracking pages per Amazon carrier code; unknown carriers get no URL.
TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={number}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "FEDEX": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "DHL": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
    "AMZL_US": "https://track.amazon.com/tracking/{number}",
    "AMZL": "https://track.amazon.com/tracking/{number}",
}


@dataclass
class TrackingResult:
    written: int = 0
    already_there: int = 0
    completed: int = 0
    refused: int = 0


def tracking_url(carrier: str, number: str) -> str:
    template = TRACKING_URLS.get(carrier.upper())
    return template.format(number=number) if template and number else ""


def shipment_of(package: Package) -> PackageShipment:
    """A recorded package as the shop is told of it."""
    return PackageShipment(
        package_number=package.package_number,
        carrier=package.carrier,
        tracking_number=package.tracking_number,
        shipped_at=package.shipped_at,
        lines=tuple(ShippedLine(**line) for line in package.lines),
        tracking_url=tracking_url(package.carrier, package.tracking_number),
    )


def push_tracking(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig,
                  limit: int = 50) -> TrackingResult:
    result = TrackingResult()
    notes: list[tuple[CartOrder, str]] = []  # written once the transaction has committed
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront.name):
            return result
        for package, order in packages.claim_unpushed(ledger, session, storefront.name, limit):
            shipment = shipment_of(package)
            cart_order = CartOrder.from_snapshot(order.snapshot)
            try:
                written = cart.push_shipment(cart_order, shipment, storefront.policy.notify_customer)
            except NeedsAttentionError as refused:
                # The cart will not take this one; the others go on, and a person decides.
                _refused(session, order, package, refused)
                notes.append((cart_order, _refused_note(package, refused)))
                result.refused += 1
                continue
            package.pushed_at = session_now(session)
            if written:
                result.written += 1
            else:
                result.already_there += 1
            repo.record_event(
                session, order.storefront, order.id,
                "tracking_written" if written else "tracking_already_in_cart",
                message=f"package {package.package_number}: {package.carrier} {package.tracking_number}",
            )
    tell_merchant_each(cart, notes, ledger=ledger, storefront=storefront.name)
    # What Amazon did not ship, still to tell the shop (the sweep nudges this flow for it).
    amazon_outcomes.write_due(ledger, cart, storefront.name)
    result.completed = complete_shipped(ledger, storefront)
    return result


def _refused(session: Session, order: Order, package: Package, refused: NeedsAttentionError) -> None:
    package.push_error = refused.message
    message = f"the cart refused the tracking of package {package.package_number}: {refused.message}"
    if order.state == S.NEEDS_ATTENTION.value:
        repo.record_event(session, order.storefront, order.id, "tracking_refused", message=message)
    else:
        repo.transition(session, order, S.NEEDS_ATTENTION, "needs_attention", message,
                        reason="tracking_refused")


def _refused_note(package: Package, refused: NeedsAttentionError) -> str:
    """What the merchant reads on the order: which package the shop would not take."""
    tracking = " ".join(part for part in (package.carrier, package.tracking_number) if part)
    return (f"the shop refused the tracking of package {package.package_number} "
            f"({tracking or 'no tracking number'}) that Amazon shipped: {refused.message}; "
            "add it by hand or fix the order, then retry it")


def complete_shipped(ledger: Ledger, storefront: StorefrontConfig) -> int:
    """Shipped orders whose every package is in the cart are complete."""
    with ledger.transaction() as session:
        rows = repo.shipped_with_all_tracking_written(session, storefront.name)
        for row in rows:
            repo.transition(session, row, S.COMPLETE, "complete", "tracking is in the cart")
    return len(rows)
