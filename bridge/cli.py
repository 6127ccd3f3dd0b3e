"""The `bridge` command. Commands parse options, call one function, and print."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
from rich.console import Console

from bridge.cli_common import command as _command
from bridge.cli_common import known_storefront as _known_storefront
from bridge.cli_common import missing_in_ledger
from bridge.cli_common import print_config_problems as _print_config_problems
from bridge.cli_common import print_rows as _print_rows
from bridge.cli_common import runtime as _runtime
from bridge.domain.marketplaces import label as marketplace_label
from bridge.domain.states import OrderState
from bridge.errors import ConfigError

if TYPE_CHECKING:  # loaded only when a command runs: `bridge --help` stays quick
    from bridge.bootstrap import Runtime
    from bridge.config import BridgeSettings
    from bridge.services.online_check import StorefrontReport
    from bridge.services.order_views import AttentionItem, OrderDetail
    from bridge.services.orders import OrderNotFound, StorefrontStatus

console = Console()


def _checked_runtime(ctx: click.Context) -> Runtime:
    """The runtime of a long-running process, once the offline checks pass: a secret that
    does not resolve or a template that cannot render would otherwise surface only as
    failing tasks, long after the start."""
    from bridge.services.config_check import check_config

    runtime = _runtime(ctx)
    try:
        check_config(runtime.config)
    except ConfigError as exc:
        _print_config_problems(exc)
        console.print(f"[red]not started[/red]: fix the configuration first; "
                      f"`{_command(ctx, 'config', 'check')}` checks it again", soft_wrap=True,
                      highlight=False)
        runtime.close()
        sys.exit(2)
    return runtime


class _Commands(click.Group):
    """The command groups of their own modules are imported only when named: the
    inbound workflow and the simulator's server would add most of a second to the
    start of every command (`bridge status` included)."""

    LAZY = ("inbound", "returns", "sim", "stock", "webhooks")

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "inbound":
            from bridge.cli_inbound import inbound
            return inbound
        if cmd_name == "returns":
            from bridge.cli_returns import returns
            return returns
        if cmd_name == "sim":
            from bridge.sim.cli import sim
            return sim
        if cmd_name == "stock":
            from bridge.cli_stock import stock
            return stock
        if cmd_name == "webhooks":
            from bridge.cli_webhooks import webhooks
            return webhooks
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        from bridge.shadow import ShadowWrite

        try:
            return super().invoke(ctx)
        except ShadowWrite as exc:  # a command that writes, on a storefront in shadow mode
            console.print(f"[yellow]{_escape(str(exc))}[/yellow]", soft_wrap=True, highlight=False)
            sys.exit(1)
        except Exception as exc:
            # A ledger not migrated to this version: say what to run instead of a traceback.
            missing = missing_in_ledger(exc)
            if missing is None:
                raise
            what = ("is older than this bridge" if _ledger_migrated(ctx)
                    else "has no tables yet")
            console.print(f"[red]the ledger {what}[/red] (no {missing}): run "
                          f"`{_command(ctx, 'db', 'upgrade')}`", soft_wrap=True, highlight=False)
            sys.exit(2)


def _ledger_migrated(ctx: click.Context) -> bool:
    """Whether a migration ever ran on the ledger (it keeps its revision in a table)."""
    runtime = ctx.obj.get("runtime") if ctx.obj else None
    if runtime is None:
        return False
    from sqlalchemy import inspect

    return inspect(runtime.ledger.engine).has_table("alembic_version")


@click.group(cls=_Commands)
@click.option("--config-dir", "-c", type=click.Path(file_okay=False), envvar="BRIDGE_CONFIG_DIR",
              help="Folder with bridge.toml and storefronts/ (default ./config).")
@click.pass_context
def main(ctx: click.Context, config_dir: str | None) -> None:
    """bridge: have Amazon's fulfillment network ship your shop's orders."""
    ctx.ensure_object(dict)
    ctx.obj["config_dir"] = config_dir
    if config_dir:
        # Celery reads the configuration lazily, in this process and in its children.
        os.environ["BRIDGE_CONFIG_DIR"] = config_dir


# ---------------------------------------------------------------- config and database

@main.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@click.option("--online", is_flag=True,
              help="Also connect to each shop and to Amazon; exit 1 when either has a problem.")
@click.pass_context
def config_check(ctx: click.Context, online: bool) -> None:
    """Validate every file, secret reference and cart setting; list every problem."""
    from bridge.config import load_config
    from bridge.services.config_check import check_config

    try:
        loaded = load_config(ctx.obj.get("config_dir"))
        check_config(loaded)
    except ConfigError as exc:
        _print_config_problems(exc)
        sys.exit(2)
    console.print(f"[green]ok[/green]: {len(loaded.storefronts)} storefront(s): "
                  + ", ".join(s.name for s in loaded.storefronts))
    if online:
        from bridge.services.online_check import check_online

        reports = check_online(loaded)
        for report in reports:
            _print_online_report(report)
        sys.exit(0 if all(report.ok for report in reports) else 1)


_CHECK_STYLE = {"ok": "[green]ok[/green]     ", "problem": "[red]problem[/red]",
                "skipped": "[yellow]skipped[/yellow]"}


def _print_online_report(report: StorefrontReport) -> None:
    from rich.markup import escape

    # Texts quote the platforms' answers, which may hold brackets rich would read as markup.
    console.print(f"[bold]{escape(report.storefront)}[/bold] ({escape(report.platform)})")
    for check in report.checks:
        console.print(f"  {_CHECK_STYLE[check.status]} [bold]{escape(check.name)}[/bold]: "
                      f"{escape(check.text)}", soft_wrap=True, highlight=False)


@main.group()
def db() -> None:
    """Manage the ledger database."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or migrate the ledger tables to the newest version."""
    from bridge.ledger import migrate

    url = _settings(ctx).database_url
    migrate.upgrade(url)
    console.print(f"ledger at revision {migrate.current_revision(url)}")


