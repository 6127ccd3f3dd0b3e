"""An in-memory InboundNetwork for the inbound workflow's unit tests: a plan's packing,
placement, transportation and delivery-window options as Amazon offers them, every
202 operation done at once (its effect visible on return), and scripted trouble:

- `fail[method] = [problems]`: the next such call starts an operation that ends FAILED
  (and changes nothing), as Amazon reports a refused operation;
- `crash_after = {method}`: the next such call acts, then raises `Crash` before the
  caller sees the operationId (a process dying between the call and its commit);
- `crash_waiting = {method}`: waiting on that method's operation raises `Crash` once
  (dying after the operationId was recorded).

`calls` counts every state-changing call (by method name); `log` keeps them in order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bridge.domain.inbound import InboundItem
from bridge.domain.inbound_amazon import (
    ACCEPTED,
    CONFIRMED_DELIVERY_WINDOW,
    FAILED,
    OFFERED,
    OWN_CARRIER,
    PARTNERED_CARRIER,
    SUCCESS,
    CreatedInboundPlan,
    DeliveryWindowOption,
    InboundPlanSummary,
    InboundShipmentStatus,
    ItemQuantity,
    OperationId,
    OperationProblem,
    OperationStatus,
    PackageGrouping,
    PackingOption,
    PlacementOption,
    ReceivedItem,
    TransportationOption,
    TransportationSelection,
)
from bridge.fba.inbound import InboundOperationFailed

STATE_CHANGING = (
    "create_inbound_plan", "generate_packing_options", "confirm_packing_option",
    "set_packing_information", "generate_placement_options", "confirm_placement_option",
    "generate_transportation_options", "generate_delivery_window_options",
    "confirm_delivery_window_option", "confirm_transportation_options", "cancel_inbound_plan",
)


class Crash(Exception):  # noqa: N818 - a simulated process death, not an error bridge knows
    """The process died here (not a BridgeError: nothing in bridge catches it)."""


def default_placements() -> list[PlacementOption]:
    """Three offers; the cheapest after discounts (PL-B) has neither the lowest fees nor
    comes first."""
    return [
        PlacementOption("PL-A", OFFERED, ("S1",), fees=100.0),
        PlacementOption("PL-B", OFFERED, ("S2", "S3"), fees=150.0, discounts=90.0),
        PlacementOption("PL-C", OFFERED, ("S4",), fees=70.0),
    ]


def default_transport(shipment_id: str) -> list[TransportationOption]:
    """Two partnered offers and one own-carrier offer that needs a confirmed delivery
    window; own carrier is the cheapest of all."""
    return [
        TransportationOption(f"TP1-{shipment_id}", shipment_id, PARTNERED_CARRIER, "GROUND_SMALL_PARCEL",
                             "UPS", cost=80.0),
        TransportationOption(f"TP2-{shipment_id}", shipment_id, PARTNERED_CARRIER, "FREIGHT_LTL",
                             "UPS", cost=45.0),
        TransportationOption(f"TO-{shipment_id}", shipment_id, OWN_CARRIER, "GROUND_SMALL_PARCEL",
                             "OTHER", cost=0.0, preconditions=(CONFIRMED_DELIVERY_WINDOW,)),
    ]


@dataclass
class FakePlan:
    plan_id: str
    name: str
    items: list[InboundItem]
    packing: list[PackingOption] = field(default_factory=list)
    boxes: list[str] = field(default_factory=list)
    placement: list[PlacementOption] = field(default_factory=list)
    transport: list[TransportationOption] = field(default_factory=list)
    windows: dict[str, list[DeliveryWindowOption]] = field(default_factory=dict)
    status: str = "ACTIVE"


class FakeInbound:
    def __init__(self, placements: Callable[[], list[PlacementOption]] = default_placements,
                 transport: Callable[[str], list[TransportationOption]] = default_transport) -> None:
        self.make_placements, self.make_transport = placements, transport
        self.plans: dict[str, FakePlan] = {}
        self.shipments: dict[str, InboundShipmentStatus] = {}
        self.operations: dict[str, OperationStatus] = {}
        self.operation_method: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, tuple[Any, ...]]] = []
        self.waits: list[str] = []
        self.fail: dict[str, list[OperationProblem]] = {}
        self.crash_after: set[str] = set()
        self.crash_waiting: set[str] = set()
        self.downloads: list[str] = []

    # -- the machinery -----------------------------------------------------------------

    def _start(self, method: str, args: tuple[Any, ...], act: Callable[[], Any]) -> OperationId:
        """Record the call; act unless the operation is scripted to fail; crash if told."""
        self.calls[method] += 1
        self.log.append((method, args))
        operation_id = f"op-{len(self.operations) + 1}"
        problems = self.fail.pop(method, None)
        if problems is None:
            problems = act() or None  # an act may refuse with problems of its own
        state = FAILED if problems else SUCCESS
        self.operations[operation_id] = OperationStatus(operation_id, state, tuple(problems or ()))
        self.operation_method[operation_id] = method
        if method in self.crash_after:
            self.crash_after.discard(method)
            raise Crash(f"died right after {method}")
        return OperationId(operation_id)

    def operation_status(self, operation_id: str) -> OperationStatus:
        return self.operations[operation_id]

    def wait_for_operation(self, operation_id: str, what: str, timeout: float = 300,
                           interval: float = 1.0) -> OperationStatus:
        self.waits.append(operation_id)
        method = self.operation_method[operation_id]
        if method in self.crash_waiting:
            self.crash_waiting.discard(method)
            raise Crash(f"died waiting on {method}")
        status = self.operations[operation_id]
        if status.state == FAILED:
            raise InboundOperationFailed(what, status.problems)
        return status

    def _plan(self, plan_id: str) -> FakePlan:
        return self.plans[plan_id]

    # -- plans ---------------------------------------------------------------------------

    def inbound_plans(self) -> list[InboundPlanSummary]:
        return [InboundPlanSummary(p.plan_id, p.name, p.status) for p in self.plans.values()]

    def create_inbound_plan(self, name: str, items: Sequence[InboundItem],
                            source_address: Mapping[str, Any]) -> CreatedInboundPlan:
        plan_id = f"wf-{len(self.plans) + 1}"

        def act() -> None:
            self.plans[plan_id] = FakePlan(plan_id, name, list(items))

        return CreatedInboundPlan(self._start("create_inbound_plan", (name,), act), plan_id)

    def cancel_inbound_plan(self, plan_id: str) -> OperationId:
        return self._start("cancel_inbound_plan", (plan_id,),
                           lambda: setattr(self._plan(plan_id), "status", "VOIDED"))

    # -- packing -------------------------------------------------------------------------

    def generate_packing_options(self, plan_id: str) -> OperationId:
        def act() -> None:
            self._plan(plan_id).packing = [PackingOption("PO-1", OFFERED, ("PG-1",)),
                                           PackingOption("PO-2", OFFERED, ("PG-1",), fees=5.0)]
        return self._start("generate_packing_options", (plan_id,), act)

    def packing_options(self, plan_id: str) -> list[PackingOption]:
        return list(self._plan(plan_id).packing)

    def confirm_packing_option(self, plan_id: str, option_id: str) -> OperationId:
        def act() -> None:
            plan = self._plan(plan_id)
            plan.packing = [replace(o, status=ACCEPTED) if o.option_id == option_id else o
                            for o in plan.packing]
        return self._start("confirm_packing_option", (plan_id, option_id), act)

    def packing_group_items(self, plan_id: str, packing_group_id: str) -> list[ItemQuantity]:
        return [ItemQuantity(i.msku, i.quantity) for i in self._plan(plan_id).items]

    def set_packing_information(self, plan_id: str, groupings: Sequence[PackageGrouping],
                                items: Mapping[str, InboundItem]) -> OperationId:
        def act() -> None:
            plan = self._plan(plan_id)
            plan.boxes = [f"{plan_id}-{box.label}{n}" for grouping in groupings
                          for box in grouping.boxes for n in range(1, box.count + 1)]
        return self._start("set_packing_information", (plan_id, tuple(groupings)), act)

    def plan_boxes(self, plan_id: str) -> list[str]:
        return list(self._plan(plan_id).boxes)

    # -- placement -----------------------------------------------------------------------

    def generate_placement_options(self, plan_id: str) -> OperationId:
        def act() -> None:
            self._plan(plan_id).placement = self.make_placements()
        return self._start("generate_placement_options", (plan_id,), act)

    def placement_options(self, plan_id: str) -> list[PlacementOption]:
        return list(self._plan(plan_id).placement)

    def confirm_placement_option(self, plan_id: str, option_id: str) -> OperationId:
        def act() -> None:
            plan = self._plan(plan_id)
            plan.placement = [replace(o, status=ACCEPTED) if o.option_id == option_id else o
                              for o in plan.placement]
            chosen = next(o for o in plan.placement if o.option_id == option_id)
            for shipment_id in chosen.shipment_ids:
                self.shipments[shipment_id] = InboundShipmentStatus(
                    shipment_id, status="WORKING", confirmation_id=f"FBA{shipment_id}",
                    warehouse_id="ABE2")
        return self._start("confirm_placement_option", (plan_id, option_id), act)

    def shipment(self, plan_id: str, shipment_id: str) -> InboundShipmentStatus:
        return self.shipments[shipment_id]

    def shipment_items(self, plan_id: str, shipment_id: str) -> list[ItemQuantity]:
        return [ItemQuantity(i.msku, i.quantity) for i in self._plan(plan_id).items]

    def shipment_boxes(self, plan_id: str, shipment_id: str) -> list[str]:
        return [box for box in self._plan(plan_id).boxes]

    # -- transportation ------------------------------------------------------------------

    def generate_transportation_options(self, plan_id: str, placement_option_id: str,
                                        shipment_ids: Sequence[str], ready_from: datetime) -> OperationId:
        def act() -> None:
            self._plan(plan_id).transport = [o for s in shipment_ids for o in self.make_transport(s)]
        return self._start("generate_transportation_options",
                           (plan_id, placement_option_id, tuple(shipment_ids)), act)

    def transportation_options(self, plan_id: str, placement_option_id: str,
                               shipment_id: str | None = None) -> list[TransportationOption]:
        return [o for o in self._plan(plan_id).transport
                if shipment_id is None or o.shipment_id == shipment_id]

    def confirm_transportation_options(self, plan_id: str,
                                       selections: Sequence[TransportationSelection]) -> OperationId:
        def act() -> list[OperationProblem] | None:
            options = {o.option_id: o for o in self._plan(plan_id).transport}
            for s in selections:
                option = options.get(s.option_id)
                if option is None:
                    return [OperationProblem("FBA_INB_0100", f"unknown option {s.option_id}")]
                if (CONFIRMED_DELIVERY_WINDOW in option.preconditions
                        and not self.shipments[s.shipment_id].delivery_window_selected):
                    return [OperationProblem("FBA_INB_0322",
                                             f"shipment {s.shipment_id} needs a confirmed delivery window")]
            for s in selections:
                self.shipments[s.shipment_id] = replace(self.shipments[s.shipment_id],
                                                        selected_transportation_option_id=s.option_id)
            return None
        return self._start("confirm_transportation_options", (plan_id, tuple(selections)), act)

    def generate_delivery_window_options(self, plan_id: str, shipment_id: str) -> OperationId:
        def act() -> None:
            self._plan(plan_id).windows[shipment_id] = [
                DeliveryWindowOption(f"DW1-{shipment_id}", "2026-12-10", "2026-12-17"),
                DeliveryWindowOption(f"DW2-{shipment_id}", "2026-12-18", "2026-12-25")]
        return self._start("generate_delivery_window_options", (plan_id, shipment_id), act)

    def delivery_window_options(self, plan_id: str, shipment_id: str) -> list[DeliveryWindowOption]:
        return list(self._plan(plan_id).windows.get(shipment_id, []))

    def confirm_delivery_window_option(self, plan_id: str, shipment_id: str,
                                       option_id: str) -> OperationId:
        def act() -> None:
            self.shipments[shipment_id] = replace(self.shipments[shipment_id],
                                                  delivery_window_selected=True)
        return self._start("confirm_delivery_window_option", (plan_id, shipment_id, option_id), act)

    # -- labels and v0 (read-only) ------------------------------------------------------

    def box_labels(self, shipment_confirmation_id: str, box_ids: Sequence[str]) -> str:
        return f"fake://labels/{shipment_confirmation_id}/{len(box_ids)}"

    def item_labels(self, items: Sequence[ItemQuantity]) -> list[str]:
        return [f"fake://items/{i.msku}/{i.quantity}" for i in items]

    def received_items(self, shipment_confirmation_id: str) -> list[ReceivedItem]:
        return []

    def download(self, url: str) -> bytes:
        self.downloads.append(url)
        return b"%PDF-1.4 " + url.encode()
