"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest
from logging_support import logging_kept


@pytest.fixture
def logging_restored():
    """For a test that reconfigures logging for the whole process: later tests get it back."""
    with logging_kept():
        yield
