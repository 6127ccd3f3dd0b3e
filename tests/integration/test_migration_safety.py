"""Migrations that cannot race, and a `db check` that compares the models with the
database: round trips on both databases, drift named in words, two concurrent upgrades
serialised by one advisory lock held across every migration of a run."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bridge.cli import main
from bridge.invocation import bridge_command
from bridge.ledger import migrate
from bridge.ledger.db import make_engine

ALL_STEPS = 16  # migrations 0001 … 0016


@pytest.fixture(params=["sqlite", "postgres"])
def any_url(request, tmp_path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _execute(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again_ends_with_models_and_database_agreeing(any_url):
    migrate.upgrade(any_url)
    migrate.downgrade(any_url, "base")
    assert migrate.current_revision(any_url) is None
    assert _tables(any_url) <= {"alembic_version"}
    migrate.upgrade(any_url)
    assert migrate.current_revision(any_url) == migrate.head_revision(any_url)
    assert migrate.differences(any_url) == []
    assert migrate.check(any_url).problems == []


def test_check_names_a_dropped_column_and_an_extra_index(any_url):
    migrate.upgrade(any_url)
    _execute(any_url, "ALTER TABLE flow_health DROP COLUMN last_error",
             "CREATE INDEX ix_by_hand ON orders (state, storefront)")
    report = migrate.check(any_url)
    assert "column flow_health.last_error is in the models but not in the database" \
        in report.problems
    assert "index ix_by_hand on orders(state, storefront) is in the database but not in " \
           "the models" in report.problems
    assert "by hand" in report.advice and "migration" in report.advice


def test_check_names_a_missing_table_and_a_changed_type(postgres_url):
    migrate.upgrade(postgres_url)
    _execute(postgres_url, "DROP TABLE flags",
             "ALTER TABLE flow_health ALTER COLUMN last_error TYPE VARCHAR(20)")
    problems = migrate.check(postgres_url).problems
    assert "table flags is in the models but not in the database" in problems
    assert "column flow_health.last_error has type VARCHAR(20) in the database, TEXT in the " \
           "models" in problems


def _db_check(tmp_path, url: str):
    return CliRunner().invoke(main, ["-c", str(tmp_path / "config"), "db", "check"],
                              env={"BRIDGE_DATABASE_URL": url, "COLUMNS": "200"})


def test_bridge_db_check_fails_listing_the_drift_and_what_to_do(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert _db_check(tmp_path, url).exit_code == 1  # not migrated yet
    migrate.upgrade(url)
    clean = _db_check(tmp_path, url)
    assert clean.exit_code == 0 and "match the models" in clean.output
    _execute(url, "CREATE INDEX ix_by_hand ON orders (state)")
    drifted = _db_check(tmp_path, url)
    assert drifted.exit_code == 1
    assert "index ix_by_hand on orders(state) is in the database but not in the models" \
        in drifted.output
    assert "what to do" in drifted.output


def test_check_of_an_old_ledger_says_to_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate.upgrade(url, "0003")
    report = migrate.check(url)
    assert report.problems == [f"ledger at revision 0003, newest is {report.head}"]
    assert report.advice == f"run `{bridge_command()} db upgrade`"


# ---------------------------------------------------------------- the lock (PostgreSQL)


def _lock_holders(url: str) -> list[int]:
    """Backends holding the migration lock of the URL's schema, seen from a new session."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            key = migrate.lock_key(connection)
            return list(connection.execute(sa.text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = :high AND objid = :low AND objsubid = 1"),
                {"high": key >> 32, "low": key & 0xFFFFFFFF}).scalars())
    finally:
        engine.dispose()


def test_the_lock_and_the_timeouts_cover_every_migration_of_a_run(postgres_url):
    from alembic import op

    seen = []

    def step(info) -> None:
        # Runs inside each migration's transaction, on the migrating connection.
        bind = op.get_bind()
        pid = bind.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        seen.append((
            info.up_revision_id,
            pid in _lock_holders(postgres_url),
            bind.execute(sa.text("SHOW lock_timeout")).scalar(),
            bind.execute(sa.text("SHOW statement_timeout")).scalar(),
        ))

    migrate.upgrade(postgres_url, on_step=step)
    assert [revision for revision, *_ in seen] == [f"{n:04d}" for n in range(1, ALL_STEPS + 1)]
    assert all(held for _, held, _, _ in seen), seen
    assert {(lock, statement) for _, _, lock, statement in seen} == {("10s", "10min")}
    assert _lock_holders(postgres_url) == []  # released after the run


def test_a_failed_run_releases_the_lock(postgres_url):
    def fail_at_third(info) -> None:
        if info.up_revision_id == "0003":
            raise RuntimeError("migration failed")

    with pytest.raises(RuntimeError, match="migration failed"):
        migrate.upgrade(postgres_url, on_step=fail_at_third)
    assert migrate.current_revision(postgres_url) == "0002"  # each migration commits alone
    assert _lock_holders(postgres_url) == []
    migrate.upgrade(postgres_url)
    assert migrate.check(postgres_url).problems == []


@pytest.fixture
def held_lock(postgres_url):
    """The test itself holds the schema's migration lock, as a running deploy would."""
    engine = make_engine(postgres_url)
    connection = engine.connect()
    connection.execute(sa.text("SELECT pg_advisory_lock(:key)"),
                       {"key": migrate.lock_key(connection)})
    connection.commit()

    def release() -> None:
        if not connection.closed:
            connection.close()  # ends the session, and with it the lock
            engine.dispose()

    yield release
    release()


def test_the_wait_for_the_lock_is_bounded(postgres_url, held_lock):
    started = time.monotonic()
    with pytest.raises(migrate.MigrationLockTimeout, match="migration lock"):
        migrate.upgrade(postgres_url, lock_wait_seconds=1)
    assert time.monotonic() - started < 10
    assert _tables(postgres_url) == set()


def _waiting_on_advisory_lock(url: str, application: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
                " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"),
                {"name": application}).scalar()
    finally:
        engine.dispose()


def test_two_concurrent_upgrades_queue_and_both_end_well(postgres_url, held_lock):
    application = "migrate-" + uuid.uuid4().hex[:8]
    url = f"{postgres_url}&application_name={application}"
    script = "import sys; from bridge.ledger import migrate; migrate.upgrade(sys.argv[1])"
    runs = [subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        # Both queue behind the lock the test holds.
        while _waiting_on_advisory_lock(postgres_url, application) < 2:
            assert time.monotonic() < deadline, "the upgrades never reached the lock"
            assert all(run.poll() is None for run in runs), [r.stderr.read() for r in runs]
            time.sleep(0.1)
        assert _tables(postgres_url) == set()  # neither touched the schema meanwhile
        held_lock()  # both now race for it at the same moment
        results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
    assert [code for code, _ in results] == [0, 0], results
    report = migrate.check(postgres_url)
    assert report.current == report.head and report.problems == []


def test_the_schedule_table_comes_with_0009_and_goes_with_its_downgrade(any_url):
    migrate.upgrade(any_url, "0008")
    assert "schedule" not in _tables(any_url)
    migrate.upgrade(any_url)
    engine = make_engine(any_url)
    try:
        inspector = sa.inspect(engine)
        assert inspector.get_pk_constraint("schedule")["constrained_columns"] == ["storefront", "flow"]
        assert {(ix["name"], tuple(ix["column_names"])) for ix in inspector.get_indexes("schedule")} \
            == {("ix_schedule_due", ("next_due_at",))}
    finally:
        engine.dispose()
    assert migrate.differences(any_url) == []
    migrate.downgrade(any_url, "0008")
    assert "schedule" not in _tables(any_url)
