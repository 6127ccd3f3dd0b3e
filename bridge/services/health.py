"""Flow health: whether each flow of a storefront gets through to its remotes. A run
that fails (a refused certificate, a shop that does not answer, Amazon's 5xx) is
counted with its reason; one that goes through clears the count. A flow failing
`DEGRADED_AFTER` runs in a row marks its storefront degraded in `bridge status`, with
the reason in words, instead of the flow retrying unseen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bridge.ledger import health as health_rows
from bridge.ledger.repo import Ledger

DEGRADED_AFTER = 3
# A success is written at most this often while nothing failed: no write per run.
OK_REFRESH = timedelta(minutes=15)
MAX_ERROR = 500


@dataclass(frozen=True)
class Degraded:
    flow: str
    failures: int
    since: datetime
    error: str


def record_outcome(ledger: Ledger, storefront: str, flow: str, error: BaseException | None,
                   now: Callable[[], datetime] | None = None) -> None:
    at = (now or ledger.clock)()
    with ledger.transaction() as session:
        row = health_rows.flow_health(session, storefront, flow)
        if error is None and row is not None and row.failures == 0 and row.last_ok_at \
                and at - row.last_ok_at < OK_REFRESH:
            return
        if row is None:
            row = health_rows.add_flow_health(session, storefront, flow)
        if error is None:
            row.last_ok_at, row.failures, row.failing_since = at, 0, None
            return
        row.failures += 1
        row.failing_since = row.failing_since or at
        row.last_error = (str(error) or type(error).__name__)[:MAX_ERROR]


def degraded_flows(ledger: Ledger, storefront: str) -> list[Degraded]:
    with ledger.transaction() as session:
        return degraded_flows_in(session, storefront)


def degraded_flows_in(session: Session, storefront: str) -> list[Degraded]:
    # A failing flow always has `failing_since`: it is set with its first failure.
    return [Degraded(r.flow, r.failures, r.failing_since, r.last_error)
            for r in health_rows.failing_flows(session, storefront, DEGRADED_AFTER)
            if r.failing_since is not None]
