"""The watchdog: after each sweep, says what is stuck. Each finding is a flag in the
ledger (one open flag per storefront, order and kind), a warning in the log when it is
raised, a note in the shop when it concerns an order (once), and it clears by itself
when a later run no longer finds the condition. `bridge status` lists the open ones.

Kinds:
- `ship_overdue`: Amazon accepted the order and has not shipped it by the deadline.
  Amazon's getFulfillmentOrder carries no ship-by promise (an item's estimatedShipDate
  is an estimate Amazon revises as the order moves), so the deadline is conservative:
  acceptance plus an allowance per shipping speed, known without any call.
- `tracking_overdue`: Amazon shipped, and the tracking is not in the shop after
  `tracking_overdue_minutes`.
- `poll_overdue`: the storefront's last successful order poll is older than three of its
  poll intervals, with the last error when known (the pause reason, the poll's last
  failure).
- `hold_expiring`: an order created on Hold is still held; Amazon cancels held orders
  after 14 days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter
from bridge.config import BridgeSettings, StorefrontConfig
from bridge.domain.model import CartOrder
from bridge.errors import BridgeError
from bridge.ledger import health as health_rows
from bridge.ledger import packages as package_rows
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Flag, Order
from bridge.logging import get_logger
from bridge.services import amazon_outcomes
from bridge.services.common import tell_merchant
from bridge.services.ingest import FLOW as ORDERS_FLOW

log = get_logger("bridge.watchdog")

SHIP_OVERDUE = "ship_overdue"
TRACKING_OVERDUE = "tracking_overdue"
POLL_OVERDUE = "poll_overdue"
HOLD_EXPIRING = "hold_expiring"
# What Amazon did not ship, that the shop keeps refusing to take (amazon_outcomes.py).
SHOP_CANCEL_FAILING = "shop_cancel_failing"

# How long Amazon may take to ship after accepting, per shippingSpeedCategory; other
# speeds get Standard's.
SHIP_ALLOWANCE = {
    "Standard": timedelta(days=5),
    "Expedited": timedelta(days=2),
    "Priority": timedelta(days=1),
}
DEFAULT_SHIP_ALLOWANCE = SHIP_ALLOWANCE["Standard"]
# Amazon cancels an order left on Hold this long after it was created.
HOLD_LIMIT = timedelta(days=14)
# Amazon statuses of an order that is still held (a release moves it to Planning).
HELD_STATUSES = ("", "New", "Received")
# Remembers when the watchdog first looked at a storefront that has never polled, so
# a first poll that never succeeds is flagged too.
WATCH_FLOW = "watchdog"
# The order poll's runs, as the tasks record them in flow_health (its last error).
INGEST_TASK_FLOW = "ingest"


@dataclass(frozen=True)
class Thresholds:
    tracking_overdue: timedelta = timedelta(minutes=30)
    poll_intervals: int = 3
    hold_warning: timedelta = timedelta(days=12)

    @classmethod
    def from_settings(cls, settings: BridgeSettings) -> Thresholds:
        return cls(tracking_overdue=timedelta(minutes=settings.tracking_overdue_minutes))


@dataclass(frozen=True)
class Finding:
    kind: str
    order_id: int | None
    message: str
    number: str = ""


@dataclass
class WatchResult:
    raised: list[Finding] = field(default_factory=list)
    cleared: list[Flag] = field(default_factory=list)
    noted: int = 0


def watch(
    ledger: Ledger,
    storefronts: Iterable[StorefrontConfig],
    cart_for: Callable[[str], CartAdapter] | None = None,
    thresholds: Thresholds = Thresholds(),
    now: datetime | None = None,
) -> WatchResult:
    """One watchdog run over every storefront (paused ones too: a paused storefront is
    stuck, and Amazon keeps shipping its orders). `cart_for` gives the adapter for shop
    notes; without it, notes wait for a run that has one."""
    now = now or ledger.clock()
    result = WatchResult()
    for storefront in storefronts:
        watch_storefront(ledger, storefront, cart_for, thresholds, now, result)
    return result


def watch_storefront(ledger: Ledger, storefront: StorefrontConfig,
                     cart_for: Callable[[str], CartAdapter] | None, thresholds: Thresholds,
                     now: datetime, result: WatchResult) -> None:
    name = storefront.name
    with ledger.transaction() as session:
        findings = find_stuck(session, storefront, thresholds, now)
        raised, cleared = settle_flags(session, name, findings, now)
        paused = repo.is_paused(session, name)
        to_note = unnoted(session, name)
    for finding in raised:
        log.warning("flag_raised", storefront=name, kind=finding.kind,
                    order=finding.number or None, message=finding.message)
    for flag in cleared:
        log.info("flag_cleared", storefront=name, kind=flag.kind, order_id=flag.order_id)
    result.raised += raised
    result.cleared += cleared
    if to_note and cart_for is not None and not paused:
        result.noted += note_in_shop(ledger, name, cart_for, to_note, now)


def find_stuck(session: Session, storefront: StorefrontConfig, thresholds: Thresholds,
               now: datetime) -> list[Finding]:
    return [
        *ship_overdue(session, storefront.name, now),
        *tracking_overdue(session, storefront.name, thresholds, now),
        *poll_overdue(session, storefront, thresholds, now),
        *hold_expiring(session, storefront.name, thresholds, now),
        *(Finding(SHOP_CANCEL_FAILING, order_id, message, number) for order_id, number, message
          in amazon_outcomes.failing_writes(session, storefront.name)),
    ]


def settle_flags(session: Session, storefront: str, findings: list[Finding],
                 now: datetime) -> tuple[list[Finding], list[Flag]]:
    """Open a flag for each new finding, clear each open flag nothing found any more."""
    wanted = {(f.kind, f.order_id): f for f in findings}
    open_flags = {(f.kind, f.order_id): f for f in repo.open_flags(session, storefront)}
    raised = [f for key, f in wanted.items() if key not in open_flags
              and repo.raise_flag(session, storefront, f.order_id, f.kind, f.message, now)]
    cleared = [flag for key, flag in open_flags.items() if key not in wanted]
    for flag in cleared:
        repo.clear_flag(session, flag, now)
    for key, flag in open_flags.items():
        if key in wanted:
            flag.message = wanted[key].message  # e.g. a pause that came since
    return raised, cleared


# ---------------------------------------------------------------- the conditions

def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def created_on_hold(row: Order) -> bool:
    # Amazon takes Hold only at creation, so the saved request says whether it was asked.
    return bool((row.request or {}).get("hold"))


def ship_deadline(row: Order, accepted_at: datetime) -> datetime:
    speed = (row.request or {}).get("shipping_speed", "")
    start = accepted_at
    if created_on_hold(row):
        start += HOLD_LIMIT  # it may have been released as late as the hold's last day
    return start + SHIP_ALLOWANCE.get(speed, DEFAULT_SHIP_ALLOWANCE)


def ship_overdue(session: Session, storefront: str, now: datetime) -> list[Finding]:
    shortest = min(SHIP_ALLOWANCE.values())
    findings = []
    for row in repo.accepted_before(session, storefront, now - shortest):
        if row.accepted_at is None:  # accepted_before returns accepted orders only
            continue
        deadline = ship_deadline(row, row.accepted_at)
        if now > deadline:
            speed = (row.request or {}).get("shipping_speed", "Standard")
            findings.append(Finding(
                SHIP_OVERDUE, row.id,
                f"Amazon accepted the order on {_when(row.accepted_at)} ({speed}) and has not "
                f"shipped it by {_when(deadline)} (Amazon status: {row.amazon_status or '-'})",
                row.number))
    return findings


def tracking_overdue(session: Session, storefront: str, thresholds: Thresholds,
                     now: datetime) -> list[Finding]:
    rows = package_rows.late_tracking(session, storefront, now - thresholds.tracking_overdue)
    minutes = int(thresholds.tracking_overdue.total_seconds() // 60)
    findings = []
    for order_id, number, packages, error in rows:
        message = (f"Amazon shipped {packages} package(s) whose tracking is not in the shop "
                   f"after {minutes} minutes")
        if error:
            message += f"; the shop refused it: {error}"
        findings.append(Finding(TRACKING_OVERDUE, order_id, message, number))
    return findings


def poll_late(last_success: datetime, now: datetime, interval_seconds: float,
              intervals: int = Thresholds.poll_intervals) -> bool:
    """A storefront's order poll is late once more than `intervals` of its intervals have
    passed since the last one that succeeded (also what `/readyz` judges)."""
    return now - last_success > timedelta(seconds=intervals * interval_seconds)


def poll_overdue(session: Session, storefront: StorefrontConfig, thresholds: Thresholds,
                 now: datetime) -> list[Finding]:
    name = storefront.name
    cursor = repo.get_cursor(session, name, ORDERS_FLOW)
    since = cursor.last_run_at if cursor else watching_since(session, name, now)
    interval = storefront.poll.orders_seconds
    if not poll_late(since, now, interval, thresholds.poll_intervals):
        return []
    message = (f"no successful order poll since {_when(since)} "
               f"(one is due every {interval:g} s)" if cursor else
               f"no successful order poll yet (watched since {_when(since)}, "
               f"one is due every {interval:g} s)")
    reason = repo.is_paused(session, name)
    if reason:
        message += f"; the storefront is paused: {reason}"
    health = health_rows.flow_health(session, name, INGEST_TASK_FLOW)
    if health is not None and health.failures:
        message += (f"; the last {health.failures} poll(s) failed, the latest with: "
                    f"{health.last_error}")
    return [Finding(POLL_OVERDUE, None, message)]


def watching_since(session: Session, storefront: str, now: datetime) -> datetime:
    cursor = repo.get_cursor(session, storefront, WATCH_FLOW)
    if cursor is None:
        repo.set_cursor(session, storefront, WATCH_FLOW, now)
        return now
    return cursor.position


def hold_expiring(session: Session, storefront: str, thresholds: Thresholds,
                  now: datetime) -> list[Finding]:
    rows = repo.possibly_held_since(session, storefront, now - thresholds.hold_warning,
                                    HELD_STATUSES)
    return [
        Finding(HOLD_EXPIRING, row.id,
                f"the order is on hold at Amazon since {_when(row.accepted_at)}; Amazon "
                f"cancels held orders after {HOLD_LIMIT.days} days (about "
                f"{_when(row.accepted_at + HOLD_LIMIT)}) unless they are released",
                row.number)
        for row in rows if row.accepted_at is not None and created_on_hold(row)
    ]


# ---------------------------------------------------------------- shop notes

def unnoted(session: Session, storefront: str) -> list[tuple[int, dict[str, Any], str]]:
    """Open flags about an order the shop has not been told of: (flag, snapshot, text)."""
    return repo.unnoted_flags(session, storefront)


def note_in_shop(ledger: Ledger, storefront: str, cart_for: Callable[[str], CartAdapter],
                 pending: list[tuple[int, dict[str, Any], str]], now: datetime) -> int:
    """Best effort, like every note: a flag counts as told once the note was tried,
    except when the shop refuses bridge's credentials (the next run tries again)."""
    noted = 0
    try:
        cart = cart_for(storefront)
        for flag_id, snapshot, text in pending:
            tell_merchant(cart, CartOrder.from_snapshot(snapshot), text,
                          ledger=ledger, storefront=storefront)
            with ledger.transaction() as session:
                repo.mark_flag_noted(session, flag_id, now)
            noted += 1
    except BridgeError as exc:
        log.warning("flag_note_not_written", storefront=storefront, error=str(exc))
    return noted
