"""Default rate limits per operation, from one of two profiles:

- "model": the "Usage Plan" table in each operation's description in Amazon's models;
- "docs" (the default): the same, except where Amazon's current documentation (its
  rate-limit pages and changelog) states another value. Every such difference is listed
  here with its source, and in docs/simulator.md.

Operations whose plan the model leaves blank ("n | n") have no limit in either profile.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.sim.operations import Operation

MODEL = "model"
DOCS = "docs"
PROFILES = (DOCS, MODEL)

_DOCS_PAGES = "https://developer-docs.amazon.com/sp-api/docs/"
OUTBOUND_LIMITS_PAGE = _DOCS_PAGES + "fulfillment-outbound-api-rate-limits"
INBOUND_LIMITS_PAGE = _DOCS_PAGES + "fulfillment-inbound-api-rate-limits"
INBOUND_RAISE_2025_06_25 = ("https://developer-docs.amazon.com/sp-api/changelog/"
                            "update-rate-limit-increase-for-some-fulfillment-inbound-api-"
                            "operations")


@dataclass(frozen=True)
class DocumentedLimit:
    rate: float   # requests per second
    burst: int
    source: str   # where Amazon states it


# Where the documentation differs from the model. The 2025-06-25 changelog raises the
# rate only ("five requests per second, up from their previous limit of two"), so those
# operations keep the model's burst.
DOCUMENTED: dict[str, DocumentedLimit] = {
    "deliveryOffers": DocumentedLimit(10.0, 30, OUTBOUND_LIMITS_PAGE),
    "getLabels": DocumentedLimit(5.0, 30, INBOUND_LIMITS_PAGE),
    "getShipment": DocumentedLimit(5.0, 6, INBOUND_RAISE_2025_06_25),
    "listShipmentBoxes": DocumentedLimit(5.0, 30, INBOUND_RAISE_2025_06_25),
    "listDeliveryWindowOptions": DocumentedLimit(5.0, 30, INBOUND_RAISE_2025_06_25),
    "listTransportationOptions": DocumentedLimit(5.0, 6, INBOUND_RAISE_2025_06_25),
    "getInboundOperationStatus": DocumentedLimit(5.0, 6, INBOUND_RAISE_2025_06_25),
}


class UnknownProfile(ValueError):
    """A rate-limit profile other than "docs" or "model"."""


def default_limits(operations: Iterable[Operation], profile: str = DOCS
                   ) -> dict[str, tuple[float, int]]:
    """operationId -> (rate, burst) for every operation the profile limits."""
    if profile not in PROFILES:
        raise UnknownProfile(f"rate-limit profile must be one of {', '.join(PROFILES)}, "
                             f"not {profile!r}")
    limits = {op.operation_id: op.default_rate_limit for op in operations
              if op.default_rate_limit is not None}
    if profile == DOCS:
        limits.update({name: (doc.rate, doc.burst) for name, doc in DOCUMENTED.items()
                       if name in limits})
    return limits
