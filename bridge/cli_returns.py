"""`bridge returns …`: ask Amazon to take back units of a shipped order, and see how
returns stand. Commands parse options, call the returns service, and print."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bridge.cli_common import runtime as _runtime
from bridge.errors import BridgeError

if TYPE_CHECKING:  # loaded only when a command runs
    from bridge.services.returns import ReturnView

console = Console()


@click.group()
def returns() -> None:
    """Customer returns of orders Amazon shipped (refunds stay yours to decide)."""


@returns.command("create")
@click.argument("order")
@click.option("--lines", "lines_text", required=True,
              help="What comes back: SKU=QTY[,SKU=QTY…], by cart SKU or line id.")
@click.option("--reason", help="Amazon's return reason code; without it the codes are listed.")
@click.option("--comment", default="", help="A comment for Amazon (at most 1000 characters).")
@click.option("--storefront", "-s", help="Look only among this storefront's orders.")
@click.pass_context
def returns_create(ctx: click.Context, order: str, lines_text: str, reason: str | None,
                   comment: str, storefront: str | None) -> None:
    """Ask Amazon to take back units of ORDER (the ledger id as digits, '#number' for
    the shop's number, or the fulfillment order id). Exit 0 when Amazon authorized the
    return (or its answer is still being confirmed), 1 when it took no unit, 2 when
    nothing was sent."""
    from bridge.services.returns import (
        ReasonRequired,
        ReturnProblem,
        parse_lines,
        request_return,
        storefront_of,
    )

    rt = _runtime(ctx)
    try:
        lines = parse_lines(lines_text)
        name = storefront_of(rt.ledger, order, storefront)
        view = request_return(rt.ledger, rt.fba(name), rt.cart(name), order, lines, reason,
                              comment=comment, storefront=name)
    except ReasonRequired as required:
        console.print(f"[red]{required.message}[/red]; Amazon takes these for this order:")
        table = Table("code", "description")
        for code in required.codes:
            table.add_row(code.code, code.description)
        console.print(table)
        sys.exit(2)
    except ReturnProblem as problem:
        console.print(f"[red]not sent ({problem.reason}): {escape(problem.message)}[/red]",
                      soft_wrap=True)
        sys.exit(2)
    except BridgeError as exc:
        console.print(f"[red]not sent: {escape(str(exc))}[/red]", soft_wrap=True)
        sys.exit(2)
    _print(view)
    sys.exit(1 if view.state == "refused" else 0)


@returns.command("list")
@click.option("--storefront", "-s", help="Only this storefront.")
@click.option("--state", type=click.Choice(["requested", "authorized", "refused", "received"]),
              help="Only returns in this state.")
@click.option("--limit", default=50, show_default=True, help="At most this many, newest first.")
@click.pass_context
def returns_list(ctx: click.Context, storefront: str | None, state: str | None,
                 limit: int) -> None:
    """The newest returns first."""
    from bridge.services.returns import list_returns

    rt = _runtime(ctx)
    # One line per return, never cut short: the ids are what a person copies from here.
    for view in list_returns(rt.ledger, storefront, state, limit):
        authorizations = ", ".join(a.authorization_id for a in view.authorizations) or "-"
        console.print(f"{view.id}  {view.requested_at.isoformat(timespec='seconds')}  "
                      f"{view.storefront}  order {escape(view.order_number)}  {view.state}  "
                      f"{view.reason_code}  {len(view.units) - len(view.invalid)} unit(s)  "
                      f"authorization {authorizations}", soft_wrap=True, highlight=False)


@returns.command("show")
@click.argument("return_id", type=int)
@click.pass_context
def returns_show(ctx: click.Context, return_id: int) -> None:
    """One return: its authorizations (label URL, address) and every unit."""
    from bridge.services.returns import ReturnProblem, show_return

    rt = _runtime(ctx)
    try:
        view = show_return(rt.ledger, return_id)
    except ReturnProblem as problem:
        console.print(f"[red]{escape(problem.message)}[/red]")
        sys.exit(1)
    _print(view)


def _print(view: ReturnView) -> None:
    from bridge.services.returns import REFUND_NOTE

    console.print(f"[bold]return {view.id}[/bold] of order {escape(view.order_number)} "
                  f"({view.storefront}, fulfillment order {view.seller_fulfillment_order_id}): "
                  f"[bold]{view.state}[/bold]", soft_wrap=True)
    console.print(f"  reason: {view.reason_code} ({escape(view.reason)})", soft_wrap=True)
    if view.state == "requested":
        console.print("  [yellow]Amazon's answer is not known yet: bridge sends the same "
                      "request again until it is[/yellow]")
    if view.last_error:
        console.print(f"  [yellow]{escape(view.last_error)}[/yellow]", soft_wrap=True)
    for authorization in view.authorizations:
        address = ", ".join(value for key, value in authorization.address.items()
                            if key != "countryCode" and value)
        console.print(f"  authorization {authorization.authorization_id} "
                      f"(RMA {authorization.rma_id}, center "
                      f"{authorization.fulfillment_center_id})", soft_wrap=True)
        console.print(f"    label: {authorization.label_url}", soft_wrap=True, highlight=False)
        console.print(f"    send to: {escape(address)}", soft_wrap=True)
    table = Table("unit", "line", "sku", "shipment", "status", "condition", "refused because")
    for unit in view.units:
        refused = f"{unit.invalid_code}: {unit.invalid_reason}" if unit.invalid_code else ""
        table.add_row(unit.seller_return_item_id, unit.line_id, unit.cart_sku,
                      unit.amazon_shipment_id, unit.status or "-", unit.condition or "-",
                      escape(refused))
    console.print(table)
    console.print(f"  {REFUND_NOTE}")
