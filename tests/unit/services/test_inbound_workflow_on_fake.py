"""The inbound workflow (create plan → labels on disk) on an in-memory InboundNetwork
(`inbound_fake.FakeInbound`): at-most-once state-changing calls, resumes after a crash
that read Amazon back, FAILED operations as typed errors, and the default choices.
No simulator, no HTTP, no sleeps: operations finish at once and `settle_seconds=0`."""

from __future__ import annotations

from collections import Counter

import pytest
from inbound_fake import Crash, FakeInbound

from bridge.domain.inbound import BoxType, InboundItem
from bridge.domain.inbound_amazon import (
    OWN_CARRIER,
    PARTNERED_CARRIER,
    OperationProblem,
    PlacementOption,
    TransportationOption,
)
from bridge.errors import IndeterminateError
from bridge.fba.inbound import InboundOperationFailed
from bridge.fba.port import InboundNetwork
from bridge.services.inbound import FOLLOWING, PlanFiles, Workflow, create_plan, get_plan, plan_shipments

PARTNERED_RUN = Counter({
    "create_inbound_plan": 1, "generate_packing_options": 1, "confirm_packing_option": 1,
    "set_packing_information": 1, "generate_placement_options": 1, "confirm_placement_option": 1,
    "generate_transportation_options": 1, "confirm_transportation_options": 1,
})
# Own carrier on PL-B's two shipments: a delivery window offered and confirmed for each.
OWN_RUN = PARTNERED_RUN + Counter({"generate_delivery_window_options": 2,
                                   "confirm_delivery_window_option": 2})


def with_carrier(store, carrier: str):
    sf = store.storefront
    store.storefront = sf.model_copy(update={"inbound": sf.inbound.model_copy(update={"carrier": carrier})})
    return store


def new_plan(store, carrier: str = "partnered") -> int:
    with_carrier(store, carrier)
    files = PlanFiles(items=[InboundItem("MUG", 24), InboundItem("CUP", 12, label_owner="AMAZON")],
                      boxes=[BoxType("A", 2, 30, 20, 20, 8, {"MUG": 12}),
                             BoxType("B", 1, 20, 20, 20, 6, {"CUP": 12})],
                      source_address={"name": "Warehouse", "countryCode": "US"})
    return create_plan(store.ledger, store.storefront, files, name="unit-plan")


def workflow(store, amazon: FakeInbound, plan_id: int, tmp_path) -> Workflow:
    return Workflow(store.ledger, amazon, plan_id, labels_dir=tmp_path / "labels",
                    operation_timeout=0, settle_seconds=0)


def calls_of(amazon: FakeInbound, method: str) -> list[tuple]:
    return [args for name, args in amazon.log if name == method]


def test_the_fake_is_an_inbound_network():
    assert isinstance(FakeInbound(), InboundNetwork)


def test_a_plan_runs_to_labels_on_disk_calling_each_operation_once(store, tmp_path):
    amazon = FakeInbound()
    plan_id = new_plan(store)

    summary = workflow(store, amazon, plan_id, tmp_path).run()

    assert (summary.step, summary.status, summary.inbound_plan_id) == (FOLLOWING, "open", "wf-1")
    assert summary.last_error == ""
    assert amazon.calls == PARTNERED_RUN
    # Every operation started was waited on exactly once.
    assert sorted(amazon.waits) == sorted(amazon.operations)
    # Box labels per shipment, item labels only for the SKU the seller labels.
    labels = tmp_path / "labels"
    assert sorted(p.name for p in labels.iterdir()) == [
        "unit-plan-FBAS2-box-labels.pdf", "unit-plan-FBAS3-box-labels.pdf",
        "unit-plan-item-labels-1.pdf"]
    assert (labels / "unit-plan-FBAS2-box-labels.pdf").read_bytes().startswith(b"%PDF")
    assert amazon.downloads[-1] == "fake://items/MUG/24"
    assert summary.labels_path == str(labels)
    # The boxes went to the packing group, three boxes in all.
    assert amazon.plan_boxes("wf-1") == ["wf-1-A1", "wf-1-A2", "wf-1-B1"]


def test_running_a_finished_plan_again_calls_nothing(store, tmp_path):
    amazon = FakeInbound()
    plan_id = new_plan(store)
    workflow(store, amazon, plan_id, tmp_path).run()
    amazon.log.clear()

    assert workflow(store, amazon, plan_id, tmp_path).run().step == FOLLOWING
    assert amazon.log == []


OPERATIONS = sorted(OWN_RUN)


