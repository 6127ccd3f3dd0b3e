"""The `bridge sim` client commands against a running simulator."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sim_helpers import MARKETPLACE, OUTBOUND, order_body

from bridge.sim.cli import sim as sim_group


def run(*args: str) -> dict | list:
    result = CliRunner().invoke(sim_group, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_client_commands(sim):
    url = ["--url", sim.base_url]
    items = run("stock", "SKU-1=5", "SKU-2=0", *url)["items"]
    assert {i["sellerSku"]: i["fulfillable"] for i in items} == {"SKU-1": 5, "SKU-2": 0}
    before = run("clock", *url)["timestamp"]
    assert run("advance", "90", *url)["timestamp"] == before + 90
    assert run("clock", "--factor", "0", *url)["factor"] == 0
    faults = run("fault", "createFulfillmentOrder", "--status", "500", "--rate", "0.5", *url)
    assert faults["faults"][0]["status"] == 500
    assert run("fault", "--clear", *url) == {"faults": []}
    assert run("orders", *url) == []
    assert run("reset", *url)["reset"] is True


def test_bad_arguments_and_unreachable_simulator(sim):
    runner = CliRunner()
    assert runner.invoke(sim_group, ["stock", "SKU-1", "--url", sim.base_url]).exit_code != 0
    assert runner.invoke(sim_group, ["fault", "--url", sim.base_url]).exit_code != 0
    result = runner.invoke(sim_group, ["clock", "--url", "http://127.0.0.1:9"])
    assert result.exit_code != 0 and "cannot reach" in result.output


def test_stock_per_center_and_inventory(sim):
    url = ["--url", sim.base_url]
    run("stock", "SKU-1=5", *url)
    run("stock", "SKU-1=3", "--center", "PHX6", *url)
    inventory = run("inventory", *url)
    assert inventory["SKU-1"]["fulfillable"] == 8
    assert {fc: q["fulfillable"] for fc, q in inventory["SKU-1"]["fulfillmentCenters"].items()
            } == {"ABE2": 5, "PHX6": 3}


def test_tracking_outcome_and_feature_enrollment(sim, api):
    url = ["--url", sim.base_url]
    sim.admin.set_stock({"SKU-A": 5})
    api.create(order_body("cli-1"))
    assert run("tracking", "cli-1", "UNDELIVERABLE", *url)["trackingOutcome"] == "UNDELIVERABLE"
    assert sim.admin.orders()[0]["trackingOutcome"] == "UNDELIVERABLE"
    result = CliRunner().invoke(sim_group, ["tracking", "cli-1", "EATEN", *url])
    assert result.exit_code != 0

    assert run("feature", "BLOCK_AMZL", "--unenroll", *url) == {
        "featureName": "BLOCK_AMZL", "sellerEligible": False}
    offered = api.call("getFeatures", "GET", f"{OUTBOUND}/features",
                       params={"marketplaceId": MARKETPLACE}).body["payload"]["features"]
    assert {f["featureName"]: f["sellerEligible"] for f in offered}["BLOCK_AMZL"] is False
    assert run("feature", "BLOCK_AMZL", *url)["sellerEligible"] is True
    result = CliRunner().invoke(sim_group, ["feature", "NO_SUCH_FEATURE", *url])
    assert result.exit_code != 0 and "unknown feature" in result.output


def test_inbound_summary_and_fail_next(sim):
    url = ["--url", sim.base_url]
    armed = run("inbound-fail", "generatePlacementOptions", "--count", "2", "--code", "X1",
                "--message", "No placement today.", *url)
    assert armed["failNext"] == [{"operation": "generatePlacementOptions", "count": 2,
                                  "code": "X1", "message": "No placement today.",
                                  "details": ""}]
    summary = run("inbound", *url)
    assert summary["plans"] == [] and summary["failNext"] == armed["failNext"]
    assert run("inbound-fail", "--clear", *url) == {"failNext": []}
    result = CliRunner().invoke(sim_group, ["inbound-fail", "getShipment", *url])
    assert result.exit_code != 0
    assert CliRunner().invoke(sim_group, ["inbound-fail", *url]).exit_code != 0


def test_rate_limits_faults_list_and_seeded_reset(sim):
    url = ["--url", sim.base_url]
    assert run("rate-limits", *url)["enabled"] is False
    changed = run("rate-limits", "--on", "--limit", "getFeatures=1.5/4", *url)
    assert changed["enabled"] is True
    assert changed["limits"]["getFeatures"] == {"rate": 1.5, "burst": 4}
    result = CliRunner().invoke(sim_group, ["rate-limits", "--limit", "getFeatures=fast", *url])
    assert result.exit_code != 0

    # --latency alone delays without failing; a bare fault fails with 503.
    run("fault", "getFeatures", "--latency", "0.01", *url)
    run("fault", "getFeatureSKU", *url)
    listed = run("fault", "--list", *url)["faults"]
    assert [(f["operation"], f["status"], f["latency"]) for f in listed] == [
        ("getFeatures", None, 0.01), ("getFeatureSKU", 503, 0.0)]
    assert run("reset", "--seed", "7", *url)["reset"] is True
    assert run("fault", "--list", *url) == {"faults": []}


def test_serve_options(monkeypatch):
    started = []
    monkeypatch.setattr("bridge.sim.server.serve", lambda **kwargs: started.append(kwargs))
    runner = CliRunner()
    assert runner.invoke(sim_group, ["serve"]).exit_code == 0
    defaults = started.pop()
    assert (defaults["host"], defaults["port"], defaults["db_path"]) == ("127.0.0.1", 8765, None)
    assert defaults["config"].marketplace_id == "ATVPDKIKX0DER"
    assert defaults["config"].rate_limits is True and defaults["config"].fault_seed is None

    args = ["serve", "--host", "0.0.0.0", "--port", "9000", "--db", "sim.sqlite",
            "--clock-factor", "60", "--seed", "3", "--no-rate-limits"]
    assert runner.invoke(sim_group, args).exit_code == 0
    chosen = started.pop()
    assert (chosen["host"], chosen["port"], chosen["db_path"], chosen["clock_factor"]) == (
        "0.0.0.0", 9000, "sim.sqlite", 60.0)
    assert chosen["config"].fault_seed == 3 and chosen["config"].rate_limits is False

    assert runner.invoke(sim_group, ["serve", "--db", "x", "--memory"]).exit_code != 0
    assert runner.invoke(sim_group, ["serve", "--strict-auth"]).exit_code != 0
    assert not started
