"""`bridge webhooks register`: subscribe a storefront's shop to bridge's webhook receiver
(`bridge serve`), so a paid order is polled the moment the platform tells, not at the
next poll. Idempotent: what is already subscribed is listed, not created twice."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bridge.cli_common import known_storefront
from bridge.cli_common import runtime as _runtime
from bridge.errors import BridgeError

console = Console()


@click.group()
def webhooks() -> None:
    """The platforms' webhooks, which nudge a storefront's polling the moment an order
    is paid (`bridge serve` receives them)."""


@webhooks.command("register")
@click.option("--storefront", "-s", required=True, help="The storefront whose shop sends them.")
@click.option("--url", "base_url",
              help="bridge serve's public base URL, e.g. https://bridge.example.com "
                   "(default: http://[serve] host:port, reachable only from this machine).")
@click.option("--list", "only_list", is_flag=True, help="Only list the shop's subscriptions.")
@click.pass_context
def webhooks_register(ctx: click.Context, storefront: str, base_url: str | None,
                      only_list: bool) -> None:
    """Subscribe STOREFRONT's shop to bridge's receiver at BASE/webhooks/<storefront>/<platform>:
    Shopify orders/paid, updated, cancelled; WooCommerce order.created, updated; BigCommerce
    store/order/created, updated, statusUpdated. Exit 2 when the storefront cannot have them."""
    from bridge.carts.webhooks import join_url
    from bridge.web.webhooks import NotConfigured, subscriptions_of

    known_storefront(ctx, storefront)
    rt = _runtime(ctx)
    serve = rt.config.settings.serve
    base = base_url or f"http://{serve.host}:{serve.port}"
    address = None if only_list else join_url(base, storefront, rt.storefront(storefront).cart.platform)
    try:
        found = subscriptions_of(rt, storefront, address)
    except NotConfigured as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        sys.exit(2)
    except (BridgeError, ValueError) as exc:
        console.print(f"[red]the shop refused: {escape(str(exc))}[/red]", soft_wrap=True)
        sys.exit(1)
    table = Table("id", "topic", "address", "active", "")
    for subscription, created in found:
        table.add_row(escape(subscription.id), escape(subscription.topic),
                      escape(subscription.address), "yes" if subscription.active else "no",
                      "created" if created else ("" if only_list else "already there"))
    console.print(table)
    if address is not None and not base.startswith("https://"):
        console.print("[yellow]the platforms deliver only to https:// addresses outside this "
                      "machine: give --url the public address of bridge serve[/yellow]",
                      soft_wrap=True)
