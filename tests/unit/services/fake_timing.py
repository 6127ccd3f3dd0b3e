"""How long the in-memory network takes over each step, from its own defaults, so a
test that moves its clock follows any change to them."""

from __future__ import annotations

from bridge.fba.fake import Lifecycle

_LIFECYCLE = Lifecycle()

# A second past each due time: the order has surely moved on.
TO_PROCESSING = _LIFECYCLE.received + _LIFECYCLE.planning + 1
TO_COMPLETE = _LIFECYCLE.received + _LIFECYCLE.planning + _LIFECYCLE.processing + 1
TRANSIT = _LIFECYCLE.transit  # shipped → at the door
RETURN_BACK_AND_PROCESSED = _LIFECYCLE.return_transit + _LIFECYCLE.return_inspection + 1