@db.command("check")
@click.pass_context
def db_check(ctx: click.Context) -> None:
    """Fail when the ledger is not at the newest migration or its tables differ from the
    models, naming every difference."""
    from rich.markup import escape

    from bridge.ledger import migrate

    report = migrate.check(_settings(ctx).database_url)
    if report.problems:
        console.print("[red]the ledger does not match bridge's models:[/red]")
        for problem in report.problems:
            console.print(f"  - {escape(problem)}", soft_wrap=True, highlight=False)
        console.print(f"[red]what to do:[/red] {escape(report.advice)}", soft_wrap=True)
        sys.exit(1)
    console.print(f"ledger at revision {report.current} (newest); its tables match the models")


def _settings(ctx: click.Context) -> BridgeSettings:
    from bridge.config import load_config

    try:
        return load_config(ctx.obj.get("config_dir")).settings
    except ConfigError as exc:
        _print_config_problems(exc)
        sys.exit(2)


# ---------------------------------------------------------------- running

@main.command()
@click.option("--concurrency", "-n", default=4, show_default=True, help="Worker threads.")
@click.option("--shadow", is_flag=True, help="Every storefront in shadow mode for this run: "
              "read and decide, write nothing to Amazon or the shop (docs/shadow-mode.md).")
@click.pass_context
def run(ctx: click.Context, concurrency: int, shadow: bool) -> None:
    """Run worker and scheduler in one process (the embedded default)."""
    from bridge.config import SHADOW_ENV
    from bridge.daemon import run_embedded

    if shadow:
        # Read where the configuration is loaded, in this process and its workers.
        os.environ[SHADOW_ENV] = "1"
    run_embedded(_checked_runtime(ctx), concurrency=concurrency)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--lane", type=click.Choice(["submit", "flows", "all"]),
              help="The queues to consume: submit (submit, cancel) or flows (all others); "
                   "run one of each so submission always has a worker.")
@click.pass_context
def worker(ctx: click.Context, lane: str | None) -> None:
    """Run a Celery worker (extra options go to Celery, e.g. --lane submit -c 1)."""
    from bridge.daemon import celery_main, lane_arguments

    _checked_runtime(ctx)
    celery_main(["worker", *lane_arguments(lane, ctx.args), *ctx.args])


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def beat(ctx: click.Context) -> None:
    """Run the scheduler (a second one stands by until the first stops)."""
    from bridge.daemon import celery_main

    _checked_runtime(ctx)
    celery_main(["beat", *ctx.args])


