"""`bridge inbound …`: send stock to Amazon and follow it. Commands parse options, call
the inbound services, and print; the workflow itself lives in `services.inbound`."""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.prompt import IntPrompt
from rich.table import Table

from bridge.cli_common import runtime as _runtime
from bridge.domain.inbound import InboundInputError, check_address, parse_boxes, parse_items
from bridge.domain.inbound_amazon import InboundOption, PackingOption, PlacementOption, TransportationOption
from bridge.errors import BridgeError, NeedsAttentionError, TransientError
from bridge.services import inbound as inbound_service
from bridge.services.inbound import Json
from bridge.services.inbound_views import PlanSummary
from bridge.services.replenish import suggest as suggest_replenishment

if TYPE_CHECKING:  # the composition root is loaded only when a command runs
    from bridge.bootstrap import Runtime

console = Console()


def _find_plan(runtime: Runtime, reference: str) -> PlanSummary:
    plan = inbound_service.find_plan(runtime.ledger, reference)
    if plan is None:
        console.print(f"[red]no inbound plan matches {reference!r}[/red]")
        sys.exit(1)
    return plan


def _read_address(path: str | None, default: Json) -> Json:
    if not path:
        return default
    text = Path(path).read_text()
    data: Json = json.loads(text) if path.endswith(".json") else tomllib.loads(text)
    address: Json = data.get("ship_from", data)
    return address


def _interactive_chooser(kind: str, options: Sequence[InboundOption]) -> InboundOption:
    table = Table("#", "option", "details", title=f"{kind} options")
    for index, option in enumerate(options, start=1):
        if isinstance(option, PackingOption | PlacementOption):
            details = f"fees−discounts {inbound_service.option_cost(option):.2f}"
            if isinstance(option, PlacementOption):
                details += f", shipments {len(option.shipment_ids)}"
        elif isinstance(option, TransportationOption):
            details = (f"{option.shipping_solution} {option.shipping_mode} {option.carrier_name} "
                       f"cost {inbound_service.transport_cost(option):.2f}")
        else:
            details = f"{option.start} → {option.end}"
        table.add_row(str(index), option.option_id, details)
    console.print(table)
    choice = IntPrompt.ask("choose", choices=[str(i) for i in range(1, len(options) + 1)],
                           default=1)
    return options[choice - 1]


def _run_workflow(runtime: Runtime, plan_id: int, interactive: bool) -> None:
    plan = inbound_service.get_plan(runtime.ledger, plan_id)
    storefront = runtime.storefront(plan.storefront)
    workflow = inbound_service.Workflow(
        runtime.ledger, runtime.fba(plan.storefront).inbound, plan_id,
        chooser=_interactive_chooser if interactive else None,
        progress=lambda text: console.print(f"  • {text}"),
        labels_dir=Path(storefront.inbound.labels_dir),
    )
    resume_hint = f"resume with: bridge inbound plan resume {plan_id}"
    try:
        with console.status("working with Amazon…"):
            done = workflow.run()
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted; nothing is lost — {resume_hint}[/yellow]")
        sys.exit(130)
    except TransientError as exc:
        console.print(f"[yellow]Amazon did not answer in time ({exc}); {resume_hint}[/yellow]")
        sys.exit(75)
    except NeedsAttentionError as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        console.print(f"fix the cause, then {resume_hint}, or cancel with: "
                      f"bridge inbound cancel {plan_id}", soft_wrap=True)
        sys.exit(1)
    console.print(f"[green]plan {done.name} ({done.inbound_plan_id}) is ready to ship[/green]; "
                  f"labels in {done.labels_path}", soft_wrap=True)
    _print_shipments(runtime, done)


def _print_shipments(runtime: Runtime, plan: PlanSummary) -> None:
    shipments = inbound_service.plan_shipments(runtime.ledger, plan.id)
    if not shipments:
        return
    table = Table("shipment", "to", "status", "expected", "received")
    for shipment in shipments:
        table.add_row(shipment.confirmation_id or shipment.shipment_id, shipment.destination,
                      shipment.status, str(shipment.expected), str(shipment.received))
    console.print(table)


@click.group()
def inbound() -> None:
    """Send stock to Amazon's fulfillment centers and follow it until received."""


@inbound.group()
def plan() -> None:
    """Create or resume an inbound plan."""


@plan.command("create")
@click.option("--storefront", "-s", required=True, help="The storefront whose stock is sent.")
@click.option("--items", "items_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV: sku, quantity[, prep_owner, label_owner, expiration, lot]")
@click.option("--boxes", "boxes_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV: box, count, length, width, height (in), weight (lb), sku, units")
@click.option("--ship-from", type=click.Path(exists=True, dir_okay=False),
              help="TOML or JSON address; default: the storefront's [inbound] ship_from")
@click.option("--allow-unknown-skus", is_flag=True,
              help="Send SKUs Amazon has no inventory record for yet.")
