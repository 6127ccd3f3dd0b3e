"""One simulated fulfillment network: the clock, the store and everything built on them.
The HTTP layer (app.py) and the admin API drive it; tests may also hold it directly."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from bridge.sim.apis import all_operations
from bridge.sim.auth import Lwa
from bridge.sim.clock import SimClock, iso
from bridge.sim.config import SimConfig
from bridge.sim.faults import FaultBook
from bridge.sim.inbound.network import InboundNetwork
from bridge.sim.inventory.stock import StockBook, rekey_legacy
from bridge.sim.operations import Operation, rate_limits
from bridge.sim.outbound.fulfillment import Fulfillment
from bridge.sim.ratelimit import RateLimiter
from bridge.sim.state import Store

# Kinds that survive a reset: the signing secret and counters (so tokens stay valid and
# package numbers stay unique for the simulator's whole life) and issued refresh tokens.
_KEPT_ON_RESET = ("meta", "refresh_token")
_CLOCK_SAVE_INTERVAL = 1.0  # real seconds between clock snapshots written while running


class CallStats:
    """How often each operation was called and how it was answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, int] = defaultdict(int)
        self._statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def called(self, operation_id: str) -> None:
        with self._lock:
            self._calls[operation_id] += 1

    def answered(self, operation_id: str, status: int) -> None:
        with self._lock:
            self._statuses[operation_id][str(status)] += 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._statuses.clear()

    def snapshot(self) -> dict:
        with self._lock:
            return {op: {"calls": count, "statuses": dict(self._statuses.get(op, {}))}
                    for op, count in sorted(self._calls.items())}


class Simulator:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.store = Store(self.config.db_path)
        self.clock = SimClock(self.config.clock_factor)
        saved_clock = self.store.get("meta", "clock")
        if saved_clock:
            # Carry on from the saved time, at the speed asked for now.
            self.clock.restore(saved_clock)
            self.clock.set_factor(self.config.clock_factor)
        self._clock_saved_at = 0.0
        self.lwa = Lwa(self.config, self.store)
        rekey_legacy(self.store)
        # The simulator's own marketplace's book; `stock.at(id)` reaches the others.
        self.stock = StockBook(self.store, self.config.marketplace_id,
                               self.config.default_fulfillment_center)
        self.fulfillment = Fulfillment(self.store, self.stock, self.config)
        self.inbound = InboundNetwork(self.store, self.stock, self.config)
        self.operations: list[Operation] = all_operations()
        self.limiter = RateLimiter(rate_limits(self.operations, self.config.rate_limit_overrides,
                                               self.config.rate_limit_profile),
                                   enabled=self.config.rate_limits)
        self.faults = FaultBook(self.config.fault_seed)
        self.stats = CallStats()

    # -- time -----------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def sync(self) -> float:
        """Bring every order up to the current simulated time; returns that time."""
        with self.store.transaction():
            now = self.clock.now()
            self._advance_network(now)
            if time.monotonic() - self._clock_saved_at >= _CLOCK_SAVE_INTERVAL:
                self._save_clock()
            return now

    def advance(self, seconds: float) -> float:
        with self.store.transaction():
            self.sync()
            now = self.clock.advance(seconds)
            self._advance_network(now)
            self._save_clock()
            return now

    def _advance_network(self, now: float) -> None:
        """Orders and inbound shipments, in time order: units received at some moment are
        on the shelf for the orders that plan after it, and not for those before."""
        while (due := self.inbound.next_due()) is not None and due <= now:
            self.fulfillment.advance_to(due)
            self.inbound.advance_to(due)
        self.fulfillment.advance_to(now)

    def set_clock_factor(self, factor: float) -> None:
        with self.store.transaction():
            self.sync()
            self.clock.set_factor(factor)
            self._save_clock()

    def _save_clock(self) -> None:
        self.store.put("meta", "clock", self.clock.snapshot())
        self._clock_saved_at = time.monotonic()

    def clock_view(self) -> dict:
        now = self.now()
        return {"now": iso(now), "timestamp": now, "factor": self.clock.factor}

    # -- whole-network commands -------------------------------------------------------------

    def reset(self, seed: int | None = None) -> None:
        """Forget orders, stock, faults and call counts, and put the rate limits back as
        configured; the clock keeps its time. The fault dice restart from `seed`, or from
        the configured one, as at start-up."""
        with self.store.transaction():
            self.store.clear(keep=_KEPT_ON_RESET)
            self.fulfillment.rebuild()
            self.inbound.rebuild()
        self.faults.clear()
        self.faults.reseed(seed if seed is not None else self.config.fault_seed)
        self.stats.reset()
        self.limiter.restore()

    def set_stock(self, levels: dict[str, int], marketplace_id: str | None = None) -> None:
        """Absolute fulfillable levels in one marketplace (the simulator's own when None)."""
        with self.store.transaction():
            now = self.sync()
            book = self.stock.at(marketplace_id)
            for sku, quantity in levels.items():
                book.set_fulfillable(sku, quantity, now)

    def close(self) -> None:
        with self.store.transaction():
            self._save_clock()
        self.store.close()
