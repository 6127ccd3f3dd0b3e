"""Leases on both ledgers: held for a block, renewed by a heartbeat, lost when another
holder takes them (the holder then commits nothing), taken at once from a holder whose
process is gone from this host, handed back when the work is abandoned or the process
stops. The clock is injected; the heartbeat thread is exercised in real time once."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from support import both_ledgers

from bridge.ledger import repo
from bridge.ledger.tables import Lease

pytestmark = both_ledgers

NAME = "demo:orders"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def row(ledger) -> Lease:
    with ledger.transaction() as session:
        return session.scalar(sa.select(Lease).where(Lease.name == NAME))


def other_takes(ledger, clock, holder: str = "") -> bool:
    return repo.acquire_lease(ledger, NAME, holder or repo.holder_id(), 10, now=clock())


def test_one_holder_at_a_time_and_released_after_the_block(ledger):
    clock = Clock()
    with repo.lease(ledger, NAME, 10, clock=clock, every=3600) as held:
        assert held
        assert not held.lost
        with repo.lease(ledger, NAME, 10, clock=clock, every=3600) as second:
            assert not second
    assert other_takes(ledger, clock)


def test_a_heartbeat_keeps_the_lease_past_its_first_lifetime(ledger):
    clock = Clock()
    with repo.lease(ledger, NAME, 10, clock=clock, every=3600) as held:
        for _ in range(5):  # 40 s of work, renewed every 8 s
            clock.advance(8)
            held.beat()
        assert row(ledger).until == clock() + timedelta(seconds=10)
        clock.advance(8)
        assert not other_takes(ledger, clock)
        assert not held.lost


def test_a_lease_not_renewed_lapses_and_its_holder_learns_it_lost(ledger):
    clock = Clock()
    with repo.lease(ledger, NAME, 10, clock=clock, every=3600) as held:
        clock.advance(11)  # the holder stalled: no renewal within the lifetime
        assert other_takes(ledger, clock)
        held.beat()
        assert held.lost
        with pytest.raises(repo.LeaseLost):
            held.check()
    assert row(ledger).holder != held.holder  # leaving the block kept the new holder's


def test_a_holder_that_lost_its_lease_commits_nothing(ledger):
    clock = Clock()
    with repo.lease(ledger, NAME, 10, clock=clock, every=3600) as held:
        with ledger.transaction() as session:
            held.confirm(session)  # fine while held
        clock.advance(11)
        assert other_takes(ledger, clock)
        with pytest.raises(repo.LeaseLost):
            with ledger.transaction() as session:
                repo.set_cursor(session, "demo", "orders", clock())
                held.confirm(session)
        with ledger.transaction() as session:
            assert repo.get_cursor(session, "demo", "orders") is None


def test_a_renewal_failing_beyond_the_lifetime_counts_as_lost(ledger, monkeypatch):
    clock = Clock()
    with repo.lease(ledger, NAME, 10, clock=clock, every=3600) as held:
        monkeypatch.setattr(repo, "renew_lease", lambda *a: 1 / 0)
        clock.advance(5)
        held.beat()
        assert not held.lost  # a blip: the lease still has time
        clock.advance(6)
        held.beat()
        assert held.lost


def test_the_heartbeat_thread_renews_and_stops_with_the_block(ledger):
    with repo.lease(ledger, NAME, 0.9) as held:  # renewed every 0.3 s
        time.sleep(2.0)
        assert not repo.acquire_lease(ledger, NAME, repo.holder_id(), 0.9)
        assert not held.lost
    assert not held._thread.is_alive()
    assert repo.acquire_lease(ledger, NAME, repo.holder_id(), 0.9)


def test_a_dead_holder_on_this_host_is_replaced_at_once(ledger):
    clock = Clock()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    template = repo.holder_id().rsplit(":", 3)
    dead = f"{template[0]}:{child.pid}:123:deadbeef"
    assert repo.acquire_lease(ledger, NAME, dead, 10, now=clock())
    assert other_takes(ledger, clock)


def test_a_live_holder_or_one_elsewhere_keeps_its_lease(ledger):
    clock = Clock()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        template = repo.holder_id().rsplit(":", 3)
        start = repo._process_start(child.pid)
        live = f"{template[0]}:{child.pid}:{start}:cafe0001"
        assert repo.acquire_lease(ledger, NAME, live, 10, now=clock())
        assert not other_takes(ledger, clock)
        repo.release_lease(ledger, NAME, live)
        elsewhere = f"otherhost/0badc0de:{child.pid}:1:cafe0002"  # can't tell: wait it out
        assert repo.acquire_lease(ledger, NAME, elsewhere, 10, now=clock())
        assert not other_takes(ledger, clock)
        clock.advance(10)
        assert other_takes(ledger, clock)
    finally:
        child.kill()
        child.wait()


def test_abandoned_work_loses_and_hands_back_its_lease(ledger):
    clock = Clock()
    entered, done = threading.Event(), threading.Event()
    seen = {}

    def work():
        with repo.lease(ledger, NAME, 10, clock=clock, every=3600) as held:
            seen["held"] = held
            entered.set()
            done.wait(10)

    thread = threading.Thread(target=work)
    thread.start()
    assert entered.wait(10)
    repo.abandon_leases(thread.ident)
    assert seen["held"].lost
    assert other_takes(ledger, clock)  # at once, not after the lifetime
    done.set()
    thread.join()


def test_a_stopping_process_releases_everything_it_holds(ledger):
    clock = Clock()
    with repo.lease(ledger, NAME, 10, clock=clock, every=3600) as held:
        repo.release_all_leases()
        assert held.lost
        assert other_takes(ledger, clock)
