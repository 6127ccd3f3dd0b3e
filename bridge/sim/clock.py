"""The simulated clock. It runs at `factor` simulated seconds per real second from an
anchor, and can be pushed forward by hand. Factor 0 freezes it (tests drive it by hand)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SimClock:
    def __init__(self, factor: float = 1.0, start: float | None = None,
                 real_time=time.time) -> None:
        if factor < 0:
            raise ValueError("clock factor must be >= 0")
        self._real_time = real_time
        self._lock = threading.Lock()
        self._factor = float(factor)
        self._anchor_real = real_time()
        # Whole seconds keep timestamps readable; the lifecycle does not need sub-second starts.
        self._anchor_sim = float(int(start if start is not None else self._anchor_real))

    @property
    def factor(self) -> float:
        return self._factor

    def now(self) -> float:
        """Simulated time as a POSIX timestamp."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> float:
        return self._anchor_sim + (self._real_time() - self._anchor_real) * self._factor

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._anchor_sim = self._now_locked() + seconds
            self._anchor_real = self._real_time()
            return self._anchor_sim

    def set_factor(self, factor: float) -> None:
        if factor < 0:
            raise ValueError("clock factor must be >= 0")
        with self._lock:
            self._anchor_sim = self._now_locked()
            self._anchor_real = self._real_time()
            self._factor = float(factor)

    def snapshot(self) -> dict:
        """What to persist so a restarted simulator carries on from here."""
        with self._lock:
            return {"sim": self._now_locked(), "real": self._real_time(), "factor": self._factor}

    def restore(self, snapshot: dict) -> None:
        """Resume from a snapshot. While the simulator was down the network kept running at
        the saved factor, as Amazon's would; a frozen clock stays where it was."""
        with self._lock:
            real_now = self._real_time()
            downtime = max(0.0, real_now - float(snapshot["real"]))
            self._factor = float(snapshot["factor"])
            self._anchor_sim = float(snapshot["sim"]) + downtime * self._factor
            self._anchor_real = real_now


def iso(timestamp: float) -> str:
    """RFC 3339 UTC with a Z, as SP-API writes dates."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float:
    """Parse an ISO 8601 date-time (Z or offset; no zone means UTC). Raises ValueError."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty date-time")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
