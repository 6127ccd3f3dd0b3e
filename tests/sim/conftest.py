"""Fixtures for the simulator's tests: one simulator per session on a free port, reset
before each test."""

from __future__ import annotations

import pytest
from sim_helpers import SpApi

from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer


@pytest.fixture(scope="session")
def sim_server():
    with SimServer(SimConfig(clock_factor=0, rate_limits=False, drop_seconds=3)) as server:
        yield server


@pytest.fixture
def sim(sim_server: SimServer) -> SimServer:
    """The session's simulator, emptied, clock frozen, rate limits off."""
    sim_server.admin.reset()
    sim_server.admin.set_clock_factor(0)
    sim_server.admin.set_rate_limits(enabled=False)
    return sim_server


@pytest.fixture
def api(sim: SimServer) -> SpApi:
    return SpApi(sim.base_url, sim.access_token())
