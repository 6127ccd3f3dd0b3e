"""The Celery settings that keep work safe are pinned here, so an upgrade or an edit
that drops one fails loudly."""

from pathlib import Path

from bridge.config import load_config
from bridge.worker.app import QUEUES, TASK_TIME_LIMIT, VISIBILITY_TIMEOUT, app, celery_settings

STOREFRONT = """
name = "{name}"
order_id_prefix = "{prefix}"
[cart]
platform = "sql"
url = "sqlite:///store.db"
[fulfillment]
client_id = "id"
client_secret = "env:X"
refresh_token = "env:Y"
[poll]
orders_seconds = 7
status_seconds = 11
stock_seconds = 13
"""


def config_with(tmp_path: Path, *names: str):
    (tmp_path / "storefronts").mkdir()
    for index, name in enumerate(names):
        (tmp_path / "storefronts" / f"{name}.toml").write_text(
            STOREFRONT.format(name=name, prefix=f"P{index}"))
    return load_config(tmp_path)


def test_reliability_settings(tmp_path):
    settings = celery_settings(config_with(tmp_path, "shop"))
    assert settings["task_acks_late"] is True
    assert settings["task_reject_on_worker_lost"] is True
    assert settings["worker_prefetch_multiplier"] == 1
    assert settings["task_serializer"] == "json" and settings["accept_content"] == ["json"]
    assert settings["worker_cancel_long_running_tasks_on_connection_loss"] is True
    # a message is redelivered only after the longest task could have finished
    assert settings["broker_transport_options"]["visibility_timeout"] == VISIBILITY_TIMEOUT
    assert VISIBILITY_TIMEOUT > TASK_TIME_LIMIT > settings["task_soft_time_limit"]


def test_each_flow_has_its_own_queue_and_exchange(tmp_path):
    settings = celery_settings(config_with(tmp_path, "shop"))
    queues = {queue.name: queue for queue in settings["task_queues"]}
    assert set(queues) == set(QUEUES)
    for name, queue in queues.items():
        assert queue.exchange.name == name and queue.routing_key == name
    routes = settings["task_routes"]
    assert routes["bridge.submit"]["queue"] != routes["bridge.stock"]["queue"]
    assert routes["bridge.ingest"]["queue"] != routes["bridge.stock"]["queue"]


def test_beat_schedule_comes_from_the_storefront_files(tmp_path):
    from bridge.services.schedule import wanted

    config = config_with(tmp_path, "north", "south")
    schedule = celery_settings(config)["beat_schedule"]
    # Celery's own schedule is the sweep alone; each storefront's flows are ledger rows.
    assert list(schedule) == ["sweep"] and schedule["sweep"]["task"] == "bridge.sweep"
    intervals = wanted(config.storefronts)
    for name in ("north", "south"):
        assert intervals[(name, "ingest")] == 7
        assert intervals[(name, "status")] == 11
        assert intervals[(name, "stock")] == 13


def test_every_scheduled_task_is_registered(tmp_path):
    from bridge.services.schedule import wanted

    app.loader.import_default_modules()
    config = config_with(tmp_path, "shop")
    schedule = celery_settings(config)["beat_schedule"]
    for entry in schedule.values():
        assert entry["task"] in app.tasks
    # The ledger's schedule sends `bridge.<flow>` for each of its rows.
    for _storefront, flow in wanted(config.storefronts):
        assert f"bridge.{flow}" in app.tasks


def test_only_the_scheduler_holding_the_lease_sends(tmp_path):
    from bridge.ledger import migrate
    from bridge.ledger.db import make_engine
    from bridge.ledger.repo import Ledger
    from bridge.worker import scheduler as scheduler_module
    from bridge.worker.scheduler import SingleScheduler

    assert celery_settings(config_with(tmp_path, "shop"))["beat_scheduler"] == (
        "bridge.worker.scheduler:SingleScheduler")
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    ledger = Ledger(engine)
    first, second = (SingleScheduler(app, lazy=True) for _ in range(2))
    try:
        assert first.holds_lease(ledger) is True
        assert second.holds_lease(ledger) is False      # stands by
        assert first.holds_lease(ledger) is True        # renews its own lease
        # The first one dies: its lease runs out and the second takes over.
        scheduler_module.LEASE_SECONDS, saved = 0.0, scheduler_module.LEASE_SECONDS
        try:
            first.holds_lease(ledger)
            assert second.holds_lease(ledger) is True
        finally:
            scheduler_module.LEASE_SECONDS = saved
    finally:
        engine.dispose()
