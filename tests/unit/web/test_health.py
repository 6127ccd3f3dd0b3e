"""`/healthz` and `/readyz`: ready only when the ledger answers, the broker accepts a
connection and every enabled, unpaused storefront polled its orders lately; else 503
naming each failing check. A database that never answers fails the probe within its
deadline instead of hanging it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from serve_support import (  # noqa: F401  (migrated_template_fixture is a fixture)
    T0,
    Clock,
    closed_port,
    copy_ledger,
    migrated_template_fixture,
    runtime_for,
    silent_server,
    write_config,
)
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bridge.ledger import repo
from bridge.web.health import Deadlines, Outcome, Probes


def client_for(runtime, seconds: float = 3.0) -> TestClient:
    return TestClient(Starlette(routes=Probes(runtime, seconds).routes()))


@pytest.fixture
def ledger_url(migrated_template, tmp_path) -> str:
    return copy_ledger(migrated_template, tmp_path)


@pytest.fixture
def broker_url(tmp_path) -> str:
    return f"sqla+sqlite:///{tmp_path / 'broker.db'}"


def polled(runtime, storefront: str, at) -> None:
    runtime.ledger.clock = Clock(at)
    with runtime.ledger.transaction() as session:
        repo.set_cursor(session, storefront, "orders", at)


def test_healthz_answers_ok_whatever_the_ledger(tmp_path):
    config = write_config(tmp_path, database_url=f"postgresql://x@127.0.0.1:{closed_port()}/x",
                          broker_url=f"redis://127.0.0.1:{closed_port()}/0")
    response = client_for(runtime_for(config, Clock())).get("/healthz")
    assert response.status_code == 200 and response.text == "ok"


def test_ready_when_ledger_broker_and_order_polls_are_fine(tmp_path, ledger_url, broker_url):
    config = write_config(tmp_path, database_url=ledger_url, broker_url=broker_url,
                          storefronts={"north": 60, "south": 30})
    runtime = runtime_for(config, Clock())
    polled(runtime, "north", T0 - timedelta(seconds=170))  # under 3 intervals of 60 s
    polled(runtime, "south", T0)
    runtime.ledger.clock = Clock(T0)
    response = client_for(runtime).get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ready" and body["failing"] == {}
    assert set(body["checks"]) == {"ledger", "broker", "storefront north", "storefront south"}
    assert body["checks"]["storefront north"]["detail"] == "last successful order poll 170 s ago"


def test_a_stale_or_missing_order_poll_fails_only_its_storefront(tmp_path, ledger_url, broker_url):
    config = write_config(tmp_path, database_url=ledger_url, broker_url=broker_url,
                          storefronts={"north": 60, "south": 60, "west": 60, "paused": 60})
    runtime = runtime_for(config, Clock())
    polled(runtime, "north", T0)
    polled(runtime, "south", T0 - timedelta(seconds=181))
    polled(runtime, "paused", T0 - timedelta(days=1))
    with runtime.ledger.transaction() as session:
        repo.pause_storefront(session, "paused", "paused by a person")
    runtime.ledger.clock = Clock(T0)
    response = client_for(runtime).get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == {
        "storefront south": "last successful order poll 181 s ago, more than 3 polls late "
                            "(one is due every 60 s)",
        "storefront west": "no successful order poll yet (one is due every 60 s)",
    }
    assert response.json()["checks"]["storefront north"]["ok"] is True


def test_not_ready_when_postgresql_refuses(tmp_path, broker_url):
    config = write_config(tmp_path, broker_url=broker_url, storefronts={"north": 60},
                          database_url=f"postgresql://bridge@127.0.0.1:{closed_port()}/bridge")
    response = client_for(runtime_for(config, Clock())).get("/readyz")
    assert response.status_code == 503
    failing = response.json()["failing"]
    assert failing["ledger"] == "failed (OperationalError)"
    # The storefronts cannot be judged without the ledger: said once, not per storefront.
    assert failing["storefronts"] == "failed (OperationalError)"
    assert "broker" not in failing


def test_a_postgresql_that_never_answers_fails_the_probe_at_its_deadline(tmp_path, broker_url):
    with silent_server() as port:
        config = write_config(tmp_path, broker_url=broker_url, storefronts={"north": 60},
                              database_url=f"postgresql://bridge@127.0.0.1:{port}/bridge")
        client = client_for(runtime_for(config, Clock()), seconds=0.3)
        first = client.get("/readyz")
        # Asked again at once: the first check is still waiting, and is not doubled.
        second = client.get("/readyz")
    for response in (first, second):
        assert response.status_code == 503
        # The storefronts are read from the same ledger, which answers nobody.
        assert response.json()["failing"] == {"ledger": "no answer within 0.3 s",
                                              "storefronts": "no answer within 0.3 s"}


def test_not_ready_when_the_broker_is_unreachable(tmp_path, ledger_url):
    config = write_config(tmp_path, database_url=ledger_url,
                          broker_url=f"redis://127.0.0.1:{closed_port()}/0")
    response = client_for(runtime_for(config, Clock())).get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == {"broker": "failed (OperationalError)"}


@pytest.mark.postgres
def test_ready_on_a_postgresql_ledger_and_redis_broker(tmp_path, postgres_url, redis_server):
    from bridge.ledger import migrate

    migrate.upgrade(postgres_url)
    config = write_config(tmp_path, database_url=postgres_url, broker_url=redis_server,
                          storefronts={"north": 60})
    runtime = runtime_for(config, Clock())
    polled(runtime, "north", T0)
    response = client_for(runtime).get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["ledger"] == {"ok": True, "detail": "schema "
                                                   + migrate.head_revision(postgres_url)}


def test_a_check_still_running_is_not_started_again():
    release = threading.Event()
    started: list[int] = []

    def hanging() -> Outcome:
        started.append(1)
        release.wait()
        return Outcome(True, "late but fine")

    deadlines = Deadlines(0.05)
    assert deadlines.run({"slow": hanging}) == {"slow": Outcome(False, "no answer within 0.05 s")}
    assert deadlines.run({"slow": hanging}) == {"slow": Outcome(False, "no answer within 0.05 s")}
    assert len(started) == 1
    release.set()
    for thread in threading.enumerate():
        if thread.name == "bridge-readyz-slow":
            thread.join()
    deadlines.seconds = 5
    assert deadlines.run({"slow": hanging}) == {"slow": Outcome(True, "late but fine")}
    assert len(started) == 2


def test_a_check_that_raises_is_named_by_the_error_kind_only():
    def broken() -> Outcome:
        raise ConnectionError("password=hunter2 at db.internal")

    assert Deadlines(1).run({"ledger": broken}) == {"ledger": Outcome(False, "failed (ConnectionError)")}
