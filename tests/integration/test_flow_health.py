"""A storefront whose remote keeps failing is shown as degraded with the reason in
words, through the real task base class; a run that goes through clears it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.demo import write_config
from bridge.errors import RemoteUnreachable
from bridge.ledger import migrate
from bridge.services import health
from bridge.worker import runtime
from bridge.worker.tasks import ingest_task

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def clock(*moments):
    it = iter(moments)
    return lambda: next(it)


def test_three_failures_in_a_row_degrade_a_flow_and_one_success_clears_it(ledger):
    error = RemoteUnreachable("shop.example: certificate verify failed (self-signed)",
                              host="shop.example", reason="self-signed")
    for minute in range(2):
        health.record_outcome(ledger, "north", "ingest", error, now=clock(T0 + timedelta(minutes=minute)))
    assert health.degraded_flows(ledger, "north") == []
    health.record_outcome(ledger, "north", "ingest", error, now=clock(T0 + timedelta(minutes=2)))
    [flow] = health.degraded_flows(ledger, "north")
    assert (flow.flow, flow.failures, flow.since) == ("ingest", 3, T0)
    assert "self-signed" in flow.error
    health.record_outcome(ledger, "north", "ingest", None, now=clock(T0 + timedelta(minutes=3)))
    assert health.degraded_flows(ledger, "north") == []


@pytest.fixture
def unreachable_shop(tmp_path, monkeypatch):
    """A configuration whose only storefront's shop refuses connections."""
    config_dir = write_config(tmp_path, "http://127.0.0.1:9")
    path = config_dir / "storefronts" / "demo.toml"
    text = path.read_text()
    cart = text[text.index("[cart]"):text.index("[fulfillment]")]
    # A database server that is not there: refused at once, no retries inside the adapter.
    path.write_text(text.replace(cart, '[cart]\nplatform = "sql"\n'
                                       'url = "postgresql+psycopg://shop@127.0.0.1:1/shop"\n\n'))
    monkeypatch.setenv("BRIDGE_CONFIG_DIR", str(config_dir))
    migrate.upgrade(f"sqlite:///{tmp_path / 'ledger.db'}")
    runtime.reset()
    yield
    runtime.reset()


def test_a_task_whose_shop_refuses_connections_leaves_its_reason_for_status(unreachable_shop):
    ingest_task.apply(args=("demo",))  # eager: its retries run at once, each one counted
    [flow] = health.degraded_flows(runtime.get().ledger, "demo")
    assert flow.flow == "ingest" and flow.failures >= health.DEGRADED_AFTER
    assert "not available" in flow.error  # the reason, in words


def test_bridge_status_names_the_degraded_flow_and_why(unreachable_shop):
    from click.testing import CliRunner

    from bridge.cli import main

    ingest_task.apply(args=("demo",))
    shown = CliRunner().invoke(main, ["status"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "DEGRADED: ingest has failed" in shown.output
    assert "not available" in shown.output