@click.option("--interactive", is_flag=True, help="Show the options and choose each one.")
@click.pass_context
def plan_create(ctx: click.Context, storefront: str, items_file: str, boxes_file: str,
                ship_from: str | None, allow_unknown_skus: bool, interactive: bool) -> None:
    """Validate the files, record the plan, and take it to labels on disk."""
    runtime = _runtime(ctx)
    config = runtime.storefront(storefront)
    known = inbound_service.known_skus(runtime.ledger, storefront, allow_unknown_skus)
    try:
        items = parse_items(Path(items_file).read_text(), config.fulfillment.marketplace_id, known)
        boxes = parse_boxes(Path(boxes_file).read_text(), items)
        address = check_address(_read_address(ship_from, dict(config.inbound.ship_from)))
    except InboundInputError as exc:
        console.print(f"[red]nothing was sent; {len(exc.problems)} problem(s):[/red]")
        for problem in exc.problems:
            console.print(f"  {problem}", soft_wrap=True)
        sys.exit(2)
    plan_id = inbound_service.create_plan(
        runtime.ledger, config, inbound_service.PlanFiles(items, boxes, address))
    console.print(f"plan {plan_id} recorded: {len(items)} SKUs, {sum(i.quantity for i in items)} units")
    _run_workflow(runtime, plan_id, interactive)


@plan.command("resume")
@click.argument("reference")
@click.option("--interactive", is_flag=True, help="Show the options and choose each one.")
@click.pass_context
def plan_resume(ctx: click.Context, reference: str, interactive: bool) -> None:
    """Continue a plan from where it stopped."""
    runtime = _runtime(ctx)
    _run_workflow(runtime, _find_plan(runtime, reference).id, interactive)


@inbound.command("list")
@click.option("--storefront", "-s", help="Only this storefront's plans.")
@click.option("--all", "show_all", is_flag=True, help="Include complete and cancelled plans.")
@click.pass_context
def list_plans(ctx: click.Context, storefront: str | None, show_all: bool) -> None:
    """Inbound plans, newest first, with their step and status."""
    runtime = _runtime(ctx)
    plans = inbound_service.list_plans(runtime.ledger, storefront, show_all)
    table = Table("id", "storefront", "name", "amazon plan", "step", "status", "problem")
    for p in plans:
        table.add_row(str(p.id), p.storefront, p.name, p.inbound_plan_id or "", p.step, p.status,
                      p.last_error[:60])
    console.print(table)


@inbound.command("show")
@click.argument("reference")
@click.pass_context
def show_plan(ctx: click.Context, reference: str) -> None:
    """One plan: its shipments, statuses and units received."""
    runtime = _runtime(ctx)
    found = _find_plan(runtime, reference)
    console.print(f"[bold]plan {found.name}[/bold] (ledger id {found.id}, Amazon "
                  f"{found.inbound_plan_id or '-'}): step {found.step}, {found.status}")
    if found.last_error:
        console.print(f"  [yellow]{found.last_error}[/yellow]", soft_wrap=True)
    _print_shipments(runtime, found)
    events = inbound_service.plan_events(runtime.ledger, found.id)
    table = Table("when", "event", "message", title="events")
    for event in events:
        table.add_row(event.created_at.isoformat(timespec="seconds"), event.kind, event.message)
    console.print(table)


@inbound.command("cancel")
@click.argument("reference")
@click.pass_context
def cancel(ctx: click.Context, reference: str) -> None:
    """Cancel a plan at Amazon and in the ledger (charges may apply after the void window)."""
    runtime = _runtime(ctx)
    found = _find_plan(runtime, reference)
    try:
        name = inbound_service.cancel_plan(runtime.ledger, runtime.fba(found.storefront).inbound, found.id)
    except BridgeError as exc:
        console.print(f"[red]{exc}[/red]")
        sys.exit(1)
    console.print(f"plan {name} cancelled")


@inbound.command("follow")
@click.option("--storefront", "-s", required=True, help="The storefront to read.")
@click.pass_context
def follow(ctx: click.Context, storefront: str) -> None:
    """Read open shipments' status and received quantities once (the worker does this
    periodically)."""
    runtime = _runtime(ctx)
    changed = inbound_service.follow_shipments(runtime.ledger, runtime.fba(storefront).inbound, storefront)
    console.print(f"{changed} shipment(s) changed")


@inbound.command("suggest")
@click.option("--storefront", "-s", required=True, help="The storefront to read.")
@click.option("--days", default=30, show_default=True, help="Order history window.")
@click.option("--target-days", default=60, show_default=True, help="Days of cover to aim for.")
@click.pass_context
def suggest(ctx: click.Context, storefront: str, days: int, target_days: int) -> None:
    """Per SKU: days of cover at the recent order rate, and units to send."""
    runtime = _runtime(ctx)
    table = Table("sku", "units/day", "fulfillable", "inbound", "days of cover",
                  f"send for {target_days} days")
    for hint in suggest_replenishment(runtime.ledger, storefront, days, target_days):
        table.add_row(hint.sku, f"{hint.units_per_day:.2f}", str(hint.fulfillable), str(hint.inbound),
                      "-" if hint.days_of_cover is None else f"{hint.days_of_cover:.1f}",
                      str(hint.suggested))
    console.print(table)
