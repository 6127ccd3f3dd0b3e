"""The embedded default end to end, exactly as a newcomer runs it: `bridge demo` in a
child process (SQLite ledger, SQLite broker, demo store, simulator, worker + scheduler
in one process), then the state it leaves behind is checked independently."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from bridge import demo_store
from bridge.config import load_config
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, Package

pytestmark = pytest.mark.e2e

ORDERS = 30


def test_bridge_demo_runs_the_whole_flow_and_reports_done(tmp_path):
    workdir = tmp_path / "demo"
    finished = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "demo", "--orders", str(ORDERS),
         "--workdir", str(workdir), "--timeout", "240"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    log = (workdir / "bridge.log").read_text(errors="replace") if (workdir / "bridge.log").exists() else ""
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:] + log[-3000:]
    assert "done" in finished.stdout and f"{ORDERS} orders fulfilled" in finished.stdout

    settings = load_config(workdir / "config").settings
    assert settings.database_url.startswith("sqlite:///")
    assert settings.broker_url.startswith("sqla+sqlite:///")
    engine = make_engine(settings.database_url)
    try:
        ledger = Ledger(engine)
        with ledger.transaction() as session:
            states = dict(session.execute(select(Order.state, func.count()).group_by(Order.state)).all())
            packages = session.scalar(select(func.count()).select_from(Package))
            unpushed = session.scalar(select(func.count()).where(Package.pushed_at.is_(None)))
    finally:
        engine.dispose()
    assert states == {"complete": ORDERS}
    assert unpushed == 0

    store_url = f"sqlite:///{workdir / 'store.db'}"
    shipments = demo_store.read_shipments(store_url)
    per_package = Counter((row["order_id"], row["tracking_number"]) for row in shipments)
    assert len(per_package) == packages and max(per_package.values()) == 1
    assert len({row["order_id"] for row in shipments}) == ORDERS
    # Stock went back to the store for every demo SKU.
    assert set(demo_store.read_stock(store_url)) == {"MUG-BLUE", "MUG-RED", "TEE-M", "TEE-L", "CAP-01"}
