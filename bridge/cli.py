"""The `bridge` command. Commands parse options, call one function, and print."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from bridge.cli_common import print_config_problems as _print_config_problems
from bridge.cli_common import runtime as _runtime
from bridge.errors import ConfigError

if TYPE_CHECKING:  # loaded only when a command runs: `bridge --help` stays quick
    from bridge.bootstrap import Runtime
    from bridge.config import BridgeSettings
    from bridge.services.online_check import StorefrontReport

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
        runtime.close()
        sys.exit(2)
    return runtime


class _Commands(click.Group):
    """The command groups of their own modules are imported only when named: the
    inbound workflow and the simulator's server would add most of a second to the
    start of every command (`bridge status` included)."""

    LAZY = ("inbound", "returns", "sim", "stock")

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
        return super().get_command(ctx, cmd_name)


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
@click.pass_context
def run(ctx: click.Context, concurrency: int) -> None:
    """Run worker and scheduler in one process (the embedded default)."""
    from bridge.daemon import run_embedded

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

@main.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Per storefront: open orders by state, last poll, lag, and what needs attention."""
    from bridge.services.orders import storefront_status

    rt = _runtime(ctx)
    for name in rt.storefronts:
        report = storefront_status(rt.ledger, name)
        head = f"[bold]{name}[/bold]"
        if report.paused:
            head += f"  [red]PAUSED: {report.paused}[/red]"
        console.print(head)
        for flow in report.degraded:  # a remote that keeps failing, in words
            console.print(f"  [red]DEGRADED: {flow.flow} has failed {flow.failures} runs in a row "
                          f"since {flow.since.isoformat(timespec='seconds')}: {flow.error}[/red]",
                          soft_wrap=True)
        counts = ", ".join(f"{state} {count}" for state, count in sorted(report.counts.items()))
        # Open states only: finished orders are the history, not the state of things.
        console.print(f"  open orders: {counts or 'none'}")
        if report.holds:  # waiting for a person's approval (bridge orders approve)
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(report.holds.items()))
            console.print(f"  [yellow]on hold: {sum(report.holds.values())} ({reasons})[/yellow]",
                          soft_wrap=True)
        poll = report.last_order_poll.isoformat(timespec='seconds') if report.last_order_poll else "never"
        lag = f"{report.lag_seconds:.0f}s" if report.lag_seconds is not None else "-"
        console.print(f"  last order poll: {poll}   lag: {lag}   tracking to write: {report.unpushed_packages}")
        if report.open_returns:
            console.print(f"  returns being followed: {report.open_returns} (bridge returns list)")
        if report.deliveries_given_up:
            console.print(f"  [yellow]deliveries no longer followed: {report.deliveries_given_up} "
                          "package(s) without a final milestone[/yellow]")
        checked = (report.stock_checked_at.isoformat(timespec="seconds")
                   if report.stock_checked_at else "never")
        drift = (f"[yellow]{report.drifted_skus} SKU(s) drifted[/yellow] (bridge stock drift)"
                 if report.drifted_skus else "no drift")
        console.print(f"  stock: last synced {checked}   {drift}")
        if report.inbound:
            table = Table("plan", "shipment", "status", "expected", "received", "still to receive",
                          title="open inbound shipments")
            for plan_name, shipment, state, expected, received in report.inbound:
                table.add_row(plan_name, shipment, state, str(expected), str(received),
                              str(max(0, expected - received)))
            console.print(table)
        if report.attention:
            table = Table("id", "order", "reason", "message", "since", title="needs attention")
            for item in report.attention:
                table.add_row(str(item["id"]), item["number"], item["reason"], item["message"],
                              item["since"].isoformat(timespec="seconds"))
            console.print(table)
        if report.stalled:  # submissions over their retry budget; bridge keeps retrying
            stalled_table = Table("id", "order", "state", "attempts", "reason", "failing since",
                                  "stalled since", title="stalled (still retrying)")
            for stalled in report.stalled:
                failing, since = stalled["failing_since"], stalled["since"]
                stalled_table.add_row(
                    str(stalled["id"]), stalled["number"], stalled["state"], str(stalled["attempts"]),
                    stalled["reason"], failing.isoformat(timespec="seconds") if failing else "-",
                    since.isoformat(timespec="seconds") if since else "-")
            console.print(stalled_table)
        if report.flags:
            table = Table("kind", "order", "message", "since", title="watchdog")
            for flag in report.flags:
                table.add_row(flag["kind"], flag["order"] or "-", flag["message"],
                              flag["since"].isoformat(timespec="seconds"))
            console.print(table)


@main.group()
def orders() -> None:
    """List, inspect, retry, approve and hold orders."""


@orders.command("list")
@click.option("--storefront", "-s")
@click.option("--state")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def orders_list(ctx: click.Context, storefront: str | None, state: str | None, limit: int) -> None:
    from bridge.services.orders import list_orders

    rt = _runtime(ctx)
    table = Table("id", "storefront", "order", "state", "amazon", "fulfillment order id", "reason")
    for row in list_orders(rt.ledger, storefront, state, limit):
        table.add_row(str(row.id), row.storefront, row.number, row.state, row.amazon_status,
                      row.seller_fulfillment_order_id or "", row.attention_reason)
    console.print(table)


