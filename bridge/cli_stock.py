"""`bridge stock …`: see and correct the shop's stock. Commands parse options, call the
stock services, and print."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from bridge.cli_common import runtime as _runtime
from bridge.errors import BridgeError

if TYPE_CHECKING:  # loaded only when a command runs
    from bridge.bootstrap import Runtime
    from bridge.services.stock_drift import DriftRow

console = Console()


def _storefronts(rt: Runtime, name: str | None) -> list[str]:
    if name is None:
        return list(rt.storefronts)
    if name not in rt.storefronts:
        console.print(f"[red]no enabled storefront named {name!r}[/red]")
        sys.exit(2)
    return [name]


@click.group()
def stock() -> None:
    """The shop's stock against what Amazon can really sell."""


@stock.command("drift")
@click.option("--storefront", "-s", help="Only this storefront.")
@click.option("--sku", help="Only this shop SKU.")
@click.option("--all", "show_all", is_flag=True, help="Also SKUs that agree.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per SKU, for scripts.")
@click.pass_context
def stock_drift(ctx: click.Context, storefront: str | None, sku: str | None, show_all: bool,
                as_json: bool) -> None:
    """Per SKU: Amazon's fulfillable / inbound / reserved units, units bridge holds back
    for open orders, the target, the shop's quantity now, the difference, and the last
    correction. Reads the shop live. Exits 1 when any SKU differs."""
    from bridge.services.stock_drift import drift_report

    rt = _runtime(ctx)
    rows = []
    for name in _storefronts(rt, storefront):
        try:
            rows += drift_report(rt.ledger, rt.cart(name), rt.storefront(name), sku)
        except BridgeError as exc:
            console.print(f"[red]{name}: cannot read the shop's stock: {exc}[/red]")
            sys.exit(2)
    drifted = [row for row in rows if row.difference]
    shown = rows if (show_all or sku) else drifted
    if as_json:
        for row in shown:
            click.echo(json.dumps(row.as_json(), sort_keys=True))
    else:
        _print_table(shown, len(rows), len(drifted))
    sys.exit(1 if drifted else 0)


def _print_table(rows: list[DriftRow], total: int, drifted: int) -> None:
    table = Table("storefront", "sku", "fulfillable", "inbound", "reserved", "held for orders",
                  "target", "shop", "difference", "last corrected", "problem")
    for row in rows:
        when = row.last_corrected.isoformat(timespec="seconds") if row.last_corrected else "-"
        table.add_row(row.storefront, row.sku, str(row.fulfillable), str(row.inbound),
                      str(row.reserved), str(row.open_units), str(row.target),
                      "not in shop" if row.shop is None else str(row.shop),
                      "" if not row.difference else f"{row.difference:+d}",
                      f"{when} ({row.last_source})" if row.last_source else when, row.problem)
    if rows:
        console.print(table)
    console.print(f"{drifted} of {total} SKU(s) differ from their target")


@stock.command("sync")
@click.option("--storefront", "-s", help="Only this storefront.")
@click.option("--full", is_flag=True, help="Read all of Amazon's inventory, not only changes.")
@click.pass_context
def stock_sync(ctx: click.Context, storefront: str | None, full: bool) -> None:
    """Run one stock cycle now: read Amazon, read the shop, correct every difference."""
    from bridge.services.stock import sync_stock

    rt = _runtime(ctx)
    failed = False
    for name in _storefronts(rt, storefront):
        try:
            result = sync_stock(rt.ledger, rt.fba(name), rt.cart(name), rt.storefront(name), full=full)
        except BridgeError as exc:
            console.print(f"[red]{name}: {exc}[/red]")
            failed = True
            continue
        console.print(f"{name}: read {result.read} from Amazon{' (full)' if result.full_read else ''}, "
                      f"checked {result.checked} in the shop, corrected {result.written} "
                      f"({result.drift} changed in the shop)")
        for problem in result.unresolved:
            console.print(f"  [yellow]{problem}[/yellow]")
    sys.exit(1 if failed else 0)
