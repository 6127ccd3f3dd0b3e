"""Celery conventions an operator relies on: task events for Flower, and Celery's
per-task lines kept off a terminal unless bridge logs at debug."""

import io
import logging

import pytest
from logging_support import Terminal

from bridge.config import load_config
from bridge.logging import PER_TASK_LOGGERS, configure
from bridge.worker.app import celery_settings

pytestmark = pytest.mark.usefixtures("logging_restored")


def test_task_events_are_sent_for_flower(tmp_path):
    (tmp_path / "bridge.toml").write_text("")
    settings = celery_settings(load_config(tmp_path))
    assert settings["worker_send_task_events"] is True
    assert settings["task_send_sent_event"] is True


def _per_task_lines_shown() -> list[bool]:
    return [logging.getLogger(name).isEnabledFor(logging.INFO) for name in PER_TASK_LOGGERS]


def test_per_task_lines_are_hidden_on_a_terminal_at_info():
    configure("auto", "info", Terminal())
    assert _per_task_lines_shown() == [False, False]
    assert logging.getLogger("celery.worker").isEnabledFor(logging.INFO)  # "ready", errors


def test_per_task_lines_show_on_a_terminal_at_debug():
    configure("auto", "debug", Terminal())
    assert _per_task_lines_shown() == [True, True]


def test_per_task_lines_stay_in_log_files_and_pipes():
    configure("auto", "info", io.StringIO())
    assert _per_task_lines_shown() == [True, True]


def test_a_received_line_from_celery_reaches_a_pipe_but_not_a_terminal():
    pipe, terminal = io.StringIO(), Terminal()
    configure("auto", "info", pipe)
    logging.getLogger("celery.worker.strategy").info("Task %s[%s] received", "bridge.submit", "1")
    configure("console", "info", terminal)
    logging.getLogger("celery.worker.strategy").info("Task %s[%s] received", "bridge.submit", "2")
    assert "bridge.submit" in pipe.getvalue()
    assert "bridge.submit" not in terminal.getvalue()
