"""The state store: JSON documents by (kind, key), held in memory for speed and written
through to SQLite so a simulator given a file survives restarts.

Kinds in use: "order", "sku", "package", "idempotency", "meta". New APIs add kinds, not
tables. All access goes through `transaction()`, which holds one re-entrant lock: the
store is safe to share between the server's threads and a test's thread.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

_metadata = sa.MetaData()
documents = sa.Table(
    "sim_documents",
    _metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
)


class Store:
    def __init__(self, db_path: str | None = None) -> None:
        if db_path:
            self._engine = sa.create_engine(f"sqlite:///{db_path}")
        else:
            self._engine = sa.create_engine(
                "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        _metadata.create_all(self._engine)
        self._lock = threading.RLock()
        self._docs: dict[str, dict[str, dict]] = {}
        self._dirty: dict[tuple[str, str], dict | None] = {}
        self._depth = 0
        self._load()

    def _load(self) -> None:
        with self._engine.connect() as conn:
            for kind, key, body in conn.execute(sa.select(documents)):
                self._docs.setdefault(kind, {})[key] = json.loads(body)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock; write every change made inside to disk in one commit on exit.
        Nested use joins the outer transaction. An exception discards nothing already
        changed in memory, so handlers validate before they mutate."""
        with self._lock:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._flush()

    def _flush(self) -> None:
        if not self._dirty:
            return
        with self._engine.begin() as conn:
            for (kind, key), body in self._dirty.items():
                conn.execute(documents.delete().where(
                    documents.c.kind == kind, documents.c.key == key))
                if body is not None:
                    conn.execute(documents.insert().values(
                        kind=kind, key=key, body=json.dumps(body, separators=(",", ":"))))
        self._dirty.clear()

    def get(self, kind: str, key: str) -> dict | None:
        with self._lock:
            return self._docs.get(kind, {}).get(key)

    def put(self, kind: str, key: str, body: dict) -> None:
        with self.transaction():
            self._docs.setdefault(kind, {})[key] = body
            self._dirty[(kind, key)] = body

    def touch(self, kind: str, key: str) -> None:
        """Mark a document changed in place (fetched with get and edited)."""
        with self.transaction():
            self._dirty[(kind, key)] = self._docs[kind][key]

    def delete(self, kind: str, key: str) -> None:
        with self.transaction():
            if self._docs.get(kind, {}).pop(key, None) is not None:
                self._dirty[(kind, key)] = None

    def all(self, kind: str) -> list[dict]:
        with self._lock:
            return list(self._docs.get(kind, {}).values())

    def items(self, kind: str) -> list[tuple[str, dict]]:
        """(key, document) pairs of a kind."""
        with self._lock:
            return list(self._docs.get(kind, {}).items())

    def count(self, kind: str) -> int:
        with self._lock:
            return len(self._docs.get(kind, {}))

    def clear(self, keep: tuple[str, ...] = ()) -> None:
        """Forget every document except the kinds in `keep`."""
        with self.transaction():
            for kind in list(self._docs):
                if kind in keep:
                    continue
                for key in self._docs.pop(kind):
                    self._dirty[(kind, key)] = None

    def copy_of(self, kind: str, key: str) -> dict | None:
        """A deep copy, for callers that hand a document outside the lock."""
        with self._lock:
            doc = self.get(kind, key)
            return copy.deepcopy(doc) if doc is not None else None

    def close(self) -> None:
        with self._lock:
            self._flush()
            self._engine.dispose()
