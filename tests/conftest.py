"""Shared fixtures. Tests that need PostgreSQL or Redis use the real servers; when
BRIDGE_REQUIRE_SERVICES=1 (as in CI) a missing server fails the run instead of skipping."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

POSTGRES_URL = os.environ.get(
    "BRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("BRIDGE_REQUIRE_SERVICES") == "1"
SPAPI_MODELS = Path(__file__).resolve().parents[1] / "bridge" / "spapi_models"


def _unavailable(what: str, error: Exception):
    message = f"{what} is not reachable ({error}); set BRIDGE_REQUIRE_SERVICES=1 to make this fail"
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required but not reachable: {error}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any driver error means "not here"
        _unavailable(f"PostgreSQL at {POSTGRES_URL}", exc)
    return POSTGRES_URL


@pytest.fixture
def postgres_schema_factory(postgres_server: str):
    """Makes URLs whose connections each see a fresh, empty schema; all dropped afterwards."""
    import sqlalchemy as sa

    admin = sa.create_engine(postgres_server)
    schemas: list[str] = []

    def make() -> str:
        schema = "t_" + uuid.uuid4().hex[:12]
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        sep = "&" if "?" in postgres_server else "?"
        return f"{postgres_server}{sep}options={quote(f'-csearch_path={schema}')}"

    yield make
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_schema_factory) -> str:
    """A URL whose connections see a fresh, empty schema; dropped afterwards."""
    return postgres_schema_factory()


@pytest.fixture(scope="session")
def redis_server() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:
        _unavailable(f"Redis at {REDIS_URL}", exc)
    return REDIS_URL


@pytest.fixture
def redis_url(redis_server: str):
    """A Redis URL on a database flushed before and after the test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    yield redis_server
    client.flushdb()
    client.close()
