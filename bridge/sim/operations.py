"""An SP-API operation the simulator answers. Each API module lists its operations by
the model's operationId with a handler (apis.py gathers them); the method, path and
default rate limit come from the model itself, so they cannot drift from Amazon's
documents."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


def rate_limits(operations: Iterable[Operation],
                overrides: dict[str, tuple[float, int]]) -> dict[str, tuple[float, int]]:
    limits = {op.operation_id: op.default_rate_limit for op in operations
              if op.default_rate_limit is not None}
    limits.update(overrides)
    return limits
