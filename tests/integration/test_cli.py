"""The `bridge` command through its public interface (click's runner, real SQLite
ledger and store): config check, db upgrade/check, status, orders list/show/retry."""

from __future__ import annotations

from pathlib import Path

from support import bridge, poll, setup_demo

from bridge import demo_store

LONG_TEMPLATE = "x" * 800 + " {number}"


def setup_storefront(tmp_path: Path, template: str) -> Path:
    """The demo configuration with `template` for comments, two orders in the store."""
    config_dir, store = setup_demo(tmp_path, template=template)
    demo_store.place_orders(store, 2, ["MUG-BLUE"])
    return config_dir


def test_orders_flow_through_the_commands(tmp_path):
    config_dir = setup_storefront(tmp_path, LONG_TEMPLATE)
    assert bridge(config_dir, "config", "check").exit_code == 0
    assert bridge(config_dir, "db", "check").exit_code == 1  # not migrated yet
    upgraded = bridge(config_dir, "db", "upgrade")
    assert upgraded.exit_code == 0 and "revision" in upgraded.output
    assert bridge(config_dir, "db", "check").exit_code == 0

    # Ingest through the service the worker runs, then look at it with the commands.
    poll(config_dir)

    status = bridge(config_dir, "status")
    assert status.exit_code == 0
    assert "needs_attention 2" in status.output and "bad_comment" in status.output

    listing = bridge(config_dir, "orders", "list", "--state", "needs_attention")
    assert listing.output.count("bad_comment") == 2

    shown = bridge(config_dir, "orders", "show", "#1001")
    assert shown.exit_code == 0
    assert "recorded" in shown.output and "needs_attention" in shown.output
    assert bridge(config_dir, "orders", "show", "nope").exit_code == 1

    # The merchant fixes the template; retry maps the order again.
    fixed = (config_dir / "storefronts" / "demo.toml").read_text().replace(LONG_TEMPLATE, "Order {number}")
    (config_dir / "storefronts" / "demo.toml").write_text(fixed)
    retried = bridge(config_dir, "orders", "retry", "#1001")
    assert retried.exit_code == 0 and "ready" in retried.output
    again = bridge(config_dir, "orders", "retry", "#1001")
    assert again.exit_code == 1 and "not needs_attention" in again.output


def test_config_check_lists_every_problem(tmp_path):
    config_dir = setup_storefront(tmp_path, "ok {number}")
    path = config_dir / "storefronts" / "demo.toml"
    path.write_text(path.read_text().replace('default_speed', 'x') + '\n[cart.orders]\nid = "1bad"\n')
    (tmp_path / "secrets" / "lwa-refresh-token").unlink()
    result = bridge(config_dir, "config", "check")
    assert result.exit_code == 2
    assert "fulfillment.refresh_token" in result.output
    assert "cart.orders.id" in result.output


def test_pause_and_resume(tmp_path):
    config_dir = setup_storefront(tmp_path, "ok {number}")
    bridge(config_dir, "db", "upgrade")
    assert bridge(config_dir, "storefront", "pause", "demo", "--reason", "maintenance").exit_code == 0
    assert "PAUSED: maintenance" in bridge(config_dir, "status").output
    assert bridge(config_dir, "storefront", "resume", "demo").exit_code == 0
    assert "PAUSED" not in bridge(config_dir, "status").output
