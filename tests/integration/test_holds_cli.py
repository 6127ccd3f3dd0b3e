"""Holds through the public command (click's runner, a real SQLite ledger and SQL demo
store): rules in the storefront file hold orders at ingest; `bridge status`, `orders
list --state on_hold` and `orders show` show them; `orders approve|hold|release` decide,
with the decision in the event log and a note in the shop."""

from __future__ import annotations

from pathlib import Path

from support import bridge, poll, setup_demo

from bridge import demo_store
from bridge.demo_store import DemoLine

RULES = """
[approval]
ship_payment = ["paid"]

[[rules]]
name = "mugs"
action = "hold"
skus = ["MUG-BLUE"]
"""


def events_of(config_dir: Path, number: str) -> list[tuple[str, str]]:
    """The order's event log as (kind, message), read from the ledger (a table in the
    terminal wraps long messages)."""
    from bridge.bootstrap import build_runtime
    from bridge.services.orders import show_order

    runtime = build_runtime(config_dir, configure_logging=False)
    try:
        return [(event.kind, event.message) for event in show_order(runtime.ledger, number).events]
    finally:
        runtime.close()


def notes_of(store: str, order_id: str) -> list[str]:
    return [note["note"] for note in demo_store.read_notes(store, order_id=order_id)]


def test_held_orders_are_shown_approved_held_and_released_by_the_command(tmp_path):
    config_dir, store = setup_demo(tmp_path, RULES)
    assert bridge(config_dir, "config", "check").exit_code == 0
    assert bridge(config_dir, "db", "upgrade").exit_code == 0
    mug = demo_store.insert_order(store, "#5001", [DemoLine("MUG-BLUE", 2)])
    other = demo_store.insert_order(store, "#5002", [DemoLine("TEE-RED", 1)])
    poll(config_dir)

    status = bridge(config_dir, "status")
    assert status.exit_code == 0
    assert "on hold: 1 (mugs 1)" in status.output
    listing = bridge(config_dir, "orders", "list", "--state", "on_hold")
    assert "#5001" in listing.output and "#5002" not in listing.output and "mugs" in listing.output
    shown = bridge(config_dir, "orders", "show", "#5001")
    assert "on hold (mugs): rule 'mugs' holds it (SKU MUG-BLUE)" in shown.output
    assert any("on hold for approval" in note for note in notes_of(store, mug))

    approved = bridge(config_dir, "orders", "approve", "#5001", "--by", "alice")
    assert approved.exit_code == 0, approved.output
    assert "ok order #5001 is now ready" in approved.output
    assert ("approved", "approved by alice: mugs") in events_of(config_dir, "#5001")
    assert "bridge: approved by alice: mugs; the order is now ready" in notes_of(store, mug)

    # Approving what is not on hold is refused, with the reason and exit code 1.
    again = bridge(config_dir, "orders", "approve", "#5001")
    assert again.exit_code == 1 and "it is ready, not on hold" in again.output

    held = bridge(config_dir, "orders", "hold", "#5002", "--by", "bob")
    assert held.exit_code == 0 and "#5002 is now on_hold (manual)" in held.output
    assert ("held", "held by bob: not sent to Amazon until approved or released") in \
        events_of(config_dir, "#5002")
    assert "on hold (manual): held by bob" in bridge(config_dir, "orders", "show", "#5002").output
    assert "on hold: 1 (manual 1)" in bridge(config_dir, "status").output

    released = bridge(config_dir, "orders", "release", "#5002", "--by", "carol")
    assert released.exit_code == 0 and "#5002 is now ready" in released.output
    assert any(note.startswith("bridge: released by carol") for note in notes_of(store, other))
    assert "on hold" not in bridge(config_dir, "status").output


def test_approve_by_filter_and_a_selection_is_required(tmp_path):
    config_dir, store = setup_demo(tmp_path, RULES + """
[[rules]]
name = "far"
action = "hold"
countries = ["CA"]
""")
    bridge(config_dir, "db", "upgrade")
    canada = {"ship_name": "Jean Tremblay", "ship_address1": "1 Rue Principale",
              "ship_city": "Montreal", "ship_state": "QC", "ship_zip": "H2X 1Y4",
              "ship_country": "CA", "email": "jean@example.com"}
    demo_store.insert_order(store, "#5101", [DemoLine("MUG-BLUE", 1)])
    demo_store.insert_order(store, "#5102", [DemoLine("TEE-RED", 1)], address=canada)
    demo_store.insert_order(store, "#5103", [DemoLine("MUG-BLUE", 1)])
    poll(config_dir)
    assert "on hold: 3 (far 1, mugs 2)" in bridge(config_dir, "status").output

    nothing = bridge(config_dir, "orders", "approve")
    assert nothing.exit_code == 2 and "--rule or --all-held" in nothing.output

    by_rule = bridge(config_dir, "orders", "approve", "--rule", "mugs", "--storefront", "demo")
    assert by_rule.exit_code == 0
    assert by_rule.output.count("is now ready") == 2
    assert "on hold: 1 (far 1)" in bridge(config_dir, "status").output

    everything = bridge(config_dir, "orders", "approve", "--all-held")
    assert everything.exit_code == 0 and "#5102 is now ready" in everything.output
    assert "no order matched" in bridge(config_dir, "orders", "approve", "--all-held").output


def test_config_check_refuses_bad_rules(tmp_path):
    config_dir, _store = setup_demo(tmp_path, """
[[rules]]
name = "far"
action = "hold"
countries = ["XX"]
""")
    checked = bridge(config_dir, "config", "check")
    assert checked.exit_code == 2
    assert "rules.0.countries" in checked.output and "'XX' is not an ISO 3166-1" in checked.output