@pytest.mark.parametrize("method", OPERATIONS)
def test_a_crash_right_after_a_call_is_resumed_by_reading_amazon_back(store, tmp_path, method):
    amazon = FakeInbound()
    plan_id = new_plan(store, carrier="own")
    amazon.crash_after = {method}

    with pytest.raises(Crash):
        workflow(store, amazon, plan_id, tmp_path).run()
    # The intent is on the ledger row, without an operationId.
    plan = get_plan(store.ledger, plan_id)
    assert plan.step != FOLLOWING
    assert amazon.calls[method] == 1

    summary = workflow(store, amazon, plan_id, tmp_path).run()

    assert summary.step == FOLLOWING
    assert amazon.calls == OWN_RUN
    assert summary.inbound_plan_id == "wf-1"
    assert len(amazon.plans) == 1


@pytest.mark.parametrize("method", OPERATIONS)
def test_a_crash_while_waiting_resumes_on_the_recorded_operation(store, tmp_path, method):
    amazon = FakeInbound()
    plan_id = new_plan(store, carrier="own")
    amazon.crash_waiting = {method}

    with pytest.raises(Crash):
        workflow(store, amazon, plan_id, tmp_path).run()
    waited = amazon.waits[-1]
    assert amazon.operation_method[waited] == method

    summary = workflow(store, amazon, plan_id, tmp_path).run()

    assert summary.step == FOLLOWING
    assert amazon.calls == OWN_RUN
    # The resume waited on the operation the first run recorded, except for a delivery
    # window's confirmation: the service reads the shipment back first and finds it done.
    assert amazon.waits.count(waited) == (1 if method == "confirm_delivery_window_option" else 2)


def test_a_create_that_timed_out_after_amazon_acted_is_found_by_name(store, tmp_path):
    amazon = FakeInbound()
    plan_id = new_plan(store)
    create = amazon.create_inbound_plan

    def timed_out(*args):
        create(*args)
        raise IndeterminateError("read timed out")

    amazon.create_inbound_plan = timed_out  # type: ignore[method-assign]
    with pytest.raises(IndeterminateError):
        workflow(store, amazon, plan_id, tmp_path).run()
    assert get_plan(store.ledger, plan_id).inbound_plan_id is None

    amazon.create_inbound_plan = create  # type: ignore[method-assign]
    summary = workflow(store, amazon, plan_id, tmp_path).run()

    assert summary.inbound_plan_id == "wf-1"
    assert amazon.calls == PARTNERED_RUN


STEP_BEFORE = {
    "create_inbound_plan": "new", "generate_packing_options": "plan_created",
    "confirm_packing_option": "packing_generated", "set_packing_information": "packing_confirmed",
    "generate_placement_options": "packing_set", "confirm_placement_option": "placement_generated",
    "generate_transportation_options": "placement_confirmed",
    "generate_delivery_window_options": "transport_generated",
    "confirm_delivery_window_option": "transport_generated",
    "confirm_transportation_options": "delivery_windows_confirmed",
}


@pytest.mark.parametrize("method", OPERATIONS)
def test_a_failed_operation_is_a_typed_error_with_its_problem_code_and_the_plan_resumes(
        store, tmp_path, method):
    amazon = FakeInbound()
    plan_id = new_plan(store, carrier="own")
    amazon.fail[method] = [OperationProblem("FBA_INB_0182", "Amazon says no", "ERROR", "box 1")]

    with pytest.raises(InboundOperationFailed) as failed:
        workflow(store, amazon, plan_id, tmp_path).run()

    error = failed.value
    assert error.reason == "inbound_operation_failed"
    assert [p.code for p in error.problems] == ["FBA_INB_0182"]
    assert "FBA_INB_0182: Amazon says no (box 1)" in str(error)
    plan = get_plan(store.ledger, plan_id)
    assert plan.step == STEP_BEFORE[method]
    assert plan.status == "open"
    assert "FBA_INB_0182" in plan.last_error

    summary = workflow(store, amazon, plan_id, tmp_path).run()

    assert summary.step == FOLLOWING
    assert summary.last_error == ""
    # The failed call is made afresh once; nothing else twice.
    assert amazon.calls == OWN_RUN + Counter({method: 1})


