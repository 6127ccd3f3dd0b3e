"""Stock: Amazon's counts as last read, the shop's quantities, every correction, and
the units orders hold back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.domain.states import AT_AMAZON_OPEN, NOT_YET_SUBMITTED, OrderState
from bridge.ledger.tables import Order, OrderLine, ShopStock, StockCorrection, StockLevel


def stock_levels(session: Session, storefront: str, marketplace: str = "") -> dict[str, StockLevel]:
    """Seller SKU → Amazon's units in one marketplace ("": the home marketplace)."""
    rows = session.scalars(select(StockLevel).where(StockLevel.storefront == storefront,
                                                    StockLevel.marketplace_id == marketplace))
    return {row.seller_sku: row for row in rows}


def known_seller_skus(session: Session, storefront: str) -> dict[str, set[str]]:
    """Marketplace ("": home) → the seller SKUs Amazon has inventory records for there;
    a marketplace never read is absent."""
    found: dict[str, set[str]] = {}
    rows = session.execute(select(StockLevel.marketplace_id, StockLevel.seller_sku)
                           .where(StockLevel.storefront == storefront))
    for marketplace, sku in rows:
        found.setdefault(marketplace, set()).add(sku)
    return found


def shop_stock(session: Session, storefront: str,
               cart_skus: Iterable[str] | None = None) -> dict[str, ShopStock]:
    query = select(ShopStock).where(ShopStock.storefront == storefront)
    if cart_skus is not None:
        query = query.where(ShopStock.cart_sku.in_(set(cart_skus)))
    return {row.cart_sku: row for row in session.scalars(query)}


def record_stock_correction(session: Session, storefront: str, cart_sku: str,
                            before: int | None, after: int, source: str, detail: str) -> None:
    session.add(StockCorrection(storefront=storefront, cart_sku=cart_sku, before=before,
                                after=after, source=source, detail=detail))


def stock_corrections(session: Session, storefront: str, cart_sku: str | None = None,
                      limit: int = 100) -> list[StockCorrection]:
    query = select(StockCorrection).where(StockCorrection.storefront == storefront)
    if cart_sku is not None:
        query = query.where(StockCorrection.cart_sku == cart_sku)
    return list(session.scalars(query.order_by(StockCorrection.id.desc()).limit(limit)))


def drifted_sku_count(session: Session, storefront: str) -> int:
    """Shop SKUs whose quantity, when last checked, was not what bridge wants there
    (a correction that did not land, or one not made yet)."""
    return session.scalar(
        select(func.count()).select_from(ShopStock).where(
            ShopStock.storefront == storefront,
            ShopStock.shop_quantity.is_not(None),
            ShopStock.shop_quantity != ShopStock.target,
        )
    ) or 0


def units_not_yet_at_amazon(session: Session, storefront: str,
                            marketplace: str = "") -> dict[str, int]:
    """Seller SKU → units of orders bridge knows but Amazon does not hold yet (waiting,
    in flight, on hold, or held before Amazon ever accepted them): the shop already took those
    units and Amazon's fulfillable count still includes them, so they are not for sale."""
    held_before_amazon = (
        ((Order.state == OrderState.NEEDS_ATTENTION.value) & Order.accepted_at.is_(None))
        | (Order.state == OrderState.ON_HOLD.value))
    rows = session.execute(
        select(OrderLine.seller_sku, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.storefront == storefront,
            Order.marketplace_id == marketplace,
            Order.state.in_([s.value for s in NOT_YET_SUBMITTED]) | held_before_amazon,
        )
        .group_by(OrderLine.seller_sku)
    )
    return {sku: int(units or 0) for sku, units in rows}


def units_accepted_after_read(session: Session, storefront: str,
                              marketplace: str = "") -> dict[str, int]:
    """Seller SKU → units of orders Amazon accepted after bridge last read that SKU's
    stock: Amazon has reserved them, but the fulfillable count bridge holds predates it."""
    rows = session.execute(
        select(OrderLine.seller_sku, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .join(StockLevel, (StockLevel.storefront == Order.storefront)
              & (StockLevel.marketplace_id == Order.marketplace_id)
              & (StockLevel.seller_sku == OrderLine.seller_sku))
        .where(
            Order.storefront == storefront,
            Order.marketplace_id == marketplace,
            Order.accepted_at.is_not(None),
            Order.accepted_at > StockLevel.read_at,
            Order.state.in_([state.value for state in AT_AMAZON_OPEN]),
        )
        .group_by(OrderLine.seller_sku)
    )
    return {sku: int(units or 0) for sku, units in rows}


def units_ordered_since(session: Session, storefront: str, since: datetime) -> dict[str, int]:
    """Seller SKU → units of orders recorded since `since`, cancelled ones left out."""
    rows = session.execute(
        select(OrderLine.seller_sku, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.storefront == storefront, Order.created_at >= since,
               Order.state != OrderState.CANCELLED.value)
        .group_by(OrderLine.seller_sku))
    return {sku: int(units or 0) for sku, units in rows}


def add_stock_level(session: Session, storefront: str, seller_sku: str,
                    marketplace: str = "") -> StockLevel:
    """A row for a seller SKU Amazon reports for the first time (in that marketplace)."""
    row = StockLevel(storefront=storefront, marketplace_id=marketplace, seller_sku=seller_sku)
    session.add(row)
    return row


def add_shop_stock(session: Session, storefront: str, cart_sku: str, target: int) -> ShopStock:
    """A row for a shop SKU bridge checks for the first time."""
    row = ShopStock(storefront=storefront, cart_sku=cart_sku, target=target)
    session.add(row)
    return row
