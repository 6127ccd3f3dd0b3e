"""The probes of `bridge serve`.

- `/healthz`: the process answers (200 "ok"); nothing else is looked at.
- `/readyz`: bridge can do its work: the ledger answers a query, the broker accepts a
  connection, and every enabled storefront that is not paused has polled its orders
  successfully within `POLL_INTERVALS` of its order poll interval (as the watchdog
  judges it). 200 with every check, else 503 naming each failing check in words.

Every check has a total deadline: it runs on a thread of its own, and one that has not
answered in time fails ("no answer within 3 s") while the probe answers. A check still
running from an earlier probe is not started again (it fails with the same words), so a
hanging database never piles up threads. Both probes are public (orchestrators cannot
log in), so failures name what failed, never a host, URL or the driver's message."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bridge.bootstrap import Runtime
from bridge.config import StorefrontConfig
from bridge.ledger import repo
from bridge.ledger.db import is_sqlite, make_engine
from bridge.logging import get_logger
from bridge.services.ingest import FLOW as ORDERS_FLOW
from bridge.services.watchdog import Thresholds, poll_late

log = get_logger("bridge.web.health")

CHECK_SECONDS = 3.0
# A storefront's order poll is late after this many of its intervals (as the watchdog's
# `poll_overdue` judges it, through the same `poll_late`).
POLL_INTERVALS = Thresholds().poll_intervals


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str
    # A check made of several (one per storefront): each part's outcome by name.
    parts: dict[str, Outcome] = field(default_factory=dict)


class Deadlines:
    """Runs each named check on its own thread, waiting for all of them together at most
    `seconds`; a check whose previous run is still going is not run again."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}

    def run(self, checks: dict[str, Callable[[], Outcome]]) -> dict[str, Outcome]:
        results: dict[str, Outcome] = {}
        started: dict[str, threading.Thread] = {}
        for name, check in checks.items():
            with self._lock:
                previous = self._running.get(name)
                if previous is not None and previous.is_alive():
                    results[name] = self._late()
                    continue
                thread = threading.Thread(target=self._guarded, args=(name, check, results),
                                          name=f"bridge-readyz-{name}", daemon=True)
                self._running[name] = started[name] = thread
            thread.start()
        end = time.monotonic() + self.seconds
        for name, thread in started.items():
            thread.join(max(0.0, end - time.monotonic()))
            # A check that answers later writes nothing: the probe has answered.
            results.setdefault(name, self._late())
        return {name: results[name] for name in checks}

    def _late(self) -> Outcome:
        return Outcome(False, f"no answer within {self.seconds:g} s")

    @staticmethod
    def _guarded(name: str, check: Callable[[], Outcome], results: dict[str, Outcome]) -> None:
        try:
            outcome = check()
        except Exception as failure:
            log.warning("readiness_check_failed", check=name, error=type(failure).__name__)
            outcome = Outcome(False, f"failed ({type(failure).__name__})")
        results.setdefault(name, outcome)


def probe_engine(engine: Engine, seconds: float) -> Engine:
    """An engine for reading the ledger under a deadline: on PostgreSQL a connection of
    its own per read, with a connect timeout (a probe must not keep connections nor wait
    behind the app's pool); SQLite, a file on this machine, through the app's engine."""
    if is_sqlite(engine):
        return engine
    url = engine.url.render_as_string(hide_password=False)
    # Past the deadline: the deadline answers the probe, this only ends a stuck thread.
    return make_engine(url, poolclass=NullPool, pool_pre_ping=False,
                       connect_args={"connect_timeout": math.ceil(seconds) + 2})


