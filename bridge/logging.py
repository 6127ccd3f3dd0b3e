"""structlog setup: JSON lines when not on a terminal, readable lines on one. Every
line can carry storefront, order and task (bound with `bind_context`). A last processor
replaces any known secret value and any URL password with `***`, wherever it appears."""

from __future__ import annotations

import logging
import re
import sys
from contextlib import contextmanager
from typing import TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from bridge import secrets

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):(?P<pw>[^@/\s]+)@")
_SECRET_KEYS = re.compile(r"(secret|token|password|authorization)", re.IGNORECASE)
REDACTED = "***"
# Where Celery logs each task it receives and each task that succeeds.
PER_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


def redact_text(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('scheme')}:{REDACTED}@", text)
    for value in secrets.known_secrets():
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def _redact_value(key: str, value):
    if isinstance(value, str):
        # A field named like a secret is hidden unless it is a reference (env:/file:).
        if _SECRET_KEYS.search(key) and value and not secrets.is_reference(value):
            return REDACTED
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(key, v) for v in value)
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    return value


def redact_processor(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    return {key: _redact_value(key, value) for key, value in event_dict.items()}


# Set by `log_to`: where every later `configure` in this process writes by default.
_default_stream: TextIO | None = None


def log_to(stream: TextIO) -> None:
    """Send this process's log lines to `stream` from now on, whoever configures logging
    later (a worker builds its runtime, and configures logging, at its first task):
    `bridge run`'s live view has the terminal and its lines go to a file."""
    global _default_stream
    _default_stream = stream


def configure(fmt: str = "auto", level: str = "info", stream=None) -> None:
    """Set up structlog and route the standard library (Celery, SQLAlchemy) through it."""
    stream = stream or _default_stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    renderer = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_processor,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("celery").setLevel(logging.INFO if level in ("debug", "info") else logging.WARNING)
    # Celery's "Task received" and "succeeded" lines come several times a second: on a
    # terminal they drown bridge's own lines, so there they show only at level debug.
    quiet = stream.isatty() and level != "debug"
    for name in PER_TASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING if quiet else logging.NOTSET)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)


@contextmanager
def bind_context(**values):
    """Bind storefront / order / task to every log line inside the block."""
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
