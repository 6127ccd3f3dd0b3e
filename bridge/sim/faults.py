"""Injected faults, so clients can be tested against a network that misbehaves:
extra latency, error statuses, and "drop after act" (the operation is performed, then the
answer is held back longer than any client waits: accepted, but the response was lost)."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass

from bridge.sim.wire import QUOTA_EXCEEDED, SimError

_ERRORS = {
    400: ("InvalidInput", "The request is invalid."),
    403: ("Unauthorized", "Access to requested resource is denied."),
    404: ("NotFound", "The requested resource was not found."),
    429: ("QuotaExceeded", QUOTA_EXCEEDED),
    500: ("InternalFailure", "We encountered an internal error. Please try again."),
    503: ("ServiceUnavailable", "Service temporarily unavailable. Please try again."),
}


@dataclass
class Fault:
    operation: str  # an operationId, or "*" for every operation
    status: int | None = 503
    rate: float = 1.0  # chance that a matching call fails (or is dropped)
    latency: float = 0.0  # seconds added to every matching call
    drop_after_act: bool = False
    count: int | None = None  # how many failures before the fault disarms; None = forever

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if self.latency < 0:
            raise ValueError("latency must be >= 0")
        if self.count is not None and self.count < 0:
            raise ValueError("count must be >= 0")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")


@dataclass
class Decision:
    latency: float = 0.0
    error: SimError | None = None
    drop_after_act: bool = False


def error_for(status: int) -> SimError:
    code, message = _ERRORS.get(status, ("InternalFailure", "The request failed."))
    return SimError(status, code, message)


class FaultBook:
    def __init__(self, seed: int | None = None) -> None:
        self._faults: list[Fault] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def reseed(self, seed: int | None) -> None:
        """Restart the dice: the same seed replays the same failures; None draws afresh."""
        with self._lock:
            self._random.seed(seed)

    def list(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def decide(self, operation_id: str) -> Decision:
        """What to do to this call. Latency applies to every matching call; `rate` is the
        chance of the error (or drop). `count` counts failures, or for a latency-only
        fault the calls it delayed; a fault whose count runs out is removed."""
        decision = Decision()
        with self._lock:
            for fault in self._faults:
                if fault.operation not in ("*", operation_id) or fault.count == 0:
                    continue
                decision.latency += fault.latency
                fails = fault.drop_after_act or bool(fault.status)
                if fails:
                    if decision.error or decision.drop_after_act:
                        continue
                    if self._random.random() >= fault.rate:
                        continue
                    if fault.drop_after_act:
                        decision.drop_after_act = True
                    elif fault.status:  # fails without drop_after_act: a status is set
                        decision.error = error_for(fault.status)
                if fault.count is not None:
                    fault.count -= 1
            self._faults = [f for f in self._faults if f.count != 0]
        return decision
