"""Constants and helpers the service integration tests share (the fixtures are in
conftest.py). A module of its own name, so tests can import it wherever they run from."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bridge import demo_store
from bridge.bootstrap import build_runtime
from bridge.carts.registry import adapter_class
from bridge.cli import main
from bridge.config import StorefrontConfig
from bridge.demo import write_config
from bridge.ledger.tables import utcnow
from bridge.services.ingest import ingest_orders
from bridge.services.order_views import OrderSummary
from bridge.services.orders import list_orders

SKUS = ("MUG-BLUE", "MUG-RED", "TEE-M", "TEE-L", "CAP-01")

# The simulator's default lifecycle, in simulated seconds.
RECEIVED_SECONDS, PLANNING_SECONDS, PROCESSING_SECONDS = 30, 60, 120
TO_PLANNING = RECEIVED_SECONDS + 1
TO_PROCESSING = RECEIVED_SECONDS + PLANNING_SECONDS + 1
TO_COMPLETE = RECEIVED_SECONDS + PLANNING_SECONDS + PROCESSING_SECONDS + 1

# A dropped answer is held this long: longer than the short client timeout the
# timeout tests use, short enough not to slow the suite.
DROP_SECONDS = 3.0

both_ledgers = pytest.mark.parametrize("ledger_backend", ["sqlite", "postgres"], indirect=True)
postgres_ledger = pytest.mark.parametrize("ledger_backend", ["postgres"], indirect=True)


def make_cart(storefront: StorefrontConfig):
    return adapter_class(storefront.cart.platform).from_settings(
        storefront.cart.settings(), storefront.secret
    )


def with_policy(storefront: StorefrontConfig, **changes) -> StorefrontConfig:
    """The same storefront with some policy settings changed (configs are frozen)."""
    return storefront.model_copy(update={"policy": storefront.policy.model_copy(update=changes)})


def with_fulfillment(storefront: StorefrontConfig, **changes) -> StorefrontConfig:
    return storefront.model_copy(
        update={"fulfillment": storefront.fulfillment.model_copy(update=changes)}
    )


def sweep_now_and_everything_stale():
    """Arguments for `sweep` that treat every row in a working state as stale."""
    return {"stale_after": timedelta(0), "now": utcnow() + timedelta(seconds=1)}


# ---------------------------------------------------------------- the `bridge` command

def bridge(config_dir: Path, *args: str) -> Result:
    """`bridge -c CONFIG_DIR ARGS…` through click's runner."""
    return CliRunner().invoke(main, ["-c", str(config_dir), *args], catch_exceptions=False)


def setup_demo(tmp_path: Path, extra: str = "", template: str | None = None) -> tuple[Path, str]:
    """The demo configuration with `extra` added to its storefront file (and another
    comment template), and an empty SQL demo store. Returns (config folder, store URL)."""
    config_dir = write_config(tmp_path, "http://127.0.0.1:9")  # Amazon is not called here
    path = config_dir / "storefronts" / "demo.toml"
    text = path.read_text() + extra
    if template is not None:
        text = re.sub(r'comment_template = ".*"', f'comment_template = "{template}"', text)
    path.write_text(text)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store.create_schema(store)
    return config_dir, store


def poll(config_dir: Path, storefront: str = "demo") -> None:
    """One order poll through the service the worker runs."""
    runtime = build_runtime(config_dir, configure_logging=False)
    try:
        ingest_orders(runtime.ledger, runtime.cart(storefront), runtime.storefront(storefront))
    finally:
        runtime.close()


def rows_by_number(config_dir: Path) -> dict[str, OrderSummary]:
    """Every order in the ledger, by its number in the shop."""
    runtime = build_runtime(config_dir, configure_logging=False)
    try:
        return {row.number: row for row in list_orders(runtime.ledger, None, None, 1000)}
    finally:
        runtime.close()
