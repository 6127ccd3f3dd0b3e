"""Read models of orders for the command line and `bridge status`: plain frozen values
copied out of the ledger inside its transaction, so nothing printed is a live row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from bridge.ledger.tables import ArchivedOrder, Event, Order, Package

if TYPE_CHECKING:
    from bridge.services.orders import StorefrontStatus


@dataclass(frozen=True)
class OrderSummary:
    """One line of `bridge orders list`."""

    id: int
    storefront: str
    number: str
    state: str
    amazon_status: str
    seller_fulfillment_order_id: str | None
    attention_reason: str

    @classmethod
    def of(cls, row: Order) -> OrderSummary:
        return cls(row.id, row.storefront, row.number, row.state, row.amazon_status,
                   row.seller_fulfillment_order_id, row.attention_reason)


@dataclass(frozen=True)
class OrderRef:
    """Enough of an order to tell it from another one a reference also matches."""

    id: int
    storefront: str
    number: str
    cart_order_id: str

    @classmethod
    def of(cls, row: Order) -> OrderRef:
        return cls(row.id, row.storefront, row.number, row.cart_order_id)

    def describe(self) -> str:
        return (f"ledger id {self.id} ({self.storefront}, order {self.number}, "
                f"shop id {self.cart_order_id})")


@dataclass(frozen=True)
class EventLine:
    created_at: datetime
    kind: str
    from_state: str
    to_state: str
    message: str

    @classmethod
    def of(cls, event: Event) -> EventLine:
        return cls(event.created_at, event.kind, event.from_state, event.to_state, event.message)

    @classmethod
    def of_record(cls, event: dict[str, Any]) -> EventLine:
        return cls(datetime.fromisoformat(event["created_at"]), event["kind"], event["from_state"],
                   event["to_state"], event["message"])


@dataclass(frozen=True)
class PackageLine:
    package_number: int
    carrier: str
    tracking_number: str
    pushed_at: datetime | None  # None: its tracking is not in the cart yet
    # Where Amazon's carrier says it is: a final milestone, else its last tracking status.
    delivery: str = ""

    @classmethod
    def of(cls, package: Package, delivery: str = "") -> PackageLine:
        return cls(package.package_number, package.carrier, package.tracking_number,
                   package.pushed_at, delivery)

    @classmethod
    def of_record(cls, package: dict[str, Any]) -> PackageLine:
        pushed = package.get("pushed_at")
        return cls(package["package_number"], package["carrier"], package["tracking_number"],
                   datetime.fromisoformat(pushed) if pushed else None)


@dataclass(frozen=True)
class OrderDetail:
    """`bridge orders show`: the order, its packages and its whole event log."""

    id: int
    storefront: str
    cart_order_id: str
    number: str
    state: str
    amazon_status: str
    seller_fulfillment_order_id: str | None
    attempts: int
    attention_reason: str
    last_error: str
    packages: tuple[PackageLine, ...]
    events: tuple[EventLine, ...]
    # Set when the order is no longer in the live tables (`bridge orders archive`).
    archived_at: datetime | None = None
    # The marketplace whose network ships it ("": the storefront's home marketplace).
    marketplace_id: str = ""

    @classmethod
    def of(cls, row: Order, packages: list[Package], events: list[Event],
           deliveries: dict[int, str] | None = None) -> OrderDetail:
        """`deliveries`: package number → where it is (see PackageLine.delivery)."""
        where = deliveries or {}
        return cls(row.id, row.storefront, row.cart_order_id, row.number, row.state,
                   row.amazon_status, row.seller_fulfillment_order_id, row.attempts,
                   row.attention_reason, row.last_error,
                   tuple(PackageLine.of(p, where.get(p.package_number, "")) for p in packages),
                   tuple(EventLine.of(e) for e in events), marketplace_id=row.marketplace_id)

    @classmethod
    def of_archived(cls, archived: ArchivedOrder) -> OrderDetail:
        """From the archive's record: the ledger id is the one it had when live."""
        order = archived.record["order"]
        return cls(order["id"], archived.storefront, archived.cart_order_id, archived.number,
                   archived.state, order.get("amazon_status", ""), archived.seller_fulfillment_order_id,
                   order.get("attempts", 0), order.get("attention_reason", ""), order.get("last_error", ""),
                   tuple(PackageLine.of_record(p) for p in archived.record.get("packages", [])),
                   tuple(EventLine.of_record(e) for e in archived.record.get("events", [])),
                   archived_at=archived.archived_at,
                   marketplace_id=order.get("marketplace_id", ""))


# The status lists stay mappings (callers read them by key), typed per kind.

class AttentionItem(TypedDict):
    """An order waiting for a person: needs attention, or on hold (reason: the hold's)."""

    id: int
    number: str
    reason: str
    message: str
    since: datetime


class StalledItem(TypedDict):
    id: int
    number: str
    state: str
    attempts: int
    reason: str
    failing_since: datetime | None
    since: datetime | None


class FlagItem(TypedDict):
    kind: str
    order: str  # "" for a flag about the storefront
    message: str
    since: datetime


class InboundArrival(NamedTuple):
    """An open inbound shipment and how many of its units Amazon has received."""

    plan: str
    shipment: str
    status: str
    expected: int
    received: int


# `bridge status --json`: one document, its keys fixed (docs/cli.md lists them); times are
# ISO 8601 in UTC, absent ones null.

def status_document(reports: Sequence[StorefrontStatus]) -> dict[str, Any]:
    return {"storefronts": [_storefront_document(report) for report in reports]}


def _storefront_document(report: StorefrontStatus) -> dict[str, Any]:
    return {
        "name": report.name,
        "mode": report.mode,
        "would_send": report.would_send,
        "paused": report.paused,
        "open_orders": dict(sorted(report.counts.items())),
        "needs_attention": {
            "total": sum(report.attention_reasons.values()),
            "by_reason": dict(sorted(report.attention_reasons.items())),
            "oldest": [_waiting(item) for item in report.oldest_attention],
        },
        "on_hold": {
            "total": sum(report.holds.values()),
            "by_reason": dict(sorted(report.holds.items())),
            "oldest": [_waiting(item) for item in report.oldest_held],
        },
        "last_order_poll": _iso(report.last_order_poll),
        "lag_seconds": report.lag_seconds,
        "tracking_to_write": report.unpushed_packages,
        "stock": {"last_synced": _iso(report.stock_checked_at), "drifted_skus": report.drifted_skus},
        "open_returns": report.open_returns,
        "deliveries_given_up": report.deliveries_given_up,
        "degraded": [{"flow": flow.flow, "failures": flow.failures, "since": _iso(flow.since),
                      "error": flow.error} for flow in report.degraded],
        "stalled": [{**item, "failing_since": _iso(item["failing_since"]), "since": _iso(item["since"])}
                    for item in report.stalled],
        "watchdog": [{**flag, "since": _iso(flag["since"])} for flag in report.flags],
        "inbound": [arrival._asdict() for arrival in report.inbound],
        "marketplaces": [asdict(line) for line in report.marketplaces],
        "unrouted_countries": report.unrouted_countries,
        "shop_stock": report.shop_stock,
    }


def _waiting(item: AttentionItem) -> dict[str, Any]:
    return {**item, "since": _iso(item["since"])}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
