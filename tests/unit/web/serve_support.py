"""Runtimes for the `bridge serve` tests: a configuration folder written here, a SQLite
ledger migrated once per module and copied per test, a clock the test sets, and the
addresses of servers that refuse or never answer."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.bootstrap import Runtime
from bridge.config import load_config
from bridge.ledger import migrate
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)

STOREFRONT = """
name = "{name}"
order_id_prefix = "{prefix}"
[cart]
platform = "sql"
url = "sqlite:///store.db"
[fulfillment]
client_id = "{client_id}"
client_secret = "env:X"
refresh_token = "env:Y"
[poll]
orders_seconds = {orders_seconds}
"""


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module", name="migrated_template")
def migrated_template_fixture(tmp_path_factory) -> Path:
    """A SQLite ledger migrated once per test module (import it into the module)."""
    path = tmp_path_factory.mktemp("serve-ledger") / "ledger.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def copy_ledger(template: Path, folder: Path) -> str:
    for sibling in template.parent.glob(template.name + "*"):  # the file and any WAL files
        shutil.copy(sibling, folder / sibling.name)
    return f"sqlite:///{folder / template.name}"


def write_config(root: Path, *, database_url: str, broker_url: str,
                 storefronts: dict[str, float] | None = None,
                 client_ids: dict[str, str] | None = None) -> Path:
    """A configuration folder: `storefronts` maps a name to its order poll interval."""
    folder = root / "config"
    (folder / "storefronts").mkdir(parents=True, exist_ok=True)
    (folder / "bridge.toml").write_text(
        f'database_url = "{database_url}"\nbroker_url = "{broker_url}"\n')
    for index, (name, seconds) in enumerate((storefronts or {}).items()):
        (folder / "storefronts" / f"{name}.toml").write_text(STOREFRONT.format(
            name=name, prefix=f"P{index}", orders_seconds=seconds,
            client_id=(client_ids or {}).get(name, "id")))
    return folder


def runtime_for(config_dir: Path, clock: Clock) -> Runtime:
    config = load_config(config_dir)
    return Runtime(config=config, ledger=Ledger(make_engine(config.settings.database_url), clock))


def closed_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def silent_server() -> Iterator[int]:
    """A server that accepts connections and never says a word (a stopped database):
    yields its port; every connection is closed when the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()
