"""One Runtime per worker process, built on first use."""

from __future__ import annotations

import threading

from bridge.bootstrap import Runtime, build_runtime

_runtime: Runtime | None = None
_lock = threading.Lock()


def get() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime()
        return _runtime


def reset() -> None:
    global _runtime
    with _lock:
        _runtime = None
