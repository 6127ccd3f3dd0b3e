"""What every `bridge` command group shares: the runtime built once per invocation, how
configuration problems are printed, how a storefront name is checked, and how a command
to type next is spelled. The groups and the main command import this; neither imports
the other's module for it."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, cast

import click
from rich.console import Console

from bridge.errors import ConfigError
from bridge.invocation import bridge_command

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


def known_storefront(ctx: click.Context, name: str | None) -> str | None:
    """`name` when a storefront of the configuration has it; otherwise the command stops
    (exit 2) naming the storefronts there are. None passes: no storefront was named."""
    if name is None:
        return None
    names = sorted(storefront.name for storefront in runtime(ctx).config.storefronts)
    if name not in names:
        console.print(f"[red]unknown storefront {name!r}[/red]; the storefronts are: "
                      + (", ".join(names) or "none (add one under storefronts/)"),
                      soft_wrap=True, highlight=False)
        sys.exit(2)
    return name


def command(ctx: click.Context, *words: str) -> str:
    """The exact command line that does `words` with this invocation's configuration."""
    config_dir = ctx.find_root().params.get("config_dir")
    chosen = ["-c", config_dir] if config_dir else []
    return " ".join([bridge_command(), *(shlex.quote(word) for word in (*chosen, *words))])


def missing_in_ledger(exc: BaseException) -> str | None:
    """What a database error says the ledger lacks ("table orders", "column orders.x":
    SQLite's "no such table/column", PostgreSQL's undefined_table/undefined_column), else
    None. The ledger was not migrated to this version of bridge."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return None
    text = str(exc.orig)
    quoted = text.split('"')[1] if text.count('"') >= 2 else "?"
    kind = {"42P01": "table", "42703": "column"}.get(getattr(exc.orig, "sqlstate", None) or "")
    if kind:
        return f"{kind} {quoted}"
    for kind in ("table", "column"):
        if text.startswith(f"no such {kind}: "):
            return f"{kind} {text.removeprefix(f'no such {kind}: ').split()[0]}"
    return None


def print_rows(out: Console, headers: tuple[str, ...], rows: list[tuple[str, ...]],
               title: str | None = None) -> None:
    """A table when every column fits the terminal at full width; otherwise one plain line
    per row (values apart by two spaces), so no value is ever cut on a narrow terminal."""
    from rich.markup import escape
    from rich.table import Table

    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]
    if sum(widths) + 3 * len(headers) + 1 <= out.width:
        table = Table(*headers, title=title)
        for row in rows:
            table.add_row(*(escape(value) for value in row))
        out.print(table)
        return
    if title:
        out.print(f"[bold]{escape(title)}[/bold]")

    def line(values: tuple[str, ...]) -> str:
        return "  ".join((value or "-").ljust(max(width, 1))
                         for value, width in zip(values, widths, strict=True)).rstrip()

    out.print(line(headers), style="bold", soft_wrap=True, highlight=False, markup=False)
    for row in rows:
        out.print(line(row), soft_wrap=True, highlight=False, markup=False)
