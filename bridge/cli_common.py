"""What every `bridge` command group shares: the runtime built once per invocation, and
how configuration problems are printed. The groups and the main command import this;
neither imports the other's module for it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

import click
from rich.console import Console

from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.bootstrap import Runtime

console = Console()


def runtime(ctx: click.Context) -> Runtime:
    # Imported when a command needs it: the composition root loads the cart registry, the
    # ledger and the rate limiters, which `bridge --help` and `bridge sim` never use.
    from bridge.bootstrap import build_runtime

    if "runtime" not in ctx.obj:
        try:
            ctx.obj["runtime"] = build_runtime(ctx.obj.get("config_dir"))
        except ConfigError as exc:
            print_config_problems(exc)
            sys.exit(2)
    return cast("Runtime", ctx.obj["runtime"])


def print_config_problems(exc: ConfigError) -> None:
    console.print(f"[red]configuration has {len(exc.problems)} problem(s):[/red]")
    for file, key, what in exc.problems:
        console.print(f"  {file}: [bold]{key}[/bold]: {what}", soft_wrap=True)