def test_the_cheapest_placement_after_discounts_is_confirmed(store, tmp_path):
    amazon = FakeInbound()  # PL-A 100, PL-B 150-90 = 60, PL-C 70
    plan_id = new_plan(store)

    workflow(store, amazon, plan_id, tmp_path).run()

    assert calls_of(amazon, "confirm_placement_option") == [("wf-1", "PL-B")]
    assert [s.shipment_id for s in plan_shipments(store.ledger, plan_id)] == ["S2", "S3"]
    shipment = plan_shipments(store.ledger, plan_id)[0]
    assert (shipment.confirmation_id, shipment.destination, shipment.expected) == ("FBAS2", "ABE2", 36)
    # Transportation was generated for exactly that placement's shipments.
    assert calls_of(amazon, "generate_transportation_options") == [("wf-1", "PL-B", ("S2", "S3"))]


def test_placement_first_takes_amazons_first_offer_instead_of_the_cheapest(store, tmp_path):
    amazon = FakeInbound()  # PL-A is offered first, PL-B is cheapest
    sf = store.storefront
    store.storefront = sf.model_copy(update={"inbound": sf.inbound.model_copy(update={"placement": "first"})})
    plan_id = new_plan(store)

    workflow(store, amazon, plan_id, tmp_path).run()

    assert calls_of(amazon, "confirm_placement_option") == [("wf-1", "PL-A")]


def test_partnered_carrier_takes_the_cheapest_partnered_option_without_delivery_windows(store, tmp_path):
    amazon = FakeInbound()
    plan_id = new_plan(store, carrier="partnered")

    workflow(store, amazon, plan_id, tmp_path).run()

    (selections,) = [args[1] for args in calls_of(amazon, "confirm_transportation_options")]
    assert [(s.shipment_id, s.option_id) for s in selections] == [("S2", "TP2-S2"), ("S3", "TP2-S3")]
    assert amazon.shipment("wf-1", "S2").selected_transportation_option_id == "TP2-S2"
    assert amazon.calls["generate_delivery_window_options"] == 0
    assert amazon.calls["confirm_delivery_window_option"] == 0


def test_own_carrier_confirms_a_delivery_window_per_shipment_before_transportation(store, tmp_path):
    amazon = FakeInbound()
    plan_id = new_plan(store, carrier="own")

    workflow(store, amazon, plan_id, tmp_path).run()

    (selections,) = [args[1] for args in calls_of(amazon, "confirm_transportation_options")]
    assert [(s.shipment_id, s.option_id) for s in selections] == [("S2", "TO-S2"), ("S3", "TO-S3")]
    assert calls_of(amazon, "confirm_delivery_window_option") == [
        ("wf-1", "S2", "DW1-S2"), ("wf-1", "S3", "DW1-S3")]
    order = [name for name, _ in amazon.log]
    assert order.index("confirm_transportation_options") > max(
        i for i, name in enumerate(order) if name == "confirm_delivery_window_option")
    assert all(amazon.shipment("wf-1", s).delivery_window_selected for s in ("S2", "S3"))


def test_no_delivery_window_when_the_chosen_option_does_not_require_one(store, tmp_path):
    def no_preconditions(shipment_id: str) -> list[TransportationOption]:
        return [TransportationOption(f"TO-{shipment_id}", shipment_id, OWN_CARRIER, cost=10.0),
                TransportationOption(f"TP-{shipment_id}", shipment_id, PARTNERED_CARRIER, cost=5.0)]

    amazon = FakeInbound(transport=no_preconditions)
    plan_id = new_plan(store, carrier="own")

    workflow(store, amazon, plan_id, tmp_path).run()

    (selections,) = [args[1] for args in calls_of(amazon, "confirm_transportation_options")]
    assert [s.option_id for s in selections] == ["TO-S2", "TO-S3"]
    assert amazon.calls["generate_delivery_window_options"] == 0


def test_the_wanted_carrier_not_offered_falls_back_to_the_cheapest_option(store, tmp_path):
    def partnered_only(shipment_id: str) -> list[TransportationOption]:
        return [TransportationOption(f"TP1-{shipment_id}", shipment_id, PARTNERED_CARRIER, cost=30.0),
                TransportationOption(f"TP2-{shipment_id}", shipment_id, PARTNERED_CARRIER, cost=20.0)]

    amazon = FakeInbound(transport=partnered_only,
                         placements=lambda: [PlacementOption("PL-1", "OFFERED", ("S1",), fees=1.0)])
    plan_id = new_plan(store, carrier="own")

    workflow(store, amazon, plan_id, tmp_path).run()

    (selections,) = [args[1] for args in calls_of(amazon, "confirm_transportation_options")]
    assert [(s.shipment_id, s.option_id) for s in selections] == [("S1", "TP2-S1")]
