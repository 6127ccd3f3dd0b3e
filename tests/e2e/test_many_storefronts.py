"""Fifty storefronts, each on its own SQLite demo store, one simulator, the ledger on
PostgreSQL, Redis as the broker, and two `bridge beat` tick senders: every storefront's
order poll runs at its interval (counted per storefront from the worker's JSON log),
none is skipped, and no due time is sent twice, also across the standby taking over
from a killed sender."""

from __future__ import annotations

import json
import os
import re
import signal
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from processes import Daemons, wait_for
from sqlalchemy import func, select

from bridge import demo_store
from bridge.demo import write_config
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.schedule import SPREAD
from bridge.ledger.tables import Schedule
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

STOREFRONTS = 50
ORDERS_SECONDS = 3
RUNS = 10  # order polls per storefront the test waits for


def storefront_files(config_dir: Path, workdir: Path) -> list[str]:
    """The demo storefront copied STOREFRONTS times, each with a store of its own; the
    other flows on long intervals, so the order polls are what the test watches."""
    folder = config_dir / "storefronts"
    template = (folder / "demo.toml").read_text()
    (folder / "demo.toml").unlink()
    template = re.sub(r"(?m)^status_seconds = .*$", "status_seconds = 60", template)
    template = re.sub(r"(?m)^stock_seconds = .*$", "stock_seconds = 60", template)
    names = []
    for index in range(STOREFRONTS):
        name = f"shop{index:02d}"
        store_url = f"sqlite:///{(workdir / f'store-{name}.db').resolve()}"
        demo_store.create_schema(store_url)
        text = re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', template)
        text = re.sub(r'(?m)^order_id_prefix = ".*"$', f'order_id_prefix = "S{index:02d}"', text)
        text = re.sub(r'(?m)^url = ".*"$', f'url = "{store_url}"', text, count=1)
        (folder / f"{name}.toml").write_text(text)
        names.append(name)
    return names


def log_entries(log: Path, event: str) -> list[dict]:
    entries = []
    for line in log.read_text(errors="replace").splitlines():
        if f'"{event}"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == event:
            entries.append(entry)
    return entries


def order_polls(log: Path) -> Counter:
    """storefront → order polls run, from the worker's JSON log."""
    return Counter(entry["storefront"] for entry in log_entries(log, "ingested")
                   if entry.get("storefront"))


def order_polls_sent(*logs: Path) -> dict[str, list[datetime]]:
    """storefront → the due time of each order poll a tick sender sent (its debug log)."""
    sent: dict[str, list[datetime]] = defaultdict(list)
    for log in logs:
        for entry in log_entries(log, "schedule_sent"):
            if entry["flow"] == "ingest":
                sent[entry["storefront"]].append(datetime.fromisoformat(entry["due"]))
    return sent


def test_fifty_storefronts_are_each_polled_at_their_interval(tmp_path, postgres_url, redis_url):
    with SimServer(SimConfig(clock_factor=0)) as sim:
        config_dir = write_config(tmp_path, sim.base_url, database_url=postgres_url,
                                  broker_url=redis_url, rate_limit_url="off",
                                  poll_seconds=ORDERS_SECONDS)
        names = storefront_files(config_dir, tmp_path)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(postgres_url)
        ledger = Ledger(engine)
        try:
            migrated = daemons.run("db", "upgrade")
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            daemons.lanes(submit=1, flows=3)
            # The senders log each task they send (at debug).
            env, daemons.env = daemons.env, {**daemons.env, "BRIDGE_LOG_LEVEL": "debug"}
            first = daemons.bridge("beat", "beat", "--loglevel", "INFO")
            daemons.bridge("beat-spare", "beat", "--loglevel", "INFO")
            daemons.env = env
            worker_log = tmp_path / "worker-flows.log"

            def polled(runs: int) -> bool:
                daemons.check_alive()
                polls = order_polls(worker_log)
                return all(polls[name] >= runs for name in names)

            wait_for(lambda: polled(RUNS // 2), "half the order polls", 90, daemons.logs)
            with ledger.transaction() as session:
                rows = session.scalar(select(func.count()).select_from(Schedule))
            assert rows == STOREFRONTS * 6  # ingest, status, stock, inbound, returns, delivery

            # The sender dies; the standby takes over and the polls go on.
            senders = [name for name in ("beat", "beat-spare")
                       if "scheduler_active" in (tmp_path / f"{name}.log").read_text()]
            assert len(senders) == 1, senders
            active = first if senders == ["beat"] else daemons.children[-1][1]
            os.killpg(active.pid, signal.SIGKILL)
            active.wait()
            daemons.children = [c for c in daemons.children if c[1] is not active]
            wait_for(lambda: polled(RUNS), f"{RUNS} order polls of every storefront", 90,
                     daemons.logs)
        finally:
            daemons.stop()
            engine.dispose()

    polls = order_polls(worker_log)
    sent = order_polls_sent(tmp_path / "beat.log", tmp_path / "beat-spare.log")
    assert set(polls) == set(sent) == set(names)  # none skipped
    for name in names:
        due = sorted(sent[name])
        # No due time sent twice, by either sender, and one due time per interval: a
        # claim moves the row to at least (claim time + interval × (1 - SPREAD / 2)).
        assert len(due) == len(set(due)), name
        gaps = [(b - a).total_seconds() for a, b in zip(due, due[1:], strict=False)]
        assert min(gaps) >= ORDERS_SECONDS * (1 - SPREAD / 2), (name, gaps)
        # How late a due time is sent depends on how busy the machine is, so it is not
        # asserted here: the waits above (every storefront polled RUNS times within their
        # deadlines, across the takeover) are what shows none is left behind.
        # Every poll was sent; a sent poll that did not run is one the kill cut off.
        assert sent[name] and polls[name] <= len(due), name
