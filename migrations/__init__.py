"""Alembic migrations of the ledger (installed as `bridge.migrations`)."""
