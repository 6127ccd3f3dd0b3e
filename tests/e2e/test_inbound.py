"""Inbound end to end against the simulated fulfillment network over HTTP: files in,
a plan taken through every step, labels on disk, shipments received over the clock,
fulfillable stock up, and the shop's stock updated; resumes after crashes at every
step without repeating a call that changes state; bad input named precisely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from bridge import demo_store
from bridge.bootstrap import build_runtime
from bridge.cli import main
from bridge.demo import write_config
from bridge.fba.inbound import InboundClient
from bridge.ledger import migrate
from bridge.ledger.tables import InboundPlan, InboundShipment
from bridge.services import inbound as inbound_service
from bridge.services.stock import sync_stock
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

SHIP_FROM = """
[inbound]
labels_dir = "{labels}"

[inbound.ship_from]
name = "Ava Johnson"
companyName = "Blue Mug Co"
addressLine1 = "1200 Pine St"
city = "Seattle"
stateOrProvinceCode = "WA"
postalCode = "98101"
countryCode = "US"
phoneNumber = "2065550100"
"""
ITEMS = "sku,quantity,prep_owner,label_owner\nMUG-BLUE,40,NONE,SELLER\nTEE-M,30,NONE,SELLER\n"
BOXES = ("box,count,length,width,height,weight,sku,units\n"
         "mugs,2,16,12,10,14.5,MUG-BLUE,20\ntees,1,18,14,8,9,TEE-M,30\n")
# Calls that change state at Amazon: each must happen exactly once per plan.
STATE_CHANGING = (
    "createInboundPlan", "generatePackingOptions", "confirmPackingOption",
    "setPackingInformation", "generatePlacementOptions", "confirmPlacementOption",
    "generateTransportationOptions", "confirmTransportationOptions",
)


@pytest.fixture
def setup(tmp_path):
    # 500× time: Amazon's 5 s operations take 10 ms, and a test run stays within a day.
    with SimServer(SimConfig(clock_factor=500, rate_limits=False)) as sim:
        sim.admin.set_stock({"MUG-BLUE": 5, "TEE-M": 0, "CAP-01": 3})
        config_dir = write_config(tmp_path, sim.base_url)
        with open(config_dir / "storefronts" / "demo.toml", "a") as handle:
            handle.write(SHIP_FROM.format(labels=tmp_path / "labels"))
        (tmp_path / "items.csv").write_text(ITEMS)
        (tmp_path / "boxes.csv").write_text(BOXES)
        store_url = f"sqlite:///{tmp_path / 'store.db'}"
        demo_store.create_schema(store_url)
        runtime = build_runtime(config_dir, configure_logging=False)
        migrate.upgrade(runtime.config.settings.database_url)
        # A first stock sync tells bridge which SKUs Amazon knows.
        sync_stock(runtime.ledger, runtime.fba("demo"), runtime.cart("demo"), runtime.storefront("demo"))
        try:
            yield sim, config_dir, runtime, tmp_path, store_url
        finally:
            runtime.close()


def cli(config_dir: Path, *args: str):
    return CliRunner().invoke(main, ["-c", str(config_dir), "inbound", *args], catch_exceptions=False)


def test_items_file_to_labels_to_received_stock_in_the_shop(setup):
    sim, config_dir, runtime, tmp_path, store_url = setup
    created = cli(config_dir, "plan", "create", "-s", "demo", "--items", str(tmp_path / "items.csv"),
                  "--boxes", str(tmp_path / "boxes.csv"))
    assert created.exit_code == 0, created.output
    assert "ready to ship" in created.output
    labels = sorted((tmp_path / "labels").glob("*.pdf"))
    assert any("box-labels" in p.name for p in labels) and any("item-labels" in p.name for p in labels)
    assert all(p.read_bytes().startswith(b"%PDF-") for p in labels)
    assert sim.admin.inventory()["MUG-BLUE"]["fulfillable"] == 5  # nothing received yet

    # Amazon's clock moves on: picked up, in transit, delivered, checked in, received.
    sim.admin.set_clock_factor(0)
    sim.admin.advance(10 * 86400)
    followed = cli(config_dir, "follow", "-s", "demo")
    assert followed.exit_code == 0 and "changed" in followed.output
    with runtime.ledger.transaction() as session:
        plan = session.scalar(select(InboundPlan))
        shipments = list(session.scalars(select(InboundShipment)))
    assert plan.status == "complete"
    assert {s.status for s in shipments} == {"CLOSED"}
    received = {}
    for shipment in shipments:
        for sku, counts in shipment.items.items():
            received[sku] = received.get(sku, 0) + counts["received"]
    assert received == {"MUG-BLUE": 40, "TEE-M": 30}

    inventory = sim.admin.inventory()
    assert inventory["MUG-BLUE"]["fulfillable"] == 45 and inventory["TEE-M"]["fulfillable"] == 30
    sync_stock(runtime.ledger, runtime.fba("demo"), runtime.cart("demo"), runtime.storefront("demo"))
    assert demo_store.read_stock(store_url) == {"MUG-BLUE": 45, "TEE-M": 30, "CAP-01": 3}

    shown = cli(config_dir, "show", str(plan.id))
    assert "inbound_complete" in shown.output


class Crash(BaseException):
    """A process dying right after Amazon acted, before bridge recorded anything."""


class CrashAfterOneChange(InboundClient):
    def call(self, operation_id, body=None, params=None, **path_params):
        answer = super().call(operation_id, body=body, params=params, **path_params)
        if operation_id in STATE_CHANGING or operation_id.startswith(("confirm", "generate")):
            raise Crash(operation_id)
        return answer


def test_a_crash_after_every_call_that_changes_state_resumes_without_repeating_it(setup):
    sim, config_dir, runtime, tmp_path, _store = setup
    from bridge.domain.inbound import check_address, parse_boxes, parse_items

    config = runtime.storefront("demo")
    items = parse_items(ITEMS, "ATVPDKIKX0DER")
    files = inbound_service.PlanFiles(items, parse_boxes(BOXES, items),
                                      check_address(dict(config.inbound.ship_from)))
    plan_id = inbound_service.create_plan(runtime.ledger, config, files)
    fba = runtime.fba("demo")
    http = fba.inbound._http
    crashes = []
    for _attempt in range(30):
        workflow = inbound_service.Workflow(
            runtime.ledger, CrashAfterOneChange(http, fba.marketplace_id), plan_id,
            labels_dir=tmp_path / "labels", settle_seconds=5)
        try:
            workflow.run()
            break
        except Crash as crash:
            crashes.append(str(crash))
    else:
        pytest.fail(f"the plan never completed; crashed after {crashes}")
    assert set(STATE_CHANGING) <= set(crashes)  # it really died after each of them
    for operation in STATE_CHANGING:
        assert sim.admin.calls(operation) == 1, operation
    plans = requests.get(f"{sim.base_url}/_sim/inbound", timeout=5).json()["plans"]
    assert len(plans) == 1
    assert any(p.name.endswith("box-labels.pdf") for p in (tmp_path / "labels").iterdir())


def test_a_killed_process_is_resumed_from_the_command_line(setup):
    sim, config_dir, runtime, tmp_path, _store = setup
    env = {**os.environ, "BRIDGE_CONFIG_DIR": str(config_dir)}
    command = [sys.executable, "-m", "bridge.cli", "inbound", "plan", "create", "-s", "demo",
               "--items", str(tmp_path / "items.csv"), "--boxes", str(tmp_path / "boxes.csv")]
    # Slow Amazon down so the kill lands mid-workflow.
    sim.admin.set_clock_factor(5)
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    step = None
    while time.monotonic() < deadline:
        with runtime.ledger.transaction() as session:
            plan = session.scalar(select(InboundPlan))
            step = plan.step if plan else None
        if step == "packing_confirmed":
            break
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert step == "packing_confirmed"
    sim.admin.set_clock_factor(500)
    resumed = cli(config_dir, "plan", "resume", str(plan.id))
    assert resumed.exit_code == 0, resumed.output
    for operation in STATE_CHANGING:
        assert sim.admin.calls(operation) == 1, operation


def test_bad_files_are_refused_before_any_call(setup):
    sim, config_dir, runtime, tmp_path, _store = setup
    (tmp_path / "bad.csv").write_text("sku,quantity\nMUG-BLUE,0\nNOT-AT-AMAZON,5\nTEE-M,600000\n")
    result = cli(config_dir, "plan", "create", "-s", "demo", "--items", str(tmp_path / "bad.csv"),
                 "--boxes", str(tmp_path / "boxes.csv"))
    assert result.exit_code == 2
    assert "row 2: quantity '0'" in result.output
    assert "row 3: sku NOT-AT-AMAZON is unknown to Amazon" in result.output
    assert "row 4: quantity '600000'" in result.output
    (tmp_path / "address.toml").write_text(
        'name = "A"\naddressLine1 = "x"\ncity = "Llanfairpwllgwyngyllgogerychwyrndrobwll"\n'
        'postalCode = "1"\ncountryCode = "GB"\n')
    result = cli(config_dir, "plan", "create", "-s", "demo", "--items", str(tmp_path / "items.csv"),
                 "--boxes", str(tmp_path / "boxes.csv"), "--ship-from", str(tmp_path / "address.toml"))
    assert result.exit_code == 2
    assert "city is longer than 30 characters" in result.output
    assert "phoneNumber is required" in result.output
    assert sim.admin.calls("createInboundPlan") == 0


def test_an_operation_that_fails_at_amazon_is_explained_and_resumable(setup):
    sim, config_dir, runtime, tmp_path, _store = setup
    requests.post(f"{sim.base_url}/_sim/inbound/fail-next", timeout=5, json={
        "operation": "generatePlacementOptions", "code": "FBA_INB_0182",
        "message": "Placement is not possible for the requested items."}).raise_for_status()
    failed = cli(config_dir, "plan", "create", "-s", "demo", "--items", str(tmp_path / "items.csv"),
                 "--boxes", str(tmp_path / "boxes.csv"))
    assert failed.exit_code == 1
    assert "Placement is not possible for the requested items" in failed.output
    assert "bridge inbound plan resume" in failed.output
    with runtime.ledger.transaction() as session:
        plan = session.scalar(select(InboundPlan))
    assert plan.step == "packing_set" and plan.status == "open"
    assert "FBA_INB_0182" in cli(config_dir, "show", str(plan.id)).output
    resumed = cli(config_dir, "plan", "resume", str(plan.id))
    assert resumed.exit_code == 0, resumed.output
    assert sim.admin.calls("generatePlacementOptions") == 2  # the failed one, then the retry


def test_interactive_choices_status_cancel_and_suggestions(setup):
    sim, config_dir, runtime, tmp_path, store_url = setup
    # Interactive: every option is shown and the merchant picks by number (here: 1 each).
    created = CliRunner().invoke(
        main, ["-c", str(config_dir), "inbound", "plan", "create", "-s", "demo",
               "--items", str(tmp_path / "items.csv"), "--boxes", str(tmp_path / "boxes.csv"),
               "--interactive"], input="1\n" * 20, catch_exceptions=False)
    assert created.exit_code == 0, created.output
    for kind in ("packing options", "placement options", "transportation options"):
        assert kind in created.output

    with runtime.ledger.transaction() as session:
        plan = session.scalar(select(InboundPlan))
        confirmations = [s.confirmation_id for s in session.scalars(select(InboundShipment))]
    status = CliRunner().invoke(main, ["-c", str(config_dir), "status"], catch_exceptions=False)
    assert "open inbound shipments" in status.output
    assert all(confirmation in status.output for confirmation in confirmations)
    cancelled = cli(config_dir, "cancel", str(plan.id))
    assert cancelled.exit_code == 0, cancelled.output
    with runtime.ledger.transaction() as session:
        assert session.get(InboundPlan, plan.id).status == "cancelled"
    plans = requests.get(f"{sim.base_url}/_sim/inbound", timeout=5).json()["plans"]
    assert plans[0]["status"] == "VOIDED"
    assert cli(config_dir, "cancel", str(plan.id)).exit_code == 1  # already cancelled

    # Suggestions: 20 MUG-BLUE sold over the last 30 days, 5 at Amazon, none inbound.
    demo_store.insert_order(store_url, "#S1", [demo_store.DemoLine("MUG-BLUE", 20)])
    from bridge.services.ingest import ingest_orders

    ingest_orders(runtime.ledger, runtime.cart("demo"), runtime.storefront("demo"))
    suggested = cli(config_dir, "suggest", "-s", "demo", "--days", "30", "--target-days", "60")
    assert suggested.exit_code == 0
    row = next(line for line in suggested.output.splitlines() if "MUG-BLUE" in line)
    # 20/30 units a day; 5 on hand → 7.5 days of cover; 60 days need 40 → send 35.
    assert "0.67" in row and "7.5" in row and "35" in row
