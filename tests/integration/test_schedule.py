"""The schedule in the ledger: rows follow the storefront files, each row is claimed at
its interval with a spread, a due time is claimed once however many claimers race, a
paused storefront is left alone, and the tick reads nothing between due times."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from support import both_ledgers
from test_ledger_scale import large_ledger  # noqa: F401  (a fixture)

from bridge.config import load_config
from bridge.domain.model import CartLine, CartOrder
from bridge.domain.states import OrderState as S
from bridge.ledger import repo
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.schedule import SPREAD, schedule_rows
from bridge.services import schedule

STOREFRONT = """
name = "{name}"
order_id_prefix = "{prefix}"
enabled = {enabled}
[cart]
platform = "sql"
url = "sqlite:///store.db"
[fulfillment]
client_id = "id"
client_secret = "env:X"
refresh_token = "env:Y"
[poll]
orders_seconds = {orders}
status_seconds = 11
stock_seconds = 13
returns_seconds = 19
delivery_seconds = 23
[inbound]
follow_seconds = 17
"""

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
# Every flow on a timer, per storefront.
FLOWS = ("ingest", "status", "stock", "inbound", "returns", "delivery")


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def write_config(root: Path, storefronts: dict[str, float], disabled: tuple[str, ...] = ()):
    folder = root / "storefronts"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.toml"):
        old.unlink()
    for index, (name, orders) in enumerate(storefronts.items()):
        (folder / f"{name}.toml").write_text(STOREFRONT.format(
            name=name, prefix=f"P{index}", orders=orders,
            enabled="false" if name in disabled else "true"))
    return load_config(root)


@both_ledgers
def test_sync_adds_updates_and_removes_rows(ledger, tmp_path):
    clock = Clock()
    config = write_config(tmp_path, {"north": 7, "south": 7, "off": 7}, disabled=("off",))
    assert schedule.sync_schedule(ledger, config, now=clock()) == {"added": 12, "updated": 0,
                                                                   "removed": 0}
    with ledger.transaction() as session:
        rows = schedule_rows(session)
    assert set(rows) == {(sf, flow) for sf in ("north", "south")
                         for flow in FLOWS}
    assert rows[("north", "ingest")][0] == 7 and rows[("north", "inbound")][0] == 17
    for interval, due in rows.values():
        assert T0 <= due < T0 + timedelta(seconds=interval)
    # Same files again: nothing to do.
    assert schedule.sync_schedule(ledger, config, now=clock()) == {"added": 0, "updated": 0,
                                                                   "removed": 0}
    # south's orders interval changes, north goes.
    clock.at = T0 + timedelta(seconds=1)
    config = write_config(tmp_path, {"south": 3})
    assert schedule.sync_schedule(ledger, config, now=clock()) == {"added": 0, "updated": 1,
                                                                   "removed": 6}
    with ledger.transaction() as session:
        after = schedule_rows(session)
    assert set(after) == {("south", flow) for flow in FLOWS}
    interval, due = after[("south", "ingest")]
    assert interval == 3
    assert due <= clock.at + timedelta(seconds=3) and due <= rows[("south", "ingest")][1]
    assert after[("south", "status")] == rows[("south", "status")]


@both_ledgers
def test_each_row_is_claimed_at_its_interval(ledger, tmp_path):
    clock = Clock()
    config = write_config(tmp_path, {"north": 7, "south": 5})
    schedule.sync_schedule(ledger, config, now=clock())
    claims: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    due_times: Counter = Counter()
    step = timedelta(seconds=0.5)
    end = T0 + timedelta(seconds=120)
    while clock.at < end:
        for due in schedule.claim_due(ledger, clock.at, limit=100):
            assert due.due_at <= clock.at
            claims[(due.storefront, due.flow)].append(clock.at)
            due_times[(due.storefront, due.flow, due.due_at)] += 1
        clock.at += step
    intervals = schedule.wanted(config.storefronts)
    assert set(claims) == set(intervals)
    assert max(due_times.values()) == 1
    for key, times in claims.items():
        interval = intervals[key]
        # first due within its first interval, then one claim per interval (± the spread,
        # + the tick step by which a claim can come late)
        assert times[0] <= T0 + timedelta(seconds=interval)
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
        assert gaps, key
        for gap in gaps:
            assert interval * (1 - SPREAD / 2) - 1e-6 <= gap <= interval * (1 + SPREAD / 2) + 0.5
        expected = (end - times[0]).total_seconds() / interval
        assert abs(len(times) - 1 - expected) <= 1 + expected * SPREAD


def test_jitter_spreads_first_due_times(ledger, tmp_path):
    names = {f"shop{i:03d}": 60 for i in range(200)}
    config = write_config(tmp_path, names)
    schedule.sync_schedule(ledger, config, now=T0, unit=random.Random(7).random)
    with ledger.transaction() as session:
        ingest_due = [due for (_, flow), (_, due) in schedule_rows(session).items()
                      if flow == "ingest"]
    seconds = Counter(int((due - T0).total_seconds()) for due in ingest_due)
    # 200 storefronts on a 60 s interval: spread over the minute, never a crowd in one second
    assert len(seconds) >= 45
    assert max(seconds.values()) <= 12


@both_ledgers
def test_a_paused_storefront_is_not_claimed_until_resumed(ledger, tmp_path):
    config = write_config(tmp_path, {"north": 7, "south": 7})
    schedule.sync_schedule(ledger, config, now=T0)
    with ledger.transaction() as session:
        repo.pause_storefront(session, "north", "refused credentials")
    later = T0 + timedelta(seconds=30)
    claimed = {(d.storefront, d.flow) for d in schedule.claim_due(ledger, later, limit=100)}
    assert claimed == {("south", flow) for flow in FLOWS}
    assert schedule.earliest_due(ledger) > later
    with ledger.transaction() as session:
        repo.resume_storefront(session, "north")
    claimed = {(d.storefront, d.flow) for d in schedule.claim_due(ledger, later, limit=100)}
    assert claimed == {("north", flow) for flow in FLOWS}


@both_ledgers
def test_a_status_sync_with_nothing_to_follow_is_not_sent(ledger, tmp_path):
    """Its due time passes (claimed) but no task goes: a storefront with no order at
    Amazon would only pay a task round trip to find nothing."""
    config = write_config(tmp_path, {"north": 7, "south": 7})
    schedule.sync_schedule(ledger, config, now=T0)
    follow_an_order(ledger, "north")
    later = T0 + timedelta(seconds=30)
    due, _next = schedule.claim_due_and_next(ledger, later)
    sent = {(d.storefront, d.flow) for d in due}
    assert ("north", "status") in sent and ("south", "status") not in sent
    assert {("south", flow) for flow in ("ingest", "stock", "inbound")} <= sent
    assert schedule_rows_due_after(ledger, "south", "status", later)


def follow_an_order(ledger, storefront: str) -> None:
    """An order of `storefront` accepted by Amazon: its status is followed from now on."""
    order = CartOrder("9001", "#9001", T0, T0, paid=True, cancelled=False,
                      lines=(CartLine("l1", "MUG", 1),))
    with ledger.transaction() as session:
        row = repo.add_order(session, storefront, order, S.RECEIVED)
        row.state = S.ACCEPTED.value


def schedule_rows_due_after(ledger, storefront: str, flow: str, moment: datetime) -> bool:
    with ledger.transaction() as session:
        return schedule_rows(session)[(storefront, flow)][1] > moment


@pytest.mark.parametrize("ledger_backend", ["postgres", "sqlite"], indirect=True)
def test_racing_claimers_never_claim_a_due_time_twice(ledger, ledger_url, tmp_path):
    config = write_config(tmp_path, {f"shop{i:03d}": 5 for i in range(100)})
    schedule.sync_schedule(ledger, config, now=T0)
    engines = [make_engine(ledger_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    claimed: list[list[tuple[str, str, datetime]]] = [[] for _ in engines]
    errors: list[BaseException] = []

    def claimer(index: int) -> None:
        own = Ledger(engines[index])
        try:
            for step in range(40):
                at = T0 + timedelta(seconds=step)
                barrier.wait(timeout=30)
                for due in schedule.claim_due(own, at, limit=25):
                    claimed[index].append((due.storefront, due.flow, due.due_at))
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for engine in engines:
        engine.dispose()
    assert not errors, errors
    everything = [item for own in claimed for item in own]
    assert len(everything) == len(set(everything))          # no due time twice
    assert sum(1 for own in claimed if own) >= 2            # the claimers did race
    # every row claimed about once per 5 s over 40 s
    per_row = Counter((sf, flow) for sf, flow, _ in everything)
    assert len(per_row) == 100 * len(FLOWS)
    ingest = [count for (_, flow), count in per_row.items() if flow == "ingest"]
    assert min(ingest) >= 6 and max(ingest) <= 9


class FakeApp:
    """What the scheduler sends, without a broker."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple, float]] = []

    def send_task(self, name, args=(), expires=None, **_):
        self.sent.append((name, args, expires))


