"""`bridge sim ...`: run the simulator, and drive a running one through its admin API."""

from __future__ import annotations

import json
from dataclasses import replace

import click

from bridge.sim import limits, server
from bridge.sim.client import DEFAULT_URL, SimAdmin, SimAdminError
from bridge.sim.config import DEFAULT_PORT, SimConfig
from bridge.sim.outbound.tracking import OUTCOMES as TRACKING_OUTCOMES

_url_option = click.option("--url", default=DEFAULT_URL, show_default=True,
                           help="Base URL of a running simulator.")
_marketplace_option = click.option(
    "--marketplace", "marketplace_id", metavar="ID",
    help="Marketplace whose stock this is (e.g. A2EUQ1WTGCTBG2 for Canada) "
         "[default: the simulator's own].")


def _print(data) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def _admin_call(fn):
    try:
        return fn()
    except SimAdminError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:  # connection refused, timeouts
        raise click.ClickException(f"cannot reach the simulator: {error}") from None


@click.group()
def sim() -> None:
    """The simulated fulfillment network (an SP-API-speaking local service)."""


@sim.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False),
              help="SQLite file that keeps state across restarts.")
@click.option("--memory", is_flag=True, help="Keep state in memory only (the default).")
@click.option("--clock-factor", default=1.0, show_default=True, type=float,
              help="Simulated seconds per real second; 0 freezes the clock.")
@click.option("--strict-auth", is_flag=True,
              help="Accept only the LWA credentials given below.")
@click.option("--client-id", envvar="BRIDGE_SIM_CLIENT_ID",
              help="LWA client id accepted with --strict-auth.")
@click.option("--client-secret", envvar="BRIDGE_SIM_CLIENT_SECRET",
              help="LWA client secret accepted with --strict-auth.")
@click.option("--refresh-token", "refresh_tokens", multiple=True,
              envvar="BRIDGE_SIM_REFRESH_TOKEN",
              help="An LWA refresh token accepted with --strict-auth (repeatable).")
@click.option("--no-rate-limits", is_flag=True, help="Never answer 429.")
@click.option("--limits", "limits_profile", type=click.Choice(limits.PROFILES),
              default=limits.DOCS, show_default=True,
              help="Default rate limits: Amazon's current documentation, or the models' "
                   "usage-plan tables.")
@click.option("--accept-short-orders", is_flag=True,
              help="Accept orders short of stock as Received and let their policy decide at "
                   "planning, instead of marking them Invalid at create.")
@click.option("--seed", type=int, help="Seed for the fault dice, so a run can be replayed.")
def serve(host, port, db_path, memory, clock_factor, strict_auth, client_id, client_secret,
          refresh_tokens, no_rate_limits, limits_profile, accept_short_orders, seed) -> None:
    """Run the simulator in the foreground."""
    if memory and db_path:
        raise click.UsageError("--db and --memory exclude each other")
    if strict_auth and not (client_id and client_secret and refresh_tokens):
        raise click.UsageError("--strict-auth needs --client-id, --client-secret and "
                               "at least one --refresh-token")
    config = replace(SimConfig(), strict_auth=strict_auth, client_id=client_id,
                     client_secret=client_secret, refresh_tokens=tuple(refresh_tokens),
                     rate_limits=not no_rate_limits, rate_limit_profile=limits_profile,
                     invalid_when_short=not accept_short_orders, fault_seed=seed)
    click.echo(f"bridge simulator on http://{host}:{port} "
               f"(state: {db_path or 'memory'}, clock x{clock_factor:g})")
    server.serve(host=host, port=port, db_path=None if memory else db_path,
                 clock_factor=clock_factor, config=config)


@sim.command()
@click.argument("seconds", type=float)
@_url_option
def advance(seconds: float, url: str) -> None:
    """Move the simulated clock forward by SECONDS."""
    _print(_admin_call(lambda: SimAdmin(url).advance(seconds)))


