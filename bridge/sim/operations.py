"""An SP-API operation the simulator answers. Each API module lists its operations by
the model's operationId with a handler (apis.py gathers them); the method, path and the
model's rate limit come from the model itself, so they cannot drift from Amazon's
documents (limits.py says where the documentation raises a limit)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bridge.sim import limits as limits_profile
from bridge.sim.wire import Call, Reply
from bridge.spapi_models import ModelOperation
from bridge.spapi_models import operation as model_operation

if TYPE_CHECKING:
    from bridge.sim.simulator import Simulator

Handler = Callable[["Simulator", Call], Reply]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    handler: Handler

    @property
    def model(self) -> ModelOperation:
        return model_operation(self.operation_id)

    @property
    def method(self) -> str:
        return self.model.method

    @property
    def path(self) -> str:
        return self.model.path  # "{name}" placeholders read the same in Starlette

    @property
    def default_rate_limit(self) -> tuple[float, int] | None:
        return self.model.usage_plan


def rate_limits(operations: Iterable[Operation], overrides: dict[str, tuple[float, int]],
                profile: str = limits_profile.DOCS) -> dict[str, tuple[float, int]]:
    """The profile's defaults (limits.py), then the configured overrides."""
    limits = limits_profile.default_limits(operations, profile)
    limits.update(overrides)
    return limits
