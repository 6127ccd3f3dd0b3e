"""`bridge run`'s live view: what one refresh draws (a pure function of what was read
and the time), and that a run without a terminal keeps its log lines and no view."""

import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from rich.console import Console

from bridge import daemon, live_view
from bridge.bootstrap import build_runtime
from bridge.ledger import call_stats, migrate
from bridge.live_view import RunView, render
from bridge.logging import PER_TASK_LOGGERS
from bridge.services import health
from bridge.services.orders import StorefrontStatus

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _text(table, width: int = 240) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def _status(name: str, **values) -> StorefrontStatus:
    fields = {"counts": {}, "paused": None, "last_order_poll": None, "lag_seconds": None}
    return StorefrontStatus(name=name, **{**fields, **values})


def test_a_row_per_storefront_with_states_in_flow_order_last_poll_and_attention():
    shop = _status("shop", counts={"shipped": 3, "received": 2, "accepted": 14,
                                   "needs_attention": 4, "on_hold": 2},
                   last_order_poll=NOW - timedelta(seconds=12),
                   attention_reasons={"unknown_sku": 3, "missing_address": 1})
    quiet = _status("quiet", last_order_poll=NOW - timedelta(minutes=5))
    text = _text(render([shop, quiet], NOW, "var/bridge.log"))
    shop_line = next(line for line in text.splitlines() if "shop" in line)
    assert shop_line.index("received 2") < shop_line.index("accepted 14") < shop_line.index("shipped 3")
    assert "on_hold" not in shop_line and "needs_attention" not in shop_line  # their own column
    assert "12s ago" in shop_line
    assert "4 need attention (missing_address 1, unknown_sku 3)" in text
    assert "2 held" in text
    quiet_line = next(line for line in text.splitlines() if "quiet" in line)
    assert "none open" in quiet_line and "5m ago" in quiet_line and "nothing" in quiet_line
    assert "2026-03-02 12:00:00 UTC" in text and "log: var/bridge.log" in text


def test_a_paused_or_failing_storefront_and_one_never_polled_say_so():
    failing = health.Degraded("orders", 5, NOW - timedelta(minutes=3), "401 Unauthorized")
    shop = _status("shop", paused="the shop refused the credentials", degraded=[failing])
    text = _text(render([shop], NOW, "var/bridge.log"))
    assert "never" in text
    assert "paused: the shop refused the credentials" in text
    assert "orders failing ×5" in text


def test_no_storefront_is_said_not_drawn_as_an_empty_table():
    assert "no storefront is enabled" in _text(render([], NOW, "log"))


def test_only_a_terminal_wants_the_view():
    assert live_view.wanted(_Terminal())
    assert not live_view.wanted(io.StringIO())


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config" / "storefronts").mkdir(parents=True)
    (tmp_path / "config" / "bridge.toml").write_text(
        f'database_url = "sqlite:///{tmp_path / "ledger.db"}"\n'
        f'broker_url = "sqla+sqlite:///{tmp_path / "broker.db"}"\n')
    (tmp_path / "config" / "storefronts" / "shop.toml").write_text(
        '[cart]\nplatform = "sql"\nurl = "sqlite:///store.db"\n'
        '[fulfillment]\nclient_id = "id"\nclient_secret = "env:X"\nrefresh_token = "env:Y"\n')
    monkeypatch.setenv("BRIDGE_CONFIG_DIR", str(tmp_path / "config"))
    # The process-wide call-stats flusher would outlive this ledger and write to it.
    monkeypatch.setattr(call_stats, "flush_to", lambda ledger: None)
    rt = build_runtime(tmp_path / "config", configure_logging=False)
    migrate.upgrade(rt.config.settings.database_url)
    yield rt
    rt.close()


def test_the_view_reads_the_ledger_of_each_enabled_storefront(runtime):
    view = RunView(runtime.ledger, list(runtime.storefronts), "var/bridge.log",
                   clock=lambda: NOW, console=Console(file=io.StringIO()))
    text = _text(view.frame())
    assert "shop" in text and "none open" in text and "never" in text


class _Started(Exception):
    pass


def _run_without_celery(runtime, monkeypatch, stream) -> list[list[str]]:
    """run_embedded up to Celery's worker: the argv it would start Celery with."""
    calls: list[list[str]] = []

    class _Scheduler:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def start(self) -> None:
            pass

        def stop(self) -> None:
            pass

    monkeypatch.setattr("celery.beat.EmbeddedService", _Scheduler)
    monkeypatch.setattr(daemon, "prepare_broker", lambda url: None)
    monkeypatch.setattr(daemon, "celery_main", calls.append)
    monkeypatch.setattr(daemon, "release_held_leases", lambda: None)
    monkeypatch.setattr(RunView, "start", lambda self: calls.append(["view started"]))
    monkeypatch.setattr(RunView, "stop", lambda self: calls.append(["view stopped"]))
    from bridge.worker.app import app

    monkeypatch.setitem(app.conf, "worker_pool", app.conf["worker_pool"])
    daemon.run_embedded(runtime, concurrency=1, stream=stream)
    return calls


def test_a_run_without_a_terminal_keeps_its_logs_and_draws_no_view(runtime, monkeypatch):
    calls = _run_without_celery(runtime, monkeypatch, io.StringIO())
    assert calls[0][0] == "worker" and "--quiet" not in calls[0]
    assert len(calls) == 1
    assert not Path("var/bridge.log").exists()


@pytest.fixture
def _logging_restored():
    """The run reconfigures logging for the whole process; later tests get it back."""
    structlog_config = structlog.get_config()
    root = logging.getLogger()
    handlers, levels = root.handlers[:], {
        name: logging.getLogger(name).level for name in ("celery", *PER_TASK_LOGGERS)}
    yield
    structlog.configure(**structlog_config)
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("_logging_restored")
def test_a_run_on_a_terminal_draws_the_view_and_logs_to_a_file(runtime, monkeypatch):
    calls = _run_without_celery(runtime, monkeypatch, _Terminal())
    assert calls[0] == ["view started"]
    assert calls[1][:2] == ["--quiet", "worker"]
    assert calls[2] == ["view stopped"]
    assert '"event": "starting"' in Path("var/bridge.log").read_text()