@sim.command()
@click.option("--factor", type=float, help="Set the clock speed (0 freezes it).")
@_url_option
def clock(factor: float | None, url: str) -> None:
    """Show the simulated time (and optionally set its speed)."""
    admin = SimAdmin(url)
    _print(_admin_call(admin.clock if factor is None else lambda: admin.set_clock_factor(factor)))


@sim.command()
@click.option("--seed", type=int, help="Restart the fault dice from this seed.")
@_url_option
def reset(seed: int | None, url: str) -> None:
    """Forget orders, stock, plans, faults and call counts; restore the rate limits."""
    _print(_admin_call(lambda: SimAdmin(url).reset(seed)))


@sim.command()
@click.argument("levels", nargs=-1, required=True)
@click.option("--center", help="Set this fulfillment center's shelf only (e.g. PHX6).")
@_marketplace_option
@_url_option
def stock(levels: tuple[str, ...], center: str | None, marketplace_id: str | None,
          url: str) -> None:
    """Set fulfillable stock: SKU=QTY ... (absolute; creates unknown SKUs)."""
    parsed: dict[str, int] = {}
    for level in levels:
        sku, sep, quantity = level.rpartition("=")
        if not sep or not sku or not quantity.isdigit():
            raise click.BadParameter(f"{level!r} is not SKU=QTY", param_hint="LEVELS")
        parsed[sku] = int(quantity)
    _print(_admin_call(lambda: SimAdmin(url).set_stock(parsed, fulfillment_center=center,
                                                       marketplace_id=marketplace_id)))


@sim.command()
@click.argument("sku")
@click.argument("quantity", type=click.IntRange(min=0))
@click.option("--center", help="Lose them in this fulfillment center only (e.g. PHX6).")
@_marketplace_option
@_url_option
def lose(sku: str, quantity: int, center: str | None, marketplace_id: str | None,
         url: str) -> None:
    """QUANTITY units of SKU found missing, after orders were accepted: off the shelf,
    then out of open orders' reservations."""
    _print(_admin_call(lambda: SimAdmin(url).lose_stock(sku, quantity, center,
                                                        marketplace_id)))


@sim.command()
@click.option("--marketplace", "marketplace_id", metavar="ID",
              help="Show this marketplace's stock [default: the simulator's own].")
@click.option("--all", "everywhere", is_flag=True,
              help="Show every marketplace's stock, as a list.")
@_url_option
def inventory(marketplace_id: str | None, everywhere: bool, url: str) -> None:
    """One marketplace's stock by SKU: fulfillable, reserved, inbound, per fulfillment
    center (each item names its marketplaceId)."""
    admin = SimAdmin(url)
    if everywhere:
        _print(_admin_call(admin.inventory_everywhere))
        return
    _print(_admin_call(lambda: admin.inventory(marketplace_id)))


@sim.command()
@click.argument("operation", required=False)
@click.option("--status", type=int,
              help="HTTP status to answer with [default: 503, unless only --latency or "
                   "--drop is given].")
@click.option("--rate", type=float, default=1.0, show_default=True,
              help="Chance (0..1) that a matching call fails.")
@click.option("--latency", type=float, default=0.0, show_default=True,
              help="Seconds added to every matching call.")
@click.option("--drop", is_flag=True,
              help="Perform the operation, then hold the answer back (a lost response).")
@click.option("--count", type=int, help="Fail this many times, then stop.")
@click.option("--clear", is_flag=True, help="Remove every fault instead.")
@click.option("--list", "list_only", is_flag=True, help="Show the armed faults instead.")
@_url_option
def fault(operation, status, rate, latency, drop, count, clear, list_only, url) -> None:
    """Inject a fault into OPERATION (an operationId, or '*' for all)."""
    admin = SimAdmin(url)
    if clear:
        _print(_admin_call(admin.clear_faults))
        return
    if list_only:
        _print(_admin_call(lambda: {"faults": admin.faults()}))
        return
    if not operation:
        raise click.UsageError("name an OPERATION (or '*'), or pass --clear or --list")
    if status is None and not latency and not drop:
        status = 503  # a bare fault fails calls; --latency or --drop alone only delay or drop
    _print(_admin_call(lambda: admin.add_fault(operation, status=status, rate=rate,
                                               latency=latency, drop_after_act=drop,
                                               count=count)))