@main.command()
@click.option("--host", help="Address to listen on (default: [serve] host, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: [serve] port, 8780).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve health, metrics, webhooks and the web console over HTTP."""
    from bridge.web.server import serve as serve_http

    runtime = _runtime(ctx)
    try:
        serve_http(runtime, host=host, port=port)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        sys.exit(2)


# ---------------------------------------------------------------- status and orders

_OLDEST = 10  # waiting orders `bridge status` lists per kind without --all


@main.command()
@click.option("--storefront", "-s", help="Only this storefront (default: every enabled one).")
@click.option("--all", "show_all", is_flag=True,
              help=f"List every needs-attention and held order, not only the {_OLDEST} oldest.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document instead (its keys: docs/cli.md).")
@click.pass_context
def status(ctx: click.Context, storefront: str | None, show_all: bool, as_json: bool) -> None:
    """Per storefront: open orders by state, what needs attention and what is held (per
    reason, with the oldest), last poll, lag, stock, returns and inbound shipments."""
    from bridge.services.order_views import status_document
    from bridge.services.orders import storefront_status

    rt = _runtime(ctx)
    storefront = _known_storefront(ctx, storefront)
    names = [storefront] if storefront else list(rt.storefronts)
    reports = [storefront_status(rt.ledger, name, oldest=None if show_all else _OLDEST,
                                 mode=rt.storefront(name).mode,
                                 account=rt.storefront(name).fulfillment)
               for name in names]
    if as_json:
        click.echo(json.dumps(status_document(reports), indent=2))
        return
    for report in reports:
        _print_status(ctx, report)


def _print_status(ctx: click.Context, report: StorefrontStatus) -> None:
    from rich.markup import escape

    head = f"[bold]{escape(report.name)}[/bold]"
    if report.paused:
        head += f"  [red]PAUSED: {escape(report.paused)}[/red]"
    if report.mode == "shadow":
        head += "  [magenta]SHADOW: nothing is written to Amazon or the shop[/magenta]"
    console.print(head, soft_wrap=True)
    if report.mode == "shadow" or report.would_send:
        console.print(f"  would send: {report.would_send} order(s) "
                      "(bridge orders show ID prints each request)", soft_wrap=True)
    for flow in report.degraded:  # a remote that keeps failing, in words
        console.print(f"  [red]DEGRADED: {flow.flow} has failed {flow.failures} runs in a row "
                      f"since {flow.since.isoformat(timespec='seconds')}: {escape(flow.error)}[/red]",
                      soft_wrap=True)
    if report.marketplaces:
        routes = "; ".join(
            f"{line.marketplace}{' home' if line.home else ''} for "
            f"{', '.join(line.countries) or '-'}: {line.open_orders} open"
            for line in report.marketplaces)
        console.print(f"  marketplaces: {routes}; other countries: {report.unrouted_countries}; "
                      f"shop stock: {report.shop_stock}", soft_wrap=True, highlight=False)
    counts = ", ".join(f"{state} {count}" for state, count in sorted(report.counts.items()))
    # Open states only: finished orders are the history, not the state of things.
    console.print(f"  open orders: {counts or 'none'}", soft_wrap=True)
    if report.attention_reasons:
        _print_waiting(ctx, "needs attention", "red", report.name, "needs_attention",
                       report.attention_reasons, report.oldest_attention)
    if report.holds:  # waiting for a person's approval (bridge orders approve)
        _print_waiting(ctx, "on hold", "yellow", report.name, "on_hold", report.holds,
                       report.oldest_held)
    poll = report.last_order_poll.isoformat(timespec='seconds') if report.last_order_poll else "never"
    lag = f"{report.lag_seconds:.0f}s" if report.lag_seconds is not None else "-"
    console.print(f"  last order poll: {poll}   lag: {lag}   tracking to write: "
                  f"{report.unpushed_packages}", soft_wrap=True)
    if report.open_returns:
        console.print(f"  returns being followed: {report.open_returns} (bridge returns list)")
    if report.deliveries_given_up:
        console.print(f"  [yellow]deliveries no longer followed: {report.deliveries_given_up} "
                      "package(s) without a final milestone[/yellow]", soft_wrap=True)
    checked = (report.stock_checked_at.isoformat(timespec="seconds")
               if report.stock_checked_at else "never")
    drift = (f"[yellow]{report.drifted_skus} SKU(s) drifted[/yellow] (bridge stock drift)"
             if report.drifted_skus else "no drift")
    console.print(f"  stock: last synced {checked}   {drift}", soft_wrap=True)
    if report.inbound:
        _print_rows(console, ("plan", "shipment", "status", "expected", "received", "still to receive"),
                    [(plan, shipment, state, str(expected), str(received),
                      str(max(0, expected - received)))
                     for plan, shipment, state, expected, received in report.inbound],
                    title="open inbound shipments")
    if report.stalled:  # submissions over their retry budget; bridge keeps retrying
        _print_rows(console, ("id", "order", "state", "attempts", "reason", "failing since",
                              "stalled since"),
                    [(str(item["id"]), item["number"], item["state"], str(item["attempts"]),
                      item["reason"], _when(item["failing_since"]), _when(item["since"]))
                     for item in report.stalled],
                    title="stalled (still retrying)")
    if report.flags:
        _print_rows(console, ("kind", "order", "message", "since"),
                    [(flag["kind"], flag["order"] or "-", flag["message"], _when(flag["since"]))
                     for flag in report.flags],
                    title="watchdog")


def _print_waiting(ctx: click.Context, label: str, style: str, storefront: str, state: str,
                   reasons: dict[str, int], oldest: list[AttentionItem]) -> None:
    """`label: total (reason count, …)`, then the oldest, one line each."""
    from rich.markup import escape

    total = sum(reasons.values())
    per_reason = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
    console.print(f"  [{style}]{label}: {total} ({escape(per_reason)})[/{style}]", soft_wrap=True)
    for item in oldest:
        message = item["message"].replace("\n", " ")
        if len(message) > _MESSAGE_CHARS:
            message = message[:_MESSAGE_CHARS - 1] + "…"
        console.print(f"    {item['id']:>6}  {item['number']}  {item['reason']}  since "
                      f"{_when(item['since'])}  {message}",
                      soft_wrap=True, highlight=False, markup=False)
    if total > len(oldest):
        listing = _command(ctx, "orders", "list", "--storefront", storefront, "--state", state)
        console.print(f"    … and {total - len(oldest)} more: `{_command(ctx, 'status', '--all')}` "
                      f"or `{listing}`", soft_wrap=True, highlight=False, markup=False)


_MESSAGE_CHARS = 100  # the whole message is in `bridge orders show ID`


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


_STATES = tuple(state.value for state in OrderState)


@main.group()
def orders() -> None:
    """List, inspect, retry, approve and hold orders.

    An order is named by its ledger id (digits: `orders show 58`), by the shop's order
    number or id with a `#` or --cart (`orders show '#58'`, `orders show --cart 58`), or by
    Amazon's sellerFulfillmentOrderId."""


@orders.command("list")
@click.option("--storefront", "-s", help="Only orders of this storefront.")
@click.option("--state", type=click.Choice(_STATES), help="Only orders in this state.")
@click.option("--limit", default=50, show_default=True, help="At most this many, newest first.")
@click.pass_context
def orders_list(ctx: click.Context, storefront: str | None, state: str | None, limit: int) -> None:
    """The newest orders, with their state, Amazon's status and why they wait."""
    from bridge.services.orders import list_orders

    rt = _runtime(ctx)
    rows = list_orders(rt.ledger, _known_storefront(ctx, storefront), state, limit)
    _print_rows(console, ("id", "storefront", "order", "state", "amazon", "fulfillment order id",
                          "reason"),
                [(str(row.id), row.storefront, row.number, row.state, row.amazon_status,
                  row.seller_fulfillment_order_id or "", row.attention_reason) for row in rows])
    if not rows:
        console.print("no order matched")


_CART_HELP = "REFERENCE is the shop's order number or id, never a ledger id."


@orders.command("show")
@click.argument("reference")
@click.option("--storefront", "-s", help="Look only among this storefront's orders.")
@click.option("--cart", is_flag=True, help=_CART_HELP)
@click.pass_context
def orders_show(ctx: click.Context, reference: str, storefront: str | None, cart: bool) -> None:
    """Show one order and its event log. REFERENCE: a ledger id (58), the shop's order
    ('#58', or 58 with --cart) or a fulfillment order id."""
    from bridge.services.orders import OrderNotFound, show_order

    rt = _runtime(ctx)
    try:
        row = show_order(rt.ledger, reference, _known_storefront(ctx, storefront), cart=cart)
    except OrderNotFound as exc:
        _not_found(ctx, exc, "show")
    console.print(f"[bold]order {row.number}[/bold] ({row.storefront}, cart id {row.cart_order_id}, "
                  f"ledger id {row.id})", soft_wrap=True, highlight=False)
    if row.archived_at is not None:
        console.print(f"  archived {row.archived_at.isoformat(timespec='seconds')} "
                      "(finished; no longer in the live tables)")
    console.print(f"  state: {row.state}   amazon: {row.amazon_status or '-'}   "
                  f"fulfillment order: {row.seller_fulfillment_order_id or '-'}   attempts: {row.attempts}",
                  soft_wrap=True)
    if row.marketplace_id:
        console.print(f"  marketplace: {marketplace_label(row.marketplace_id)} (routed by the ship-to "
                      "country)", soft_wrap=True, highlight=False)
    if row.state == "on_hold":
        console.print(f"  [yellow]on hold ({row.attention_reason}): {row.last_error}[/yellow]",
                      soft_wrap=True)
    elif row.attention_reason:
        console.print(f"  [yellow]needs attention: {row.attention_reason}: {row.last_error}[/yellow]",
                      soft_wrap=True)
    for package in row.packages:
        pushed = package.pushed_at.isoformat(timespec="seconds") if package.pushed_at else "not yet"
        where = f", delivery: {package.delivery}" if package.delivery else ""
        console.print(f"  package {package.package_number}: {package.carrier} {package.tracking_number} "
                      f"(in cart: {pushed}{where})", soft_wrap=True)
    _print_would_send(row)
    _print_rows(console, ("when", "event", "from", "to", "message"),
                [(_when(event.created_at), event.kind, event.from_state, event.to_state, event.message)
                 for event in row.events], title="events")


def _print_would_send(row: OrderDetail) -> None:
    """Shadow mode: the create call and body the order would be sent with."""
    from bridge.services.shadow import WOULD_SEND, would_send_body_of

    if row.state != "ready":
        return
    recorded = [event for event in row.events if event.kind == WOULD_SEND]
    found = would_send_body_of(recorded[-1].message) if recorded else None
    if found is None:
        return
    operation, body = found
    console.print(f"  would send (shadow mode): {operation}", soft_wrap=True)
    console.print(json.dumps(body, indent=2), soft_wrap=True, highlight=False, markup=False)


def _not_found(ctx: click.Context, exc: OrderNotFound, verb: str) -> NoReturn:
    """Say why the reference names no single order, and the exact command that works."""
    console.print(f"[red]{_escape(str(exc))}[/red]", soft_wrap=True, highlight=False)
    if exc.candidates:
        for ref in exc.candidates:
            console.print(f"  {_command(ctx, 'orders', verb, str(ref.id))}   "
                          f"({ref.storefront}, order {ref.number})",
                          soft_wrap=True, highlight=False, markup=False)
    else:
        console.print(f"  the newest orders and their ids: `{_command(ctx, 'orders', 'list')}`",
                      soft_wrap=True, highlight=False, markup=False)
    sys.exit(1)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _resolved(ctx: click.Context, references: tuple[str, ...], storefront: str | None,
              cart: bool, verb: str) -> tuple[str, ...]:
    """The ledger ids the references name, each checked before anything is done: a
    reference that names no single order stops the command with the one that works."""
    from bridge.services.orders import OrderNotFound, find

    rt = _runtime(ctx)
    ids = []
    with rt.ledger.transaction() as session:
        for reference in references:
            try:
                ids.append(str(find(session, reference, storefront, cart=cart).id))
            except OrderNotFound as exc:
                _not_found(ctx, exc, verb)
    return tuple(ids)


@orders.command("retry")
@click.argument("references", nargs=-1)
@click.option("--storefront", "-s", help="Only orders of this storefront; alone, every "
                                         "needs-attention order of it.")
@click.option("--reason", help="Every order waiting for this reason (e.g. unknown_sku; "
                               "`bridge status` counts them per reason).")
@click.option("--state", type=click.Choice(_STATES),
              help="Orders in this state (default with --reason/--storefront: needs_attention; "
                   "others are refused and counted).")
@click.option("--cart", is_flag=True, help="REFERENCES are the shop's order numbers or ids.")
@click.pass_context
def orders_retry(ctx: click.Context, references: tuple[str, ...], storefront: str | None,
                 reason: str | None, state: str | None, cart: bool) -> None:
    """Send needs-attention orders round again after fixing their data or the config:
    named (ledger ids, '#number', fulfillment order ids) or selected by --reason,
    --storefront, --state. Exits 1 unless every order left needs_attention."""
    from bridge.services.orders import OrderFilter, retry_orders, selected_order_ids

    rt = _runtime(ctx)
    storefront = _known_storefront(ctx, storefront)
    if references:
        if reason or state:
            console.print("[red]name orders or select them with --reason/--state, not both[/red]")
            sys.exit(2)
        order_ids = [int(found) for found in _resolved(ctx, references, storefront, cart, "retry")]
    elif storefront or reason or state:
        order_ids = selected_order_ids(rt.ledger, OrderFilter(storefront, state or "needs_attention",
                                                              reason))
    else:
        console.print("[red]name orders, or select them with --reason, --storefront or "
                      "--state[/red]")
        sys.exit(2)
    outcomes = retry_orders(rt.ledger, rt.storefronts, order_ids)
    if not outcomes:
        console.print("no order matched")
    for outcome in outcomes:
        mark = "[green]ok[/green]" if outcome.done else "[red]not done[/red]"
        console.print(f"{mark} {_escape(outcome.message)}", soft_wrap=True, highlight=False)
    done = sum(outcome.done for outcome in outcomes)
    console.print(f"retried {done} of {len(outcomes)} order(s); {len(outcomes) - done} not done",
                  highlight=False)
    sys.exit(0 if done == len(outcomes) else 1)


def _decide(ctx: click.Context, action: str, references: tuple[str, ...], storefront: str | None,
            rule: str | None, all_held: bool, by: str | None, reason: str | None = None,
            cart: bool = False) -> None:
    from bridge.services.holds import NothingSelected, Selection, decide

    rt = _runtime(ctx)
    storefront = _known_storefront(ctx, storefront)
    ids = _resolved(ctx, references, storefront, cart, action)
    selection = Selection(ids, storefront, rule, all_held, reason)
    who = by or os.environ.get("USER") or "the command line"
    try:
        outcomes = decide(rt.ledger, rt.storefronts, action, selection, who, rt.cart)
    except NothingSelected as exc:
        console.print(f"[red]{_escape(str(exc))}[/red]")
        sys.exit(2)
    if not outcomes:
        console.print("no order matched")
    for outcome in outcomes:
        mark = "[green]ok[/green]" if outcome.done else "[red]refused[/red]"
        console.print(f"{mark} {_escape(outcome.message)}", soft_wrap=True, highlight=False)
    done = sum(outcome.done for outcome in outcomes)
    if outcomes:
        past = {"approve": "approved", "hold": "held", "release": "released"}[action]
        console.print(f"{past} {done} of {len(outcomes)} order(s); {len(outcomes) - done} refused",
                      highlight=False)
    sys.exit(0 if done == len(outcomes) else 1)


def _decision_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed((
        click.argument("references", nargs=-1),
        click.option("--storefront", "-s", help="Only orders of this storefront."),
        click.option("--by", help="Who decides, for the event log and the shop's note "
                                  "(default: $USER)."),
        click.option("--cart", is_flag=True, help="REFERENCES are the shop's order numbers or ids."),
    )):
        command = option(command)
    return command


def _held_filters(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option("--all-held", is_flag=True, help="Every order on hold.")(command)
    command = click.option("--reason", help="Held orders whose hold reason (as `bridge status` "
                                            "counts them) is this.")(command)
    return click.option("--rule", help="Held orders one of whose holds is this rule "
                                       "(or all_orders, awaiting_capture, manual).")(command)


@orders.command("approve")
@_decision_options
@_held_filters
@click.pass_context
def orders_approve(ctx: click.Context, references: tuple[str, ...], storefront: str | None,
                   by: str | None, cart: bool, rule: str | None, reason: str | None,
                   all_held: bool) -> None:
    """Approve held orders (by reference, or --reason/--rule/--all-held): every hold they
    have now is approved and they are sent to Amazon. Exits 1 when one was refused."""
    _decide(ctx, "approve", references, storefront, rule, all_held, by, reason, cart)


@orders.command("hold")
@_decision_options
@click.pass_context
def orders_hold(ctx: click.Context, references: tuple[str, ...], storefront: str | None,
                by: str | None, cart: bool) -> None:
    """Hold orders Amazon does not have yet until approved or released."""
    _decide(ctx, "hold", references, storefront, None, False, by, None, cart)


@orders.command("release")
@_decision_options
@_held_filters
@click.pass_context
def orders_release(ctx: click.Context, references: tuple[str, ...], storefront: str | None,
                   by: str | None, cart: bool, rule: str | None, reason: str | None,
                   all_held: bool) -> None:
    """Lift holds made by hand (`orders hold`); rules that hold an order still do."""
    _decide(ctx, "release", references, storefront, rule, all_held, by, reason, cart)


@orders.command("archive")
@click.option("--older-than-days", type=int, required=True,
              help="Archive finished orders whose last change is older than this (at least 7).")
@click.option("--storefront", "-s", help="Only this storefront (default: every configured one).")
@click.option("--dry-run", is_flag=True, help="Count what would be archived; change nothing.")
@click.pass_context
def orders_archive(ctx: click.Context, older_than_days: int, storefront: str | None,
                   dry_run: bool) -> None:
    """Move finished orders (complete, cancelled, ignored) with their history out of the
    live tables into the archive, in batches; `orders show` still finds them. Replenishment
    hints count the sales of live orders: keep at least their window (30 days) live."""
    from bridge.services.retention import RetentionRefused, archive_finished

    rt = _runtime(ctx)
    storefront = _known_storefront(ctx, storefront)
    try:
        result = archive_finished(rt.ledger, [storefront] if storefront else list(rt.storefronts),
                                  older_than_days, dry_run=dry_run)
    except RetentionRefused as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        sys.exit(2)
    verb = "would archive" if dry_run else "archived"
    for name, count in result.archived.items():
        console.print(f"  {name}: {count}")
    console.print(f"{verb} {result.total} finished order(s) last changed before "
                  f"{result.cutoff.isoformat(timespec='seconds')}")


@main.group()
def storefront() -> None:
    """Pause or resume a storefront."""


@storefront.command("resume")
@click.argument("name")
@click.pass_context
def storefront_resume(ctx: click.Context, name: str) -> None:
    """Resume a storefront paused by hand or after a fatal error (e.g. credentials fixed)."""
    from bridge.ledger import repo

    rt = _runtime(ctx)
    _known_storefront(ctx, name)
    with rt.ledger.transaction() as session:
        repo.resume_storefront(session, name)
    console.print(f"{name} resumed")


@storefront.command("pause")
@click.argument("name")
@click.option("--reason", default="paused by hand", show_default=True,
              help="Why, shown by `bridge status` until resumed.")
@click.pass_context
def storefront_pause(ctx: click.Context, name: str, reason: str) -> None:
    """Stop polling, submitting and syncing a storefront until `storefront resume`."""
    from bridge.ledger import repo

    rt = _runtime(ctx)
    _known_storefront(ctx, name)
    with rt.ledger.transaction() as session:
        repo.pause_storefront(session, name, reason)
    console.print(f"{name} paused")


# ---------------------------------------------------------------- demo and simulator

@main.command()
@click.option("--orders", "order_count", default=20, show_default=True, help="Demo orders to place.")
@click.option("--workdir", default="var/demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's config, store, ledger and broker (made afresh).")
@click.option("--timeout", default=300, show_default=True, help="Give up after this many seconds.")
def demo(order_count: int, workdir: str, timeout: int) -> None:
    """Run the whole flow on this machine: a demo store, the simulated fulfillment
    network, worker and scheduler; show progress and a summary."""
    from bridge.demo import run_demo

    ok = run_demo(Path(workdir), order_count=order_count, timeout=timeout, console=console)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
