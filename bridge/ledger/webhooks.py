"""The webhook deliveries already acted on: claimed once per (storefront, delivery id),
forgotten after a day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session

from bridge.ledger.tables import WebhookDelivery
from bridge.ledger.upsert import insert_for

# Platforms retry a delivery for hours (Shopify about 4 h, BigCommerce up to 48 h but a
# retry that late is refused as stale by its timestamp where it has one); a day of ids
# covers every retry that could still be trusted.
KEEP_DELIVERIES = timedelta(days=1)


def claim_delivery(session: Session, storefront: str, delivery_id: str, topic: str,
                   now: datetime) -> bool:
    """Record the delivery; True when this call recorded it first (two receivers racing
    on one delivery claim it once: the primary key decides)."""
    claimed = session.execute(
        insert_for(session, WebhookDelivery)
        .values(storefront=storefront, delivery_id=delivery_id[:128], topic=topic[:64],
                received_at=now)
        .on_conflict_do_nothing()
        .returning(WebhookDelivery.delivery_id)  # no row when seen before (rowcount is not reliable)
    )
    return claimed.scalar() is not None


def prune_deliveries(session: Session, now: datetime) -> int:
    """Forget deliveries older than KEEP_DELIVERIES; the number forgotten."""
    result = session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.received_at < now - KEEP_DELIVERIES))
    return cast(CursorResult, result).rowcount or 0


def release_delivery(session: Session, storefront: str, delivery_ids: list[str]) -> None:
    """Forget deliveries claimed but not acted on, so the platform's retry is acted on."""
    session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.storefront == storefront,
        WebhookDelivery.delivery_id.in_([key[:128] for key in delivery_ids])))