@sim.command()
@_url_option
def orders(url: str) -> None:
    """List every fulfillment order with status, items and packages."""
    _print(_admin_call(lambda: SimAdmin(url).orders()))


@sim.command()
@_url_option
def stats(url: str) -> None:
    """How often each operation was called, and the answers given."""
    _print(_admin_call(lambda: SimAdmin(url).stats()))


@sim.command("rate-limits")
@click.option("--on/--off", "enabled", default=None, help="Switch throttling on or off.")
@click.option("--limit", "limits", multiple=True, metavar="OPERATION=RATE/BURST",
              help="Set an operation's bucket, e.g. createFulfillmentOrder=2/30.")
@_url_option
def rate_limits(enabled: bool | None, limits: tuple[str, ...], url: str) -> None:
    """Show the rate limits in force; optionally switch them or change buckets."""
    parsed: dict[str, tuple[float, int]] = {}
    for limit in limits:
        operation, _, bucket = limit.partition("=")
        rate, _, burst = bucket.partition("/")
        try:
            parsed[operation] = (float(rate), int(burst))
        except ValueError:
            raise click.BadParameter(f"{limit!r} is not OPERATION=RATE/BURST",
                                     param_hint="--limit") from None
    admin = SimAdmin(url)
    if enabled is None and not parsed:
        _print(_admin_call(admin.rate_limits))
        return
    _print(_admin_call(lambda: admin.set_rate_limits(enabled=enabled, limits=parsed)))


@sim.command()
@click.argument("order_id")
@click.argument("outcome", type=click.Choice(TRACKING_OUTCOMES))
@_url_option
def tracking(order_id: str, outcome: str, url: str) -> None:
    """Decide how ORDER_ID's packages fare (applies at once, shipped or not)."""
    _print(_admin_call(lambda: SimAdmin(url).set_tracking_outcome(order_id, outcome)))


@sim.command("cancel-by-amazon")
@click.argument("order_id")
@_url_option
def cancel_by_amazon(order_id: str, url: str) -> None:
    """Amazon cancels ORDER_ID by itself (not at the seller's asking); reservations go back."""
    _print(_admin_call(lambda: SimAdmin(url).cancel_by_amazon(order_id)))


@sim.command()
@click.argument("feature_name")
@click.option("--enroll/--unenroll", default=True, show_default=True,
              help="Whether the seller is enrolled (sellerEligible).")
@_url_option
def feature(feature_name: str, enroll: bool, url: str) -> None:
    """Enroll the seller in FEATURE_NAME (BLOCK_AMZL, BLANK_BOX, ...) or un-enroll."""
    _print(_admin_call(lambda: SimAdmin(url).set_feature_enrollment(feature_name, enroll)))


@sim.command()
@_url_option
def inbound(url: str) -> None:
    """Every inbound plan with its shipments, statuses and units received."""
    _print(_admin_call(lambda: SimAdmin(url).inbound()))


@sim.command("inbound-fail")
@click.argument("operation", required=False)
@click.option("--count", type=int, default=1, show_default=True,
              help="How many calls of OPERATION end FAILED.")
@click.option("--code", help="The problem's code (default SimulatedFailure).")
@click.option("--message", help="The problem's message.")
@click.option("--details", help="The problem's details.")
@click.option("--clear", is_flag=True, help="Disarm every armed failure instead.")
@_url_option
def inbound_fail(operation, count, code, message, details, clear, url) -> None:
    """Make the next calls of an asynchronous inbound OPERATION end FAILED.

    OPERATION is one Amazon answers with 202 (generatePlacementOptions, say); the failed
    operation changes nothing in the plan."""
    admin = SimAdmin(url)
    if clear:
        _print(_admin_call(admin.clear_inbound_failures))
        return
    if not operation:
        raise click.UsageError("name an inbound OPERATION, or pass --clear")
    _print(_admin_call(lambda: admin.fail_next_inbound(operation, count, code=code,
                                                       message=message, details=details)))
