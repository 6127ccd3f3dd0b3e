"""(being built)"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from bridge.bootstrap import Runtime


def routes(runtime: Runtime) -> Sequence[BaseRoute]:
    return []
