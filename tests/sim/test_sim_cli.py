"""The `bridge sim` client commands against a running simulator."""

from __future__ import annotations

import json

from click.testing import CliRunner

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
