"""`bridge sim ...`: run the simulator, and drive a running one through its admin API."""

from __future__ import annotations

import json
from dataclasses import replace

import click

from bridge.sim.client import DEFAULT_URL, SimAdmin, SimAdminError
from bridge.sim.config import DEFAULT_PORT, SimConfig

_url_option = click.option("--url", default=DEFAULT_URL, show_default=True,
                           help="Base URL of a running simulator.")


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
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--db", "db_path", type=click.Path(dir_okay=False),
              help="SQLite file that keeps state across restarts.")
@click.option("--memory", is_flag=True, help="Keep state in memory only (the default).")
@click.option("--clock-factor", default=1.0, show_default=True, type=float,
              help="Simulated seconds per real second; 0 freezes the clock.")
@click.option("--strict-auth", is_flag=True,
              help="Accept only the LWA credentials given below.")
@click.option("--client-id", envvar="BRIDGE_SIM_CLIENT_ID")
@click.option("--client-secret", envvar="BRIDGE_SIM_CLIENT_SECRET")
@click.option("--refresh-token", "refresh_tokens", multiple=True,
              envvar="BRIDGE_SIM_REFRESH_TOKEN")
@click.option("--no-rate-limits", is_flag=True, help="Never answer 429.")
def serve(host, port, db_path, memory, clock_factor, strict_auth, client_id, client_secret,
          refresh_tokens, no_rate_limits) -> None:
    """Run the simulator in the foreground."""
    from bridge.sim.server import serve as run

    if memory and db_path:
        raise click.UsageError("--db and --memory exclude each other")
    if strict_auth and not (client_id and client_secret and refresh_tokens):
        raise click.UsageError("--strict-auth needs --client-id, --client-secret and "
                               "at least one --refresh-token")
    config = replace(SimConfig(), strict_auth=strict_auth, client_id=client_id,
                     client_secret=client_secret, refresh_tokens=tuple(refresh_tokens),
                     rate_limits=not no_rate_limits)
    click.echo(f"bridge simulator on http://{host}:{port} "
               f"(state: {db_path or 'memory'}, clock x{clock_factor:g})")
    run(host=host, port=port, db_path=None if memory else db_path,
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
@_url_option
def reset(url: str) -> None:
    """Forget every order, stock level, fault and call count."""
    _print(_admin_call(lambda: SimAdmin(url).reset()))


@sim.command()
@click.argument("levels", nargs=-1, required=True)
@_url_option
def stock(levels: tuple[str, ...], url: str) -> None:
    """Set fulfillable stock: SKU=QTY ... (absolute; creates unknown SKUs)."""
    parsed: dict[str, int] = {}
    for level in levels:
        sku, sep, quantity = level.rpartition("=")
        if not sep or not sku or not quantity.isdigit():
            raise click.BadParameter(f"{level!r} is not SKU=QTY", param_hint="LEVELS")
        parsed[sku] = int(quantity)
    _print(_admin_call(lambda: SimAdmin(url).set_stock(parsed)))


@sim.command()
@click.argument("operation", required=False)
@click.option("--status", type=int, default=503, show_default=True,
              help="HTTP status to answer with.")
@click.option("--rate", type=float, default=1.0, show_default=True,
              help="Chance (0..1) that a matching call fails.")
@click.option("--latency", type=float, default=0.0, show_default=True,
              help="Seconds added to every matching call.")
@click.option("--drop", is_flag=True,
              help="Perform the operation, then hold the answer back (a lost response).")
@click.option("--count", type=int, help="Fail this many times, then stop.")
@click.option("--clear", is_flag=True, help="Remove every fault instead.")
@_url_option
def fault(operation, status, rate, latency, drop, count, clear, url) -> None:
    """Inject a fault into OPERATION (an operationId, or '*' for all)."""
    admin = SimAdmin(url)
    if clear:
        _print(_admin_call(admin.clear_faults))
        return
    if not operation:
        raise click.UsageError("name an OPERATION (or '*'), or pass --clear")
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