@both_ledgers
def test_the_tick_reads_nothing_between_due_times(ledger, tmp_path):
    from bridge.worker.scheduler import SingleScheduler

    clock = Clock()
    ledger.clock = clock
    config = write_config(tmp_path, {"north": 7, "south": 5})
    # Every row first due at once: the first claim sends several tasks (checked below).
    schedule.sync_schedule(ledger, config, now=clock(), unit=lambda: 0.0)
    follow_an_order(ledger, "north")
    mono = [0.0]
    scheduler = SingleScheduler.__new__(SingleScheduler)
    scheduler.app, scheduler.clock = FakeApp(), lambda: mono[0]
    scheduler.next_due, scheduler.recheck_at, scheduler.claim_after, scheduler.sent = None, 0.0, 0.0, 0
    statements: list[str] = []
    event.listen(ledger.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    sent_per_tick, reads_per_tick = [], []
    for _ in range(60):
        before_sent, before_reads = len(scheduler.app.sent), len(statements)
        wait = scheduler.fan_out(ledger)
        assert 0 <= wait
        sent_per_tick.append(len(scheduler.app.sent) - before_sent)
        reads_per_tick.append(len(statements) - before_reads)
        clock.at += timedelta(seconds=0.5)
        mono[0] += 0.5
    sent = scheduler.app.sent
    assert {name for name, _, _ in sent} == {"bridge.ingest", "bridge.status", "bridge.stock",
                                             "bridge.inbound"}
    assert ("bridge.ingest", ("north",), 7.0) in sent
    assert ("bridge.inbound", ("south",), 17.0) in sent
    # At most one claim a second (rows due within it wait for it), 30 s of ticks here.
    assert sum(1 for reads in reads_per_tick if reads) <= 30
    # Ticks that send nothing and need no recheck touch the ledger not at all, and most
    # ticks are such ticks.
    idle = [reads for sent_now, reads in zip(sent_per_tick, reads_per_tick, strict=True)
            if not sent_now]
    assert idle.count(0) >= len(idle) // 2
    # A tick that sends does it with one claim (not one write per task sent).
    busy = [reads for sent_now, reads in zip(sent_per_tick, reads_per_tick, strict=True)
            if sent_now >= 2]
    assert busy and max(busy) <= 8


def test_celery_beat_keeps_only_the_sweep_and_every_scheduled_flow_has_its_task(tmp_path):
    from bridge.worker.app import app, celery_settings

    config = write_config(tmp_path, {f"shop{i}": 7 for i in range(30)})
    beat = celery_settings(config)["beat_schedule"]
    assert list(beat) == ["sweep"] and beat["sweep"]["task"] == "bridge.sweep"
    assert beat["sweep"]["schedule"].total_seconds() == config.settings.sweep_seconds
    app.loader.import_default_modules()
    flows = {flow for _, flow in schedule.wanted(config.storefronts)}
    assert flows == set(FLOWS)
    assert all(f"bridge.{flow}" in app.tasks for flow in flows)
    intervals = schedule.wanted(config.storefronts)
    assert intervals[("shop3", "ingest")] == 7 and intervals[("shop3", "status")] == 11
    assert intervals[("shop3", "stock")] == 13 and intervals[("shop3", "inbound")] == 17
    assert intervals[("shop3", "returns")] == 19 and intervals[("shop3", "delivery")] == 23


def test_the_lease_is_renewed_once_a_third_of_its_lifetime_has_passed(ledger, monkeypatch):
    from bridge.worker import scheduler as scheduler_module
    from bridge.worker.app import app

    mono = [0.0]
    calls: list[str] = []
    acquire = repo.acquire_lease

    def counting(ledger, name, holder, seconds, **kwargs):
        calls.append(holder)
        return acquire(ledger, name, holder, seconds, **kwargs)

    monkeypatch.setattr(scheduler_module.repo, "acquire_lease", counting)
    first = scheduler_module.SingleScheduler(app, lazy=True, clock=lambda: mono[0])
    spare = scheduler_module.SingleScheduler(app, lazy=True, clock=lambda: mono[0])
    ticks = 0
    while mono[0] < 10 * scheduler_module.LEASE_SECONDS:
        assert first.lease_current(ledger) is True
        ticks += 1
        mono[0] += 0.5
    # one take, then one renewal each time a third of the lifetime has passed (at the
    # first tick after it): not one per tick
    ticks_per_renewal = math.ceil(scheduler_module.LEASE_SECONDS / 3 / 0.5)
    assert calls.count(first.holder) == math.ceil(ticks / ticks_per_renewal)
    assert ticks_per_renewal > 1
    assert spare.lease_current(ledger) is False   # stands by while the first renews
    assert spare.lease_current(ledger) is False and calls.count(spare.holder) == 2


def test_the_sweep_reads_every_storefront_through_the_indexes(request, tmp_path):
    """On a 20,000-order PostgreSQL ledger: the grouped sweep scans no finished history."""
    from test_ledger_scale import Statements, _assert_no_scan_of_history, _touching

    from bridge.services import sweep

    engine = request.getfixturevalue("large_ledger")
    config = write_config(tmp_path, {"demo": 60, "other": 60})
    ledger, statements = Ledger(engine), Statements(engine)
    nudges = sweep.sweep(ledger, config.storefronts, timedelta(minutes=5))
    assert {"submit", "tracking"} <= nudges["demo"]
    plans = statements.plans()
    _assert_no_scan_of_history(plans)
    assert any("ix_orders_work" in plan for plan in _touching(plans, "orders"))
    assert any("ix_packages_unpushed" in plan for plan in _touching(plans, "packages"))

