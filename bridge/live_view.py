"""`bridge run` on a terminal: a compact view, refreshed every few seconds, of each
storefront's orders by state, its last poll and what needs a person, while the log lines
go to a file. Reading is `storefront_status` (what `bridge status` shows); drawing is
`render`, a pure function of what was read and the time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bridge.domain.states import OrderState as S
from bridge.ledger.repo import Ledger
from bridge.logging import get_logger
from bridge.services.orders import StorefrontStatus, storefront_status

log = get_logger("bridge.live_view")

REFRESH_SECONDS = 3.0
# Where `bridge run` writes its log lines while the view has the terminal.
LOG_FILE = Path("var") / "bridge.log"
# Left to right, the way an order goes; states not listed follow by name.
STATE_ORDER = (S.RECEIVED, S.READY, S.SUBMITTING, S.SUBMIT_UNKNOWN, S.ACCEPTED, S.PROCESSING,
               S.SHIPPED, S.COMPLETE, S.UPDATE_REQUESTED, S.CANCEL_REQUESTED, S.ON_HOLD,
               S.NEEDS_ATTENTION, S.CANCELLED, S.IGNORED)
ATTENTION_STATES = (S.NEEDS_ATTENTION, S.ON_HOLD)


def wanted(stream: TextIO) -> bool:
    """The view takes the terminal only when there is one: a service manager, a pipe or
    a container keeps the log lines on stdout/stderr."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _state_counts(counts: dict[str, int]) -> str:
    # Held and needs-attention orders are counted under "needs a person".
    known = [str(state) for state in STATE_ORDER if state not in ATTENTION_STATES]
    shown = {state: count for state, count in counts.items()
             if count and state not in ATTENTION_STATES}
    ordered = [state for state in known if state in shown]
    ordered += sorted(state for state in shown if state not in known)
    return "  ".join(f"{state} {counts[state]}" for state in ordered) or "none open"


def _attention(status: StorefrontStatus) -> str:
    parts = []
    if status.paused:
        parts.append(f"[red]paused: {escape(status.paused)}[/red]")
    for flow in status.degraded:
        parts.append(f"[red]{escape(flow.flow)} failing ×{flow.failures}[/red]")
    attention = status.counts.get(S.NEEDS_ATTENTION, 0)
    if attention:
        reasons = ", ".join(f"{escape(reason)} {count}"
                            for reason, count in sorted(status.attention_reasons.items()))
        parts.append(f"[yellow]{attention} need attention[/yellow]"
                     + (f" ({reasons})" if reasons else ""))
    held = status.counts.get(S.ON_HOLD, 0)
    if held:
        parts.append(f"[yellow]{held} held[/yellow]")
    if status.stalled:
        parts.append(f"[yellow]{len(status.stalled)} stalled[/yellow]")
    if status.flags:
        parts.append(f"[yellow]{len(status.flags)} flagged[/yellow]")
    if status.drifted_skus:
        parts.append(f"{status.drifted_skus} SKUs drifted")
    return "; ".join(parts) or "[green]nothing[/green]"


def render(statuses: Sequence[StorefrontStatus], now: datetime, log_file: str,
           stale_since: datetime | None = None) -> Table:
    """The view for one refresh: a row per storefront. `stale_since`: when `statuses`
    were read, while the ledger does not answer."""
    caption = f"log: {escape(log_file)} · Ctrl-C stops (running tasks finish first)"
    if stale_since is not None:
        caption = f"[yellow](stale since {stale_since:%H:%M:%S})[/yellow] · {caption}"
    table = Table(title=f"bridge run — {now:%Y-%m-%d %H:%M:%S} UTC", title_justify="left",
                  caption=caption, caption_justify="left", expand=True)
    table.add_column("storefront", no_wrap=True)
    table.add_column("open orders by state", ratio=1)
    table.add_column("last poll", no_wrap=True)
    table.add_column("needs a person", ratio=1)
    for status in statuses:
        table.add_row(escape(status.name), _state_counts(status.counts),
                      _ago(status.last_order_poll, now), _attention(status))
    if not statuses:
        table.add_row("-", "no storefront is enabled", "", "")
    return table


def read(ledger: Ledger, names: Sequence[str]) -> list[StorefrontStatus]:
    return [storefront_status(ledger, name, attention_limit=0, oldest=0) for name in names]


class RunView:
    """Redraws the view from the ledger every `refresh_seconds` on a thread of its own,
    until `stop`. While reads fail (the ledger restarting) the last picture stays, marked
    stale, and the failure is logged once per kind of error."""

    def __init__(self, ledger: Ledger, names: Sequence[str], log_file: str,
                 clock: Callable[[], datetime], console: Console | None = None,
                 refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.ledger, self.names, self.log_file = ledger, list(names), log_file
        self.clock, self.refresh_seconds = clock, refresh_seconds
        self.console = console or Console()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_read: tuple[list[StorefrontStatus], datetime] | None = None
        self._failing_with: str | None = None  # the kind of error reads fail with now

    def frame(self) -> Table | Text:
        now = self.clock()
        try:
            statuses = read(self.ledger, self.names)
        except Exception as error:  # noqa: BLE001 - the ledger may be briefly away
            self._note_failure(error)
            if self._last_read is None:
                return Text(f"bridge run: the ledger does not answer yet (log: {self.log_file})")
            statuses, read_at = self._last_read
            return render(statuses, now, self.log_file, stale_since=read_at)
        self._failing_with = None
        self._last_read = (statuses, now)
        return render(statuses, now, self.log_file)

    def _note_failure(self, error: Exception) -> None:
        # A warning when reads start failing or fail differently, not one every refresh.
        kind = type(error).__name__
        if kind != self._failing_with:
            self._failing_with = kind
            log.warning("live_view_read_failed", error=kind,
                        detail=str(error).partition("\n")[0][:200])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="bridge-live-view", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=self.refresh_seconds + 5)

    def _loop(self) -> None:
        first: Table | Text = Text(f"bridge run: reading the ledger … (log: {self.log_file})")
        with Live(first, console=self.console, auto_refresh=False,
                  redirect_stderr=False) as live:
            while not self._stopped.is_set():
                live.update(self.frame(), refresh=True)
                self._stopped.wait(self.refresh_seconds)
