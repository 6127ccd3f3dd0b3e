"""Constants and helpers the service integration tests share (the fixtures are in
conftest.py). A module of its own name, so tests can import it wherever they run from."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bridge.carts.registry import adapter_class
from bridge.config import StorefrontConfig
from bridge.ledger.tables import utcnow

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
