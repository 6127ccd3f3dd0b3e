"""`bridge demo`: the whole flow on one machine with nothing installed but bridge.
It writes a self-contained configuration (SQLite ledger, SQLite broker, a SQLite demo
store, the simulated fulfillment network on a free port), places orders, starts the
daemon as a child process, shows progress, and ends with a summary."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table
from sqlalchemy import func, select

from bridge import demo_store
from bridge.domain.states import OrderState as S
from bridge.invocation import bridge_command
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, Package, ShopStock
from bridge.sim.client import SimAdmin
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

DEMO_SKUS = ("MUG-BLUE", "MUG-RED", "TEE-M", "TEE-L", "CAP-01")
DEMO_STOCK = 400
CLOCK_FACTOR = 60.0


def write_config(workdir: Path, sim_url: str, *, database_url: str | None = None,
                 broker_url: str | None = None, store_url: str | None = None,
                 rate_limit_url: str = "", poll_seconds: float = 2.0,
                 stock_seconds: float = 3.0, stale_after_seconds: int = 30,
                 timeout_seconds: float = 10) -> Path:
    """A configuration folder for a demo storefront against the simulator at `sim_url`."""
    config_dir = workdir / "config"
    (config_dir / "storefronts").mkdir(parents=True, exist_ok=True)
    secrets_dir = workdir / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    (secrets_dir / "lwa-client-secret").write_text("demo-client-secret-0123456789\n")
    (secrets_dir / "lwa-refresh-token").write_text("Atzr|demo-refresh-token-0123456789\n")
    database_url = database_url or f"sqlite:///{(workdir / 'ledger.db').resolve()}"
    broker_url = broker_url or f"sqla+sqlite:///{(workdir / 'broker.db').resolve()}"
    store_url = store_url or f"sqlite:///{(workdir / 'store.db').resolve()}"
    (config_dir / "bridge.toml").write_text(
        f'database_url = "{database_url}"\n'
        f'broker_url = "{broker_url}"\n'
        f'rate_limit_url = "{rate_limit_url}"\n'
        'log_format = "json"\n'
        "sweep_seconds = 5\n"
        f"stale_after_seconds = {stale_after_seconds}\n"
    )
    (config_dir / "storefronts" / "demo.toml").write_text(
        f'''name = "demo"
order_id_prefix = "DEMO"

[cart]
platform = "sql"
url = "{store_url}"

[fulfillment]
region = "NA"
marketplace_id = "ATVPDKIKX0DER"
endpoint = "{sim_url}"
client_id = "amzn1.application-oa2-client.demo"
client_secret = "file:{(secrets_dir / 'lwa-client-secret').resolve()}"
refresh_token = "file:{(secrets_dir / 'lwa-refresh-token').resolve()}"
timeout_seconds = {timeout_seconds}

[policy]
shipping_speeds = {{ Standard = "Standard", Expedited = "Expedited", Priority = "Priority" }}
comment_template = "Thank you for shopping with us (order {{number}})."

[poll]
orders_seconds = {poll_seconds}
status_seconds = {poll_seconds}
stock_seconds = {stock_seconds}
overlap_seconds = 30
'''
    )
    return config_dir


@dataclass
class Progress:
    seen: int = 0
    submitted: int = 0
    shipped: int = 0
    complete: int = 0
    needs_attention: int = 0
    packages: int = 0
    tracking_in_cart: int = 0
    skus_synced: int = 0
    stock_matches: bool = False


def read_progress(ledger: Ledger, store_url: str, sim_url: str) -> Progress:
    progress = Progress()
    with ledger.transaction() as session:
        counts = dict(session.execute(select(Order.state, func.count()).group_by(Order.state)).all())
        progress.seen = sum(counts.values())
        progress.submitted = session.scalar(
            select(func.count()).where(Order.accepted_at.is_not(None))) or 0
        progress.shipped = counts.get(S.SHIPPED, 0) + counts.get(S.COMPLETE, 0)
        progress.complete = counts.get(S.COMPLETE, 0)
        progress.needs_attention = counts.get(S.NEEDS_ATTENTION, 0)
        progress.packages = session.scalar(select(func.count()).select_from(Package)) or 0
        progress.skus_synced = session.scalar(
            select(func.count()).select_from(ShopStock)
            .where(ShopStock.shop_quantity == ShopStock.target)) or 0
    progress.tracking_in_cart = len(demo_store.read_shipments(store_url))
    cart_stock = demo_store.read_stock(store_url)
    sim_stock = sim_fulfillable(sim_url)
    progress.stock_matches = bool(sim_stock) and all(
        cart_stock.get(sku) == qty for sku, qty in sim_stock.items()
    )
    return progress


def sim_fulfillable(sim_url: str) -> dict[str, int]:
    return {sku: int(item["fulfillable"]) for sku, item in SimAdmin(sim_url).inventory().items()}


def _table(progress: Progress, total: int, elapsed: float) -> Table:
    table = Table(title=f"bridge demo — {elapsed:5.1f}s", show_header=True)
    table.add_column("step")
    table.add_column("count", justify="right")
    table.add_row("orders placed in the demo store", str(total))
    table.add_row("orders seen by bridge", str(progress.seen))
    table.add_row("submitted to the fulfillment network", str(progress.submitted))
    table.add_row("shipped by the fulfillment network", str(progress.shipped))
    table.add_row("packages shipped", str(progress.packages))
    table.add_row("tracking numbers written to the store", str(progress.tracking_in_cart))
    table.add_row("orders complete", str(progress.complete))
    table.add_row("SKUs with stock synced", str(progress.skus_synced))
    table.add_row("store stock equals FBA fulfillable", "yes" if progress.stock_matches else "not yet")
    if progress.needs_attention:
        table.add_row("[yellow]needs attention[/yellow]", str(progress.needs_attention))
    return table


def _done(progress: Progress, total: int) -> bool:
    return (
        progress.complete == total
        and progress.tracking_in_cart == progress.packages
        and progress.stock_matches
    )


def run_demo(workdir: Path, *, order_count: int = 20, timeout: float = 300,
             console: Console | None = None) -> bool:
    console = console or Console()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    store_url = f"sqlite:///{(workdir / 'store.db').resolve()}"

    with SimServer(SimConfig(clock_factor=CLOCK_FACTOR)) as sim:
        config_dir = write_config(workdir, sim.base_url)
        sim.admin.set_stock({sku: DEMO_STOCK for sku in DEMO_SKUS})
        demo_store.create_schema(store_url)
        demo_store.place_orders(store_url, order_count, DEMO_SKUS)
        console.print(f"[bold]bridge demo[/bold]: {order_count} orders in the demo store, "
                      f"simulated fulfillment network at {sim.base_url} (clock ×{CLOCK_FACTOR:g}); "
                      f"daemon log: {workdir / 'bridge.log'}")
        env = {**os.environ, "BRIDGE_CONFIG_DIR": str(config_dir)}
        with open(workdir / "bridge.log", "wb") as log_file:
            # -P: the installed bridge, even when started from a source checkout.
            daemon = subprocess.Popen(
                [sys.executable, "-P", "-m", "bridge.cli", "run"], env=env,
                stdout=log_file, stderr=subprocess.STDOUT,
            )
        ledger_engine = None
        started = time.monotonic()
        progress = Progress()
        ok = False
        try:
            from bridge.config import load_config

            ledger_engine = make_engine(load_config(config_dir).settings.database_url)
            ledger = Ledger(ledger_engine)
            with Live(_table(progress, order_count, 0), console=console, refresh_per_second=4) as live:
                while time.monotonic() - started < timeout:
                    time.sleep(0.5)
                    if daemon.poll() is not None:
                        console.print(f"[red]the daemon stopped (exit {daemon.returncode}); "
                                      f"see {workdir / 'bridge.log'}[/red]")
                        break
                    try:
                        progress = read_progress(ledger, store_url, sim.base_url)
                    except Exception:  # tables not created yet by the daemon
                        continue
                    live.update(_table(progress, order_count, time.monotonic() - started))
                    if _done(progress, order_count):
                        ok = True
                        break
            if not console.is_terminal:
                console.line()  # off a terminal the last table ends without a line break
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
            if ledger_engine is not None:
                ledger_engine.dispose()
    elapsed = time.monotonic() - started
    bridge = f"{bridge_command()} -c {config_dir}"
    if ok:
        console.print(
            f"[green]done[/green] in {elapsed:.1f}s: {progress.complete} orders fulfilled, "
            f"{progress.packages} packages, {progress.tracking_in_cart} tracking numbers in the "
            f"store, stock of {progress.skus_synced} SKUs synced. "
            f"Try: `{bridge} status` and `{bridge} orders show 1`", soft_wrap=True
        )
    else:
        console.print(f"[red]demo did not finish in {timeout:.0f}s[/red]; "
                      f"see {workdir / 'bridge.log'} and `{bridge} status`", soft_wrap=True)
    return ok
