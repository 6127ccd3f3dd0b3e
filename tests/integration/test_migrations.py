"""The tables module and the Alembic migrations must describe the same schema, on both
databases bridge supports."""


from bridge.ledger import migrate


def _check(url: str) -> None:
    assert migrate.current_revision(url) is None
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision(url)
    assert migrate.differences(url) == []
    migrate.upgrade(url)  # a second upgrade is a no-op


def test_models_and_migrations_agree_on_sqlite(tmp_path):
    _check(f"sqlite:///{tmp_path / 'ledger.db'}")


def test_models_and_migrations_agree_on_postgres(postgres_url):
    _check(postgres_url)


def test_a_model_change_without_migration_is_caught(tmp_path):
    from sqlalchemy import Column, Integer, Table

    from bridge.ledger.tables import metadata

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate.upgrade(url)
    extra = Table("not_migrated", metadata, Column("id", Integer, primary_key=True))
    try:
        assert migrate.differences(url), "an unmigrated table must show as a difference"
    finally:
        metadata.remove(extra)