@orders.command("show")
@click.argument("reference")
@click.option("--storefront", "-s")
@click.pass_context
def orders_show(ctx: click.Context, reference: str, storefront: str | None) -> None:
    """Show one order (ledger id, cart id, number or fulfillment order id) and its event log."""
    from bridge.services.orders import OrderNotFound, show_order

    rt = _runtime(ctx)
    try:
        row = show_order(rt.ledger, reference, storefront)
    except OrderNotFound as exc:
        console.print(f"[red]{exc}[/red]")
        sys.exit(1)
    console.print(f"[bold]order {row.number}[/bold] ({row.storefront}, cart id {row.cart_order_id}, "
                  f"ledger id {row.id})")
    if row.archived_at is not None:
        console.print(f"  archived {row.archived_at.isoformat(timespec='seconds')} "
                      "(finished; no longer in the live tables)")
    console.print(f"  state: {row.state}   amazon: {row.amazon_status or '-'}   "
                  f"fulfillment order: {row.seller_fulfillment_order_id or '-'}   attempts: {row.attempts}")
    if row.state == "on_hold":
        console.print(f"  [yellow]on hold ({row.attention_reason}): {row.last_error}[/yellow]")
    elif row.attention_reason:
        console.print(f"  [yellow]needs attention: {row.attention_reason}: {row.last_error}[/yellow]")
    for package in row.packages:
        pushed = package.pushed_at.isoformat(timespec="seconds") if package.pushed_at else "not yet"
        where = f", delivery: {package.delivery}" if package.delivery else ""
        console.print(f"  package {package.package_number}: {package.carrier} {package.tracking_number} "
                      f"(in cart: {pushed}{where})")
    table = Table("when", "event", "from", "to", "message", title="events")
    for event in row.events:
        table.add_row(event.created_at.isoformat(timespec="seconds"), event.kind, event.from_state,
                      event.to_state, event.message)
    console.print(table)


@orders.command("retry")
@click.argument("reference")
@click.option("--storefront", "-s")
@click.pass_context
def orders_retry(ctx: click.Context, reference: str, storefront: str | None) -> None:
    """Send a needs-attention order round again after fixing its data or the config."""
    from bridge.services.orders import OrderNotFound, retry

    rt = _runtime(ctx)
    try:
        state = retry(rt.ledger, rt.storefronts, reference, storefront)
    except (OrderNotFound, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        sys.exit(1)
    console.print(f"order is now {state}")


def _decide(ctx: click.Context, action: str, references: tuple[str, ...], storefront: str | None,
            rule: str | None, all_held: bool, by: str | None) -> None:
    from rich.markup import escape

    from bridge.services.holds import NothingSelected, Selection, decide

    rt = _runtime(ctx)
    selection = Selection(references, storefront, rule, all_held)
    who = by or os.environ.get("USER") or "the command line"
    try:
        outcomes = decide(rt.ledger, rt.storefronts, action, selection, who, rt.cart)
    except NothingSelected as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        sys.exit(2)
    if not outcomes:
        console.print("no order matched")
    for outcome in outcomes:
        mark = "[green]ok[/green]" if outcome.done else "[red]refused[/red]"
        console.print(f"{mark} {escape(outcome.message)}", soft_wrap=True, highlight=False)
    sys.exit(0 if all(outcome.done for outcome in outcomes) else 1)


def _decision_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed((
        click.argument("references", nargs=-1),
        click.option("--storefront", "-s", help="Only orders of this storefront."),
        click.option("--by", help="Who decides, for the event log and the shop's note "
                                  "(default: $USER)."),
    )):
        command = option(command)
    return command


def _held_filters(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option("--all-held", is_flag=True, help="Every order on hold.")(command)
    return click.option("--rule", help="Held orders one of whose holds is this rule "
                                       "(or all_orders, awaiting_capture, manual).")(command)


@orders.command("approve")
@_decision_options
@_held_filters
@click.pass_context
def orders_approve(ctx: click.Context, references: tuple[str, ...], storefront: str | None,
                   by: str | None, rule: str | None, all_held: bool) -> None:
    """Approve held orders (by reference, or --rule/--all-held): every hold they have now
    is approved and they are sent to Amazon."""
    _decide(ctx, "approve", references, storefront, rule, all_held, by)


@orders.command("hold")
@_decision_options
@click.pass_context
def orders_hold(ctx: click.Context, references: tuple[str, ...], storefront: str | None,
                by: str | None) -> None:
    """Hold orders Amazon does not have yet until approved or released."""
    _decide(ctx, "hold", references, storefront, None, False, by)


@orders.command("release")
@_decision_options
@_held_filters
@click.pass_context
def orders_release(ctx: click.Context, references: tuple[str, ...], storefront: str | None,
                   by: str | None, rule: str | None, all_held: bool) -> None:
    """Lift holds made by hand (`orders hold`); rules that hold an order still do."""
    _decide(ctx, "release", references, storefront, rule, all_held, by)


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
    """Resume a storefront paused after a fatal error (e.g. credentials fixed)."""
    from bridge.ledger import repo

    rt = _runtime(ctx)
    with rt.ledger.transaction() as session:
        repo.resume_storefront(session, name)
    console.print(f"{name} resumed")


@storefront.command("pause")
@click.argument("name")
@click.option("--reason", default="paused by hand")
@click.pass_context
def storefront_pause(ctx: click.Context, name: str, reason: str) -> None:
    from bridge.ledger import repo

    rt = _runtime(ctx)
    with rt.ledger.transaction() as session:
        repo.pause_storefront(session, name, reason)
    console.print(f"{name} paused")


# ---------------------------------------------------------------- demo and simulator

@main.command()
@click.option("--orders", "order_count", default=20, show_default=True, help="Demo orders to place.")
@click.option("--workdir", default="var/demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--timeout", default=300, show_default=True, help="Give up after this many seconds.")
def demo(order_count: int, workdir: str, timeout: int) -> None:
    """Run the whole flow on this machine: a demo store, the simulated fulfillment
    network, worker and scheduler; show progress and a summary."""
    from bridge.demo import run_demo

    ok = run_demo(Path(workdir), order_count=order_count, timeout=timeout, console=console)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
