"""The first hour with `bridge`, through its public command (click's runner, a real SQLite
ledger and SQL demo store): a fresh ledger, a configuration with problems, references
that could mean two orders, bulk retry and approve, unknown names, help text, and the
summary `bridge status` prints."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import click
import pytest
from rich.console import Console
from support import bridge, poll, rows_by_number, setup_demo

from bridge import cli as bridge_cli
from bridge import daemon, demo_store
from bridge.cli import main
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.invocation import bridge_command

REPO = Path(__file__).resolve().parents[2]
BRIDGE = bridge_command()  # what hints name: `bridge`, or this environment's own path
BAD_TEMPLATE = "x" * 800 + " {number}"  # longer than Amazon takes: every order needs attention


def states_by_number(config_dir: Path) -> dict[str, str]:
    return {number: row.state for number, row in rows_by_number(config_dir).items()}


def set_template(config_dir: Path, template: str) -> None:
    path = config_dir / "storefronts" / "demo.toml"
    path.write_text(re.sub(r'comment_template = ".*"', f'comment_template = "{template}"',
                           path.read_text()))


# ---------------------------------------------------------------- a fresh ledger


@pytest.mark.parametrize("command", [
    ("status",), ("orders", "list"), ("orders", "show", "1"), ("orders", "retry", "--reason", "x"),
    ("orders", "approve", "--all-held"), ("storefront", "pause", "demo"), ("stock", "drift"),
])
def test_read_commands_on_a_fresh_ledger_say_to_run_db_upgrade(tmp_path, command):
    config_dir, _store = setup_demo(tmp_path)
    result = bridge(config_dir, *command)
    assert result.exit_code == 2, result.output
    assert "the ledger has no tables yet (no table " in result.output
    # The exact command, with this configuration folder, on one line.
    assert f"run `{BRIDGE} -c {config_dir} db upgrade`" in result.output
    assert "Traceback" not in result.output

    assert bridge(config_dir, "db", "upgrade").exit_code == 0
    assert "no tables" not in bridge(config_dir, *command).output


def test_a_fresh_postgresql_ledger_says_to_run_db_upgrade(tmp_path, postgres_url):
    config_dir = write_config(tmp_path, "http://127.0.0.1:9", database_url=postgres_url)
    result = bridge(config_dir, "status")
    assert result.exit_code == 2, result.output
    assert (f"the ledger has no tables yet (no table orders): run "
            f"`{BRIDGE} -c {config_dir} db upgrade`") in result.output


def test_a_ledger_migrated_by_an_older_bridge_says_to_run_db_upgrade(tmp_path):
    from bridge.config import load_config
    from bridge.ledger import migrate

    config_dir, _store = setup_demo(tmp_path)
    migrate.upgrade(load_config(config_dir).settings.database_url, "0015")  # before marketplaces
    result = bridge(config_dir, "status")
    assert result.exit_code == 2, result.output
    assert (f"the ledger is older than this bridge (no column orders.marketplace_id): run "
            f"`{BRIDGE} -c {config_dir} db upgrade`") in result.output


# ---------------------------------------------------------------- refusing to start


@pytest.mark.parametrize("command", [("run",), ("worker", "--lane", "submit"), ("beat",)])
def test_long_running_commands_refuse_to_start_with_the_shipped_config_and_unset_secrets(
        tmp_path, monkeypatch, command):
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)  # the shipped config's ledger is under ./var
    monkeypatch.delenv("DEMO_LWA_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("DEMO_LWA_REFRESH_TOKEN", raising=False)

    def started(*_args, **_kwargs):
        raise AssertionError("started despite configuration problems")

    monkeypatch.setattr(daemon, "run_embedded", started)
    monkeypatch.setattr(daemon, "celery_main", started)

    result = bridge(tmp_path / "config", *command)
    assert result.exit_code == 2, result.output
    assert "environment variable DEMO_LWA_CLIENT_SECRET is not set" in result.output
    assert "environment variable DEMO_LWA_REFRESH_TOKEN is not set" in result.output
    here = bridge_command()  # named from the folder the command ran in
    assert f"not started: fix the configuration first; `{here} -c {tmp_path / 'config'} " \
           "config check` checks it again" in result.output


# ---------------------------------------------------------------- references


def test_digits_are_the_ledger_id_and_the_shop_number_needs_a_hash_or_cart(tmp_path):
    config_dir, store = setup_demo(tmp_path)
    bridge(config_dir, "db", "upgrade")
    # Shop numbers that are also ledger ids and shop ids (the store numbers ids 1, 2, 3).
    for number in ("2", "1", "7001"):
        demo_store.insert_order(store, number, [DemoLine("MUG-BLUE", 1)])
    poll(config_dir)
    ids = {number: row.id for number, row in rows_by_number(config_dir).items()}
    assert set(ids) == {"2", "1", "7001"}

    for number, ledger_id in ids.items():  # digits: the ledger id, whatever the shop numbers
        shown = bridge(config_dir, "orders", "show", str(ledger_id))
        assert shown.exit_code == 0 and f"order {number} (demo, cart id" in shown.output
    for shop_reference in (("#7001",), ("--cart", "7001")):
        shown = bridge(config_dir, "orders", "show", *shop_reference)
        assert shown.exit_code == 0 and "order 7001 (demo" in shown.output

    # A shop number given as digits is not a ledger id: the command that works is named.
    missed = bridge(config_dir, "orders", "show", "7001")
    assert missed.exit_code == 1
    assert (f"no order has ledger id 7001; the shop's order 7001 is ledger id {ids['7001']}"
            in missed.output)
    assert f"{BRIDGE} -c {config_dir} orders show {ids['7001']}   (demo, order 7001)" in missed.output
    nothing = bridge(config_dir, "orders", "show", "99")
    assert nothing.exit_code == 1 and "no order has ledger id 99" in nothing.output
    assert f"{BRIDGE} -c {config_dir} orders list" in nothing.output

    # '#1' is order 1, and the shop's id 1 of order 2: both are listed, each with its command.
    both = bridge(config_dir, "orders", "show", "#1")
    assert both.exit_code == 1 and "'#1' matches 2 orders" in both.output
    for number in ("1", "2"):
        assert f"{BRIDGE} -c {config_dir} orders show {ids[number]}   (demo, order {number})" \
            in both.output
    held = bridge(config_dir, "orders", "hold", "--cart", "1")
    assert held.exit_code == 1 and f"{BRIDGE} -c {config_dir} orders hold {ids['1']}" in held.output
    assert set(states_by_number(config_dir).values()) == {"ready"}  # nothing held on a guess


# ---------------------------------------------------------------- bulk retry and approve


def test_bulk_retry_by_reason_counts_what_took_and_fails_while_orders_stay_broken(tmp_path):
    config_dir, store = setup_demo(tmp_path, template=BAD_TEMPLATE)
    bridge(config_dir, "db", "upgrade")
    demo_store.place_orders(store, 3, ["MUG-BLUE"])
    poll(config_dir)
    assert set(states_by_number(config_dir).values()) == {"needs_attention"}

    nothing = bridge(config_dir, "orders", "retry")
    assert nothing.exit_code == 2 and "--reason" in nothing.output

    still = bridge(config_dir, "orders", "retry", "--reason", "bad_comment")
    assert still.exit_code == 1
    assert "retried 0 of 3 order(s); 3 not done" in still.output
    assert still.output.count("still needs attention (bad_comment)") == 3

    one = bridge(config_dir, "orders", "retry", "#1001")  # by name: the same verdict
    assert one.exit_code == 1 and "still needs attention" in one.output

    set_template(config_dir, "Order {number}")
    fixed = bridge(config_dir, "orders", "retry", "--reason", "bad_comment", "--storefront", "demo")
    assert fixed.exit_code == 0, fixed.output
    assert "retried 3 of 3 order(s); 0 not done" in fixed.output
    assert set(states_by_number(config_dir).values()) == {"ready"}

    again = bridge(config_dir, "orders", "retry", "--state", "ready")
    assert again.exit_code == 1
    assert "retried 0 of 3 order(s); 3 not done" in again.output
    assert "is ready, not needs_attention" in again.output
    none = bridge(config_dir, "orders", "retry", "--reason", "unknown_sku")
    assert none.exit_code == 0 and "no order matched" in none.output
    unknown = bridge(config_dir, "orders", "retry", "424242")
    assert unknown.exit_code == 1 and "no order has ledger id 424242" in unknown.output


def test_bulk_approve_by_hold_reason_with_a_count(tmp_path):
    rules = '\n[[rules]]\nname = "mugs"\naction = "hold"\nskus = ["MUG-BLUE"]\n' \
            '\n[[rules]]\nname = "tees"\naction = "hold"\nskus = ["TEE-RED"]\n'
    config_dir, store = setup_demo(tmp_path, rules)
    bridge(config_dir, "db", "upgrade")
    for number in ("#6001", "#6002"):
        demo_store.insert_order(store, number, [DemoLine("MUG-BLUE", 1)])
    demo_store.insert_order(store, "#6003", [DemoLine("TEE-RED", 1)])
    poll(config_dir)

    approved = bridge(config_dir, "orders", "approve", "--reason", "mugs", "--storefront", "demo")
    assert approved.exit_code == 0, approved.output
    assert "approved 2 of 2 order(s); 0 refused" in approved.output
    assert states_by_number(config_dir) == {"#6001": "ready", "#6002": "ready", "#6003": "on_hold"}

    refused = bridge(config_dir, "orders", "approve", "#6001", "#6003")
    assert refused.exit_code == 1
    assert "approved 1 of 2 order(s); 1 refused" in refused.output
    assert "it is ready, not on hold" in refused.output


# ---------------------------------------------------------------- unknown names and states


def test_unknown_storefronts_and_states_are_refused_with_what_there_is(tmp_path):
    config_dir, _store = setup_demo(tmp_path)
    bridge(config_dir, "db", "upgrade")
    for command in (("storefront", "pause", "nosuchshop"), ("storefront", "resume", "nosuchshop"),
                    ("orders", "list", "--storefront", "nosuchshop"),
                    ("orders", "retry", "--storefront", "nosuchshop"),
                    ("orders", "approve", "--all-held", "--storefront", "nosuchshop"),
                    ("orders", "archive", "--older-than-days", "30", "--storefront", "nosuchshop"),
                    ("status", "--storefront", "nosuchshop")):
        refused = bridge(config_dir, *command)
        assert refused.exit_code == 2, command
        assert "unknown storefront 'nosuchshop'; the storefronts are: demo" in refused.output
    assert "PAUSED" not in bridge(config_dir, "status").output

    state = bridge(config_dir, "orders", "list", "--state", "foo")
    assert state.exit_code == 2
    assert "'foo' is not one of" in state.output and "'needs_attention'" in state.output


# ---------------------------------------------------------------- help


def every_command() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []

    def walk(command: click.Command, ctx: click.Context, path: str) -> None:
        found.append((path, command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} {name}"
                walk(sub, click.Context(sub, parent=ctx, info_name=name), f"{path} {name}")

    walk(main, click.Context(main, info_name="bridge", obj={}), "bridge")
    return found


@pytest.mark.parametrize("path,command", every_command(), ids=lambda value: str(value))
def test_every_command_and_option_has_help(path, command):
    assert (command.help or "").strip(), f"{path} has no help"
    bare = [param.name for param in command.params
            if isinstance(param, click.Option) and not (param.help or "").strip()]
    assert bare == [], f"{path}: options without help"


# ---------------------------------------------------------------- status


def test_status_summarises_waiting_orders_ten_oldest_all_and_json(tmp_path):
    rules = '\n[[rules]]\nname = "tees"\naction = "hold"\nskus = ["TEE-RED"]\n'
    config_dir, store = setup_demo(tmp_path, rules, template=BAD_TEMPLATE)
    bridge(config_dir, "db", "upgrade")
    demo_store.place_orders(store, 12, ["MUG-BLUE"])
    poll(config_dir)
    set_template(config_dir, "Order {number}")
    demo_store.insert_order(store, "#9001", [DemoLine("TEE-RED", 1)])
    poll(config_dir)

    status = bridge(config_dir, "status")
    assert status.exit_code == 0, status.output
    assert "needs attention: 12 (bad_comment 12)" in status.output
    assert "on hold: 1 (tees 1)" in status.output
    waiting = [line for line in status.output.splitlines() if re.match(r"\s+\d+  #", line)]
    assert len(waiting) == 11  # the 10 oldest needing attention, the one held
    assert "… and 2 more" in status.output and f"{BRIDGE} -c {config_dir} status --all" in status.output
    assert all(len(line.split("  since ")) == 2 for line in waiting)

    everything = bridge(config_dir, "status", "--all")
    assert len([line for line in everything.output.splitlines()
                if re.match(r"\s+\d+  #", line)]) == 13
    assert "more" not in everything.output

    document = json.loads(bridge(config_dir, "status", "--json").output)
    [demo] = document["storefronts"]
    assert demo["name"] == "demo" and demo["paused"] is None
    assert demo["open_orders"] == {"needs_attention": 12, "on_hold": 1}
    assert demo["needs_attention"]["total"] == 12
    assert demo["needs_attention"]["by_reason"] == {"bad_comment": 12}
    assert len(demo["needs_attention"]["oldest"]) == 10
    assert demo["on_hold"] == {"total": 1, "by_reason": {"tees": 1},
                               "oldest": [{**demo["on_hold"]["oldest"][0], "number": "#9001",
                                           "reason": "tees"}]}
    assert set(demo["needs_attention"]["oldest"][0]) == {"id", "number", "reason", "message", "since"}
    assert demo["mode"] == "live" and demo["would_send"] == 0
    assert set(demo) == {"name", "mode", "would_send", "paused", "open_orders", "needs_attention", "on_hold",
                         "last_order_poll", "lag_seconds", "tracking_to_write", "stock",
                         "open_returns", "deliveries_given_up", "degraded", "stalled", "watchdog",
                         "inbound", "marketplaces", "unrouted_countries", "shop_stock"}
    # No routing table: nothing to list.
    assert (demo["marketplaces"], demo["unrouted_countries"], demo["shop_stock"]) == ([], "", "home")
    every = json.loads(bridge(config_dir, "status", "--json", "--all").output)
    assert len(every["storefronts"][0]["needs_attention"]["oldest"]) == 12


def test_tables_keep_every_value_whole_on_a_narrow_terminal(tmp_path, monkeypatch):
    config_dir, store = setup_demo(tmp_path)
    bridge(config_dir, "db", "upgrade")
    demo_store.insert_order(store, "#4001", [DemoLine("MUG-BLUE", 1)])
    poll(config_dir)
    from bridge.bootstrap import build_runtime
    from bridge.services.orders import show_order

    runtime = build_runtime(config_dir, configure_logging=False)
    try:
        detail = show_order(runtime.ledger, "#4001")
    finally:
        runtime.close()
    assert detail.seller_fulfillment_order_id

    for width in (200, 40):
        monkeypatch.setattr(bridge_cli, "console", Console(width=width))
        listed = bridge(config_dir, "orders", "list").output
        assert detail.seller_fulfillment_order_id in listed
        shown = bridge(config_dir, "orders", "show", "#4001").output
        assert all(event.message in shown for event in detail.events if event.message)
    assert "┃" not in listed  # 40 columns: plain lines, not a table
