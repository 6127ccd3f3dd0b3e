"""The ledger stamps its own times from its clock: the rows' created/updated times, state
changes, cursors, storefront pauses and leases; without one it keeps the real clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from ledger_rows import T0, order
from sqlalchemy.pool import StaticPool

from bridge.domain.states import OrderState as S
from bridge.fba.fake import ManualClock
from bridge.ledger import repo
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Base, Lease, Order, Storefront, utcnow

CLOCK_START = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(CLOCK_START)


@pytest.fixture
def timed(clock: ManualClock) -> Iterator[Ledger]:
    engine = make_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    yield Ledger(engine, clock=clock)
    engine.dispose()


def test_new_and_changed_rows_are_stamped_from_the_ledgers_clock(timed, clock):
    order_id = order(timed, "#1", S.RECEIVED)
    with timed.transaction() as session:
        row = session.get(Order, order_id)
        assert (row.created_at, row.updated_at, row.state_changed_at) == (
            CLOCK_START, CLOCK_START, T0)  # a time the caller sets stands

    clock.advance(60)
    with timed.transaction() as session:
        row = session.get(Order, order_id)
        repo.transition(session, row, S.READY, "mapped")
    with timed.transaction() as session:
        row = session.get(Order, order_id)
        later = CLOCK_START + timedelta(seconds=60)
        assert (row.created_at, row.updated_at, row.state_changed_at) == (
            CLOCK_START, later, later)


def test_cursors_pauses_and_leases_use_the_ledgers_clock(timed, clock):
    with timed.transaction() as session:
        repo.set_cursor(session, "north", "orders", T0)
        repo.pause_storefront(session, "north", "refused")
    assert repo.acquire_lease(timed, "north:orders", "me", 30)
    with timed.transaction() as session:
        assert repo.get_cursor(session, "north", "orders").last_run_at == CLOCK_START
        assert session.get(Storefront, "north").updated_at == CLOCK_START
        assert session.get(Lease, "north:orders").until == CLOCK_START + timedelta(seconds=30)


def test_the_default_clock_is_the_real_one(ledger):
    before = utcnow()
    order_id = order(ledger, "#2", S.RECEIVED)
    with ledger.transaction() as session:
        row = session.get(Order, order_id)
        assert before <= row.created_at <= utcnow()
    assert ledger.clock is utcnow
