"""Helpers for tests that reconfigure logging for the whole process."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from bridge import logging as bridge_logging

# Loggers whose levels `bridge.logging.configure` sets.
_LEVELLED_LOGGERS = ("celery", *bridge_logging.PER_TASK_LOGGERS)
_STANDARD_STREAMS = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)


class Terminal(io.StringIO):
    """A stream that says it is a terminal, so `configure` picks the terminal layout."""

    def isatty(self) -> bool:
        return True


@contextmanager
def logging_kept() -> Iterator[None]:
    """Give back structlog's setup, the root logger, Celery's levels and the stream
    `log_to` chose, however the block reconfigured them."""
    structlog_config = structlog.get_config()
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in _LEVELLED_LOGGERS}
    default_stream = bridge_logging._default_stream
    try:
        yield
    finally:
        structlog.configure(**structlog_config)
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(root_level)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        _restore_default_stream(default_stream)


def _restore_default_stream(saved) -> None:
    current = bridge_logging._default_stream
    # A stream set during the block is a log file `log_to` was handed: nobody else closes it.
    if current is not saved and current is not None and current not in _STANDARD_STREAMS:
        current.close()
    bridge_logging._default_stream = saved
