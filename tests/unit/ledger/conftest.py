"""An in-memory SQLite ledger (tables straight from the models) for the ledger's query
functions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.pool import StaticPool

from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Base


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    # One connection for the whole test: an in-memory database lives as long as it.
    engine = make_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    yield Ledger(engine)
    engine.dispose()