@contextmanager
def probe_session(engine: Engine, seconds: float) -> Iterator[Session]:
    """A transaction on a probe engine; on PostgreSQL every statement is cut at `seconds`,
    so a read that hangs ends on the server's side too."""
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "postgresql":
            session.execute(text(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}"))
        yield session


def ledger_answers(engine: Engine, seconds: float) -> Outcome:
    with probe_session(engine, seconds) as session:
        version = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if not version:
        return Outcome(False, "the ledger has no schema yet: run `bridge db upgrade`")
    return Outcome(True, f"schema {version}")


def broker_reachable(broker_url: str, seconds: float) -> Outcome:
    from kombu import Connection  # kombu comes with Celery; only the probe needs it here

    with Connection(broker_url, connect_timeout=seconds) as connection:
        connection.ensure_connection(max_retries=0)
    return Outcome(True, "connected")


def storefronts_polled(session: Session, storefronts: Sequence[StorefrontConfig],
                       now: datetime) -> dict[str, Outcome]:
    """Each storefront's last successful order poll against its interval; paused ones
    are left out (a person paused them, or a fatal error did and `bridge status` says so)."""
    outcomes: dict[str, Outcome] = {}
    for storefront in storefronts:
        if repo.is_paused(session, storefront.name) is not None:
            continue
        cursor = repo.get_cursor(session, storefront.name, ORDERS_FLOW)
        interval = storefront.poll.orders_seconds
        if cursor is None:
            outcomes[storefront.name] = Outcome(
                False, f"no successful order poll yet (one is due every {interval:g} s)")
            continue
        age = (now - cursor.last_run_at).total_seconds()
        ok = not poll_late(cursor.last_run_at, now, interval, POLL_INTERVALS)
        outcomes[storefront.name] = Outcome(
            ok, f"last successful order poll {age:.0f} s ago"
            + ("" if ok else f", more than {POLL_INTERVALS} polls late "
                             f"(one is due every {interval:g} s)"))
    return outcomes


class Probes:
    def __init__(self, runtime: Runtime, seconds: float = CHECK_SECONDS) -> None:
        self.runtime = runtime
        self.seconds = seconds
        self.deadlines = Deadlines(seconds)
        self.engine = probe_engine(runtime.ledger.engine, seconds)  # connects only when used

    def readiness(self) -> dict[str, Outcome]:
        runtime = self.runtime
        storefronts = list(runtime.storefronts.values())

        def storefront_check() -> Outcome:
            with probe_session(self.engine, self.seconds) as session:
                polled = storefronts_polled(session, storefronts, runtime.ledger.clock())
            late = [name for name, outcome in polled.items() if not outcome.ok]
            return Outcome(not late, f"late: {', '.join(late)}" if late else "polled", polled)

        outcomes = self.deadlines.run({
            "ledger": lambda: ledger_answers(self.engine, self.seconds),
            "broker": lambda: broker_reachable(runtime.config.settings.broker_url, self.seconds),
            "storefronts": storefront_check,
        })
        # One line per storefront when their check answered, else the check's own words.
        checks = {name: outcome for name, outcome in outcomes.items() if name != "storefronts"}
        polled = outcomes["storefronts"].parts
        checks.update({f"storefront {name}": outcome for name, outcome in sorted(polled.items())})
        if not polled and not outcomes["storefronts"].ok:
            checks["storefronts"] = outcomes["storefronts"]
        return checks

    async def healthz(self, request: Request) -> Response:
        # On the event loop: liveness never waits for a thread that checks or webhooks hold.
        return PlainTextResponse("ok")

    def readyz(self, request: Request) -> Response:
        checks = self.readiness()
        failing = {name: outcome.detail for name, outcome in checks.items() if not outcome.ok}
        body = {
            "status": "not ready" if failing else "ready",
            "failing": failing,
            "checks": {name: {"ok": outcome.ok, "detail": outcome.detail}
                       for name, outcome in checks.items()},
        }
        return JSONResponse(body, status_code=503 if failing else 200,
                            headers={"cache-control": "no-store"})

    def routes(self) -> list[BaseRoute]:
        # readyz is a plain function: Starlette runs it on its thread pool, so waiting for
        # a check never blocks the event loop.
        return [Route("/healthz", self.healthz, methods=["GET", "HEAD"]),
                Route("/readyz", self.readyz, methods=["GET", "HEAD"])]


def routes(runtime: Runtime) -> Sequence[BaseRoute]:
    return Probes(runtime).routes()
