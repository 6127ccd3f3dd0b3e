"""Inbound: send stock to Amazon's fulfillment centers and follow it until received.

The workflow is a chain of recovery points kept on the plan's ledger row (`step`). Each
step either finds its work already done at Amazon (read back: a run that died after the
call but before the commit), or waits on the 202 operation it recorded, or makes its
call once and records the operationId before waiting. A killed or interrupted run is
resumed with `run_plan`, and never repeats a call that changes state at Amazon."""

from __future__ import annotations

import secrets as random_tokens
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bridge.config import StorefrontConfig
from bridge.domain.inbound import BoxType, InboundItem
from bridge.domain.inbound_amazon import (
    ACCEPTED,
    CONFIRMED_DELIVERY_WINDOW,
    OFFERED,
    OWN_CARRIER,
    PARTNERED_CARRIER,
    InboundOption,
    ItemQuantity,
    OperationId,
    PackageGrouping,
    PackingOption,
    PlacementOption,
    TransportationOption,
    TransportationSelection,
)
from bridge.errors import BridgeError, IndeterminateError, NeedsAttentionError
from bridge.fba.inbound import InboundOperationFailed
from bridge.fba.port import InboundNetwork
from bridge.ledger import inbound as inbound_rows
from bridge.ledger import repo
from bridge.ledger.inbound import CLOSED_SHIPMENT_STATUSES
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import InboundPlan, InboundShipment, utcnow
from bridge.services.inbound_views import PlanEvent, PlanShipment, PlanSummary

STEPS = (
    "new", "plan_created", "packing_generated", "packing_confirmed", "packing_set",
    "placement_generated", "placement_confirmed", "transport_generated",
    "delivery_windows_confirmed", "transport_confirmed", "labels_fetched",
)
FOLLOWING = "labels_fetched"
CLOSED_STATUSES = CLOSED_SHIPMENT_STATUSES

# chooser(kind, options) → the chosen option (one of `options`); kinds: packing, placement,
# transportation, delivery_window. The default follows the storefront's [inbound] policy.
Json = dict[str, Any]  # a JSON column, as it comes
Chooser = Callable[[str, Sequence[InboundOption]], InboundOption]
Progress = Callable[[str], None]
Option = TypeVar("Option", PackingOption, PlacementOption, TransportationOption, InboundOption)
Confirmable = TypeVar("Confirmable", PackingOption, PlacementOption)


@dataclass
class PlanFiles:
    items: list[InboundItem]
    boxes: list[BoxType]
    source_address: Json


def create_plan(ledger: Ledger, storefront: StorefrontConfig, files: PlanFiles,
                name: str | None = None) -> int:
    """Record a new plan (nothing is sent yet); returns its ledger id."""
    name = name or f"{storefront.id_prefix}-{utcnow():%Y%m%d-%H%M}-{random_tokens.token_hex(3)}"
    with ledger.transaction() as session:
        plan = inbound_rows.add_plan(
            session,
            storefront=storefront.name, name=name[:40], step="new", status="open",
            items=[item.as_input() for item in files.items],
            boxes=[{"label": b.label, "count": b.count, "length": b.length, "width": b.width,
                    "height": b.height, "weight": b.weight, "contents": b.contents}
                   for b in files.boxes],
            source_address=files.source_address,
            choices={"placement": storefront.inbound.placement,
                     "carrier": storefront.inbound.carrier,
                     "ready_in_days": storefront.inbound.ready_in_days},
        )
        _event(session, plan, "inbound_recorded", f"plan {plan.name} recorded with "
               f"{len(files.items)} SKUs, {sum(i.quantity for i in files.items)} units")
        return plan.id


def _event(session: Session, plan: InboundPlan, kind: str, message: str) -> None:
    repo.record_event(session, plan.storefront, None, kind, message=message,
                      inbound_plan_id=plan.id)


class Workflow:
    """Drives one plan from its current step to labels on disk."""

    def __init__(self, ledger: Ledger, client: InboundNetwork, plan_id: int,
                 chooser: Chooser | None = None, progress: Progress = lambda _text: None,
                 labels_dir: Path = Path("var/labels"), operation_timeout: float = 600,
                 settle_seconds: float = 60) -> None:
        self.ledger, self.client, self.plan_id = ledger, client, plan_id
        self.choose = chooser or policy_chooser
        self._by_policy = chooser is None  # the storefront's recorded rules decide
        self.progress = progress
        self.labels_dir = labels_dir
        self.operation_timeout = operation_timeout
        self.settle_seconds = settle_seconds

    # -- ledger helpers ---------------------------------------------------------------

    def plan(self) -> InboundPlan:
        with self.ledger.transaction() as session:
            return _plan(session, self.plan_id)

    def _update(self, message: str = "", kind: str = "inbound_step", **values: Any) -> InboundPlan:
        with self.ledger.transaction() as session:
            plan = _plan(session, self.plan_id)
            for key, value in values.items():
                setattr(plan, key, value)
            if message:
                _event(session, plan, kind, message)
            return plan

    def _advance(self, step: str, message: str, **values: Any) -> None:
        self._update(message, step=step, pending_operation="", pending_operation_id="",
                     last_error="", **values)

    # -- the at-most-once pattern for 202 operations -----------------------------------

    def _operation(self, name: str, what: str, call: Callable[[], OperationId],
                   already_done: Callable[[], bool], saved: dict[str, str] | None = None) -> None:
        """Run one 202 operation at most once. The intent is committed before the call
        and the operationId right after it; a run that died between the two left the
        intent alone, and Amazon may or may not have the call: such a resume gives the
        operation time to show its effect before it calls again. `saved` holds ledger
        columns `call` fills from Amazon's answer, recorded with the operationId."""
        plan = self.plan()
        if plan.pending_operation == name and plan.pending_operation_id:
            operation_id = plan.pending_operation_id
            self.progress(f"waiting for Amazon to {what} (resumed)")
        elif self._done(already_done, settle=plan.pending_operation == name):
            self.progress(f"{what}: already done at Amazon")
            return
        else:
            self._update(kind="inbound_call", pending_operation=name, pending_operation_id="")
            self.progress(f"asking Amazon to {what}")
            try:
                operation_id = call()
            except IndeterminateError:
                raise  # Amazon may have it: the intent stays, and a resume reads back
            except BridgeError:
                # Refused or never sent: nothing to wait for on the next run.
                self._update(pending_operation="", pending_operation_id="")
                raise
            self._update(f"{name} sent (operation {operation_id})", kind="inbound_call",
                         pending_operation_id=operation_id, **(saved or {}))
        try:
            self.client.wait_for_operation(operation_id, what, timeout=self.operation_timeout)
        except InboundOperationFailed as failed:
            # The next resume makes the call afresh; the problems are on the plan.
            self._update(failed.message, kind="inbound_failed", pending_operation="",
                         pending_operation_id="", last_error=failed.message)
            raise

    def _done(self, already_done: Callable[[], bool], settle: bool) -> bool:
        if already_done():
            return True
        if not settle:
            return False
        # An in-flight operation shows its effect once Amazon finishes it.
        deadline = time.monotonic() + self.settle_seconds
        while time.monotonic() < deadline:
            time.sleep(min(1.0, self.settle_seconds / 10))
            if already_done():
                return True
        return False

    def _pick(self, kind: str, options: Sequence[Option], choose: Chooser | None = None) -> Option:
        """The chooser's pick, which must be one of `options`."""
        chosen = (choose or self.choose)(kind, options)
        for option in options:
            if option == chosen:
                return option
        raise NeedsAttentionError("inbound_bad_choice", f"the {kind} option chosen is not one Amazon offered")

    # -- the steps ----------------------------------------------------------------------

    def run(self) -> PlanSummary:
        """Takes the plan to labels on disk; returns it as it ends."""
        handlers = {
            "new": self._create, "plan_created": self._generate_packing,
            "packing_generated": self._confirm_packing, "packing_confirmed": self._set_packing,
            "packing_set": self._generate_placement, "placement_generated": self._confirm_placement,
            "placement_confirmed": self._generate_transport,
            "transport_generated": self._delivery_windows,
            "delivery_windows_confirmed": self._confirm_transport,
            "transport_confirmed": self._fetch_labels,
        }
        while True:
            plan = self.plan()
            if plan.status != "open":
                raise NeedsAttentionError("inbound_closed", f"plan {plan.name} is {plan.status}")
            if plan.step == FOLLOWING:
                return PlanSummary.of(plan)
            handlers[plan.step](plan)

    def _create(self, plan: InboundPlan) -> None:
        def find_by_name() -> bool:
            for summary in self.client.inbound_plans():
                if summary.name == plan.name:
                    self._update(f"found plan {summary.inbound_plan_id} at Amazon by name",
                                 inbound_plan_id=summary.inbound_plan_id)
                    return True
            return False

        saved: dict[str, str] = {}

        def create() -> OperationId:
            created = self.client.create_inbound_plan(plan.name, plan_items(plan), plan.source_address)
            saved["inbound_plan_id"] = created.inbound_plan_id
            return created.operation_id

        self._operation("createInboundPlan", "create the inbound plan", create, find_by_name, saved)
        self._advance("plan_created", f"inbound plan {self.plan().inbound_plan_id} created")

    def _packing_options(self, plan: InboundPlan) -> list[PackingOption]:
        return self.client.packing_options(amazon_plan_id(plan))

    def _generate_packing(self, plan: InboundPlan) -> None:
        self._operation("generatePackingOptions", "generate packing options",
                        lambda: self.client.generate_packing_options(amazon_plan_id(plan)),
                        lambda: bool(self._packing_options(plan)))
        self._advance("packing_generated", "packing options ready")

    def _confirm_option(self, kind: str, options: Callable[[], list[Confirmable]], operation: str,
                        confirm: Callable[[str], OperationId],
                        choose: Chooser | None = None) -> Confirmable:
        """Choose one offered option (or find the one already accepted) and confirm it
        once; returns the option."""
        def accepted() -> Confirmable | None:
            return next((o for o in options() if o.status == ACCEPTED), None)

        chosen = accepted()
        if chosen is None:
            offered = options()
            chosen = self._pick(kind, [o for o in offered if o.status == OFFERED] or offered, choose)
        option_id = chosen.option_id
        self._operation(operation, f"confirm the {kind} option",
                        lambda: confirm(option_id), lambda: accepted() is not None)
        return chosen

    def _confirm_packing(self, plan: InboundPlan) -> None:
        chosen = self._confirm_option(
            "packing", lambda: self._packing_options(plan), "confirmPackingOption",
            lambda option_id: self.client.confirm_packing_option(amazon_plan_id(plan), option_id))
        self._advance("packing_confirmed", f"packing option {chosen.option_id} confirmed",
                      packing_option_id=chosen.option_id)

    def _set_packing(self, plan: InboundPlan) -> None:
        option = next(o for o in self._packing_options(plan) if o.option_id == plan.packing_option_id)
        groupings = self._groupings(plan, option.packing_groups)
        items = {item.msku: item for item in plan_items(plan)}
        self._operation("setPackingInformation", "take the box contents",
                        lambda: self.client.set_packing_information(amazon_plan_id(plan), groupings, items),
                        lambda: bool(self.client.plan_boxes(amazon_plan_id(plan))))
        self._advance("packing_set", "box contents, sizes and weights sent")

    def _groupings(self, plan: InboundPlan, group_ids: Sequence[str]) -> list[PackageGrouping]:
        """Each box type goes to the packing group that holds all of its SKUs."""
        group_skus = {
            group: {i.msku for i in self.client.packing_group_items(amazon_plan_id(plan), group)}
            for group in group_ids
        }
        groupings: dict[str, list[BoxType]] = {group: [] for group in group_ids}
        for raw in plan.boxes:
            box = BoxType(**raw)
            home = [g for g, skus in group_skus.items() if set(box.contents) <= skus]
            if not home:
                raise NeedsAttentionError(
                    "inbound_box_split",
                    f"box {box.label} mixes SKUs Amazon put in different packing groups "
                    f"({', '.join(sorted(box.contents))}); pack them in separate boxes")
            groupings[home[0]].append(box)
        return [PackageGrouping(g, tuple(boxes)) for g, boxes in groupings.items() if boxes]

    def _placement_options(self, plan: InboundPlan) -> list[PlacementOption]:
        return self.client.placement_options(amazon_plan_id(plan))

    def _generate_placement(self, plan: InboundPlan) -> None:
        self._operation("generatePlacementOptions", "generate placement options",
                        lambda: self.client.generate_placement_options(amazon_plan_id(plan)),
                        lambda: bool(self._placement_options(plan)))
        self._advance("placement_generated", "placement options ready")

    def _confirm_placement(self, plan: InboundPlan) -> None:
        # `[inbound] placement = "first"` takes Amazon's first offer instead of the cheapest.
        first = self._by_policy and plan.choices.get("placement") == "first"
        chosen = self._confirm_option(
            "placement", lambda: self._placement_options(plan), "confirmPlacementOption",
            lambda option_id: self.client.confirm_placement_option(amazon_plan_id(plan), option_id),
            choose=first_offered if first else None)
        # A resumed run may find the accepted option without its shipment ids filled yet.
        chosen = next(o for o in self._placement_options(plan) if o.option_id == chosen.option_id)
        shipment_ids = list(chosen.shipment_ids)
        self._record_shipments(plan, shipment_ids)
        self._advance("placement_confirmed",
                      f"placement option {chosen.option_id} confirmed: "
                      f"{len(shipment_ids)} shipment(s), placement fees {option_cost(chosen):.2f}",
                      placement_option_id=chosen.option_id)

    def _record_shipments(self, plan: InboundPlan, shipment_ids: list[str]) -> None:
        for shipment_id in shipment_ids:
            shipment = self.client.shipment(amazon_plan_id(plan), shipment_id)
            expected = {item.msku: {"expected": item.quantity, "received": 0}
                        for item in self.client.shipment_items(amazon_plan_id(plan), shipment_id)}
            with self.ledger.transaction() as session:
                row = inbound_rows.find_shipment(session, plan.id, shipment_id)
                if row is None:
                    row = inbound_rows.add_shipment(session, plan.id, shipment_id, expected)
                row.confirmation_id = shipment.confirmation_id
                row.status = shipment.status
                row.destination = shipment.warehouse_id

    def _shipments(self, plan: InboundPlan) -> list[InboundShipment]:
        with self.ledger.transaction() as session:
            return inbound_rows.plan_shipments(session, plan.id)

    def _transport_options(self, plan: InboundPlan, shipment_id: str | None = None) -> list[TransportationOption]:
        return self.client.transportation_options(amazon_plan_id(plan), plan.placement_option_id,
                                                  shipment_id)

    def _generate_transport(self, plan: InboundPlan) -> None:
        ready = (utcnow() + timedelta(days=int(plan.choices.get("ready_in_days", 1))))
        shipment_ids = [s.shipment_id for s in self._shipments(plan)]
        self._operation("generateTransportationOptions", "generate transportation options",
                        lambda: self.client.generate_transportation_options(
                            amazon_plan_id(plan), plan.placement_option_id, shipment_ids, ready),
                        lambda: bool(self._transport_options(plan)))
        # Choose now, once, and keep the choice: a resume must confirm the same options.
        for shipment in self._shipments(plan):
            options = self._transport_options(plan, shipment.shipment_id)
            chosen = self._pick("transportation", filter_carrier(options, plan.choices))
            with self.ledger.transaction() as session:
                _shipment(session, shipment.id).transportation_option_id = chosen.option_id
        self._advance("transport_generated", "transportation options chosen")

    def _delivery_windows(self, plan: InboundPlan) -> None:
        for shipment in self._shipments(plan):
            option = next((o for o in self._transport_options(plan, shipment.shipment_id)
                           if o.option_id == shipment.transportation_option_id), None)
            if option is not None and CONFIRMED_DELIVERY_WINDOW in option.preconditions:
                self._delivery_window(amazon_plan_id(plan), shipment.shipment_id)
        self._advance("delivery_windows_confirmed", "delivery windows confirmed where required")

    def _delivery_window(self, plan_id: str, shipment_id: str) -> None:
        """Have Amazon offer delivery windows for one shipment and confirm one."""
        self._operation(f"generateDeliveryWindowOptions:{shipment_id}",
                        f"offer delivery windows for shipment {shipment_id}",
                        lambda: self.client.generate_delivery_window_options(plan_id, shipment_id),
                        lambda: bool(self.client.delivery_window_options(plan_id, shipment_id)))

        def window_confirmed() -> bool:
            return self.client.shipment(plan_id, shipment_id).delivery_window_selected

        if window_confirmed():
            return
        chosen = self._pick("delivery_window", self.client.delivery_window_options(plan_id, shipment_id))
        self._operation(f"confirmDeliveryWindowOptions:{shipment_id}",
                        f"confirm a delivery window for shipment {shipment_id}",
                        lambda: self.client.confirm_delivery_window_option(plan_id, shipment_id,
                                                                           chosen.option_id),
                        window_confirmed)

    def _confirm_transport(self, plan: InboundPlan) -> None:
        shipments = self._shipments(plan)
        selections = [TransportationSelection(s.shipment_id, s.transportation_option_id) for s in shipments]

        def all_selected() -> bool:
            return all(self.client.shipment(amazon_plan_id(plan), s.shipment_id).selected_transportation_option_id
                       for s in shipments)

        self._operation("confirmTransportationOptions", "confirm the transportation options",
                        lambda: self.client.confirm_transportation_options(amazon_plan_id(plan), selections),
                        all_selected)
        self._record_shipments(plan, [s.shipment_id for s in shipments])
        self._advance("transport_confirmed", "transportation confirmed")

    def _fetch_labels(self, plan: InboundPlan) -> None:
        """Box labels per shipment (v0 getLabels) and item labels for SKUs the merchant
        labels: both read-only, so a resume may simply fetch them again."""
        folder = self.labels_dir
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for shipment in self._shipments(plan):
            boxes = [box for box in self.client.shipment_boxes(amazon_plan_id(plan), shipment.shipment_id)
                     if box]
            self.progress(f"fetching labels for {len(boxes)} box(es) of {shipment.confirmation_id}")
            url = self.client.box_labels(shipment.confirmation_id, boxes)
            path = folder / f"{plan.name}-{shipment.confirmation_id}-box-labels.pdf"
            path.write_bytes(self.client.download(url))
            written.append(path)
        seller_labelled = [ItemQuantity(item.msku, item.quantity)
                           for item in plan_items(plan) if item.label_owner == "SELLER"]
        if seller_labelled:
            for index, uri in enumerate(self.client.item_labels(seller_labelled)):
                path = folder / f"{plan.name}-item-labels-{index + 1}.pdf"
                path.write_bytes(self.client.download(uri))
                written.append(path)
        self._advance(FOLLOWING, "labels saved: " + ", ".join(str(p) for p in written),
                      labels_path=str(folder))


# -- choosing ---------------------------------------------------------------------------

def option_cost(option: PackingOption | PlacementOption) -> float:
    """Fees minus discounts of a packing or placement option."""
    return option.cost


def transport_cost(option: TransportationOption) -> float:
    return option.cost


def filter_carrier(options: list[TransportationOption], choices: Json) -> list[TransportationOption]:
    wanted = PARTNERED_CARRIER if choices.get("carrier") == "partnered" else OWN_CARRIER
    return [o for o in options if o.shipping_solution == wanted] or options


def policy_chooser(kind: str, options: Sequence[InboundOption]) -> InboundOption:
    """Cheapest placement and transportation; the first packing option and window."""
    if not options:
        raise NeedsAttentionError("inbound_no_options", f"Amazon offered no {kind} options")
    if kind in ("placement", "transportation"):
        return min(options, key=lambda o: o.cost if isinstance(o, PlacementOption | TransportationOption) else 0.0)
    return options[0]


def first_offered(kind: str, options: Sequence[InboundOption]) -> InboundOption:
    if not options:
        raise NeedsAttentionError("inbound_no_options", f"Amazon offered no {kind} options")
    return options[0]


def plan_items(plan: InboundPlan) -> list[InboundItem]:
    """The plan's items as recorded (each an ItemInput as the domain built it)."""
    return [InboundItem(item["msku"], item["quantity"], item["prepOwner"], item["labelOwner"],
                        item.get("expiration", ""), item.get("manufacturingLotCode", ""))
            for item in plan.items]


def amazon_plan_id(plan: InboundPlan) -> str:
    """Amazon's inboundPlanId, which every step after the first works on."""
    if not plan.inbound_plan_id:
        raise NeedsAttentionError("inbound_no_plan_id",
                                  f"plan {plan.name} has no inboundPlanId at Amazon yet")
    return plan.inbound_plan_id


# -- looking plans up -------------------------------------------------------------------

def _plan(session: Session, plan_id: int) -> InboundPlan:
    plan = inbound_rows.get_plan(session, plan_id)
    if plan is None:
        raise LookupError(f"no inbound plan {plan_id}")
    return plan


def _shipment(session: Session, row_id: int) -> InboundShipment:
    shipment = inbound_rows.get_shipment(session, row_id)
    if shipment is None:
        raise LookupError(f"no inbound shipment {row_id}")
    return shipment


def find_plan(ledger: Ledger, reference: str) -> PlanSummary | None:
    """A plan by ledger id, bridge's name for it, or Amazon's inboundPlanId."""
    with ledger.transaction() as session:
        plan = inbound_rows.find_plan(session, reference)
        return PlanSummary.of(plan) if plan is not None else None


def get_plan(ledger: Ledger, plan_id: int) -> PlanSummary:
    with ledger.transaction() as session:
        return PlanSummary.of(_plan(session, plan_id))


def list_plans(ledger: Ledger, storefront: str | None, include_closed: bool) -> list[PlanSummary]:
    with ledger.transaction() as session:
        return [PlanSummary.of(plan)
                for plan in inbound_rows.list_plans(session, storefront, include_closed)]


def plan_shipments(ledger: Ledger, plan_id: int) -> list[PlanShipment]:
    with ledger.transaction() as session:
        return [PlanShipment.of(row) for row in inbound_rows.plan_shipments(session, plan_id)]


def plan_events(ledger: Ledger, plan_id: int) -> list[PlanEvent]:
    with ledger.transaction() as session:
        return [PlanEvent.of(event) for event in repo.plan_events(session, plan_id)]


def known_skus(ledger: Ledger, storefront: str, allow_unknown: bool) -> set[str] | None:
    """Seller SKUs Amazon has records for, to refuse unknown ones before any call; None
    when the merchant allows new SKUs or no inventory has been read yet."""
    if allow_unknown:
        return None
    with ledger.transaction() as session:
        levels = repo.stock_levels(session, storefront)
    return set(levels) or None


# -- following shipments ----------------------------------------------------------------

def follow_shipments(ledger: Ledger, client: InboundNetwork, storefront: str) -> int:
    """Read every open shipment's status and received quantities; record changes.
    Returns how many shipments changed."""
    with ledger.transaction() as session:
        plans = {p.id: p for p in inbound_rows.open_plans_at_step(session, storefront, FOLLOWING)}
        shipments = inbound_rows.unclosed_shipments(session, plans)
    changed = 0
    for shipment in shipments:
        plan = plans[shipment.plan_id]
        status = client.shipment(amazon_plan_id(plan), shipment.shipment_id).status
        received = {row.sku: row.received for row in client.received_items(shipment.confirmation_id)}
        with ledger.transaction() as session:
            row = _shipment(session, shipment.id)
            items = {sku: dict(v) for sku, v in row.items.items()}
            notes = []
            for sku, count in received.items():
                if sku in items and items[sku]["received"] != count:
                    notes.append(f"{sku} {items[sku]['received']}→{count}")
                    items[sku]["received"] = count
            if status != row.status or notes:
                changed += 1
                message = f"shipment {row.confirmation_id}: {row.status or '-'}→{status}"
                if notes:
                    message += "; received " + ", ".join(notes)
                row.status, row.items = status, items
                _event(session, _plan(session, plan.id), "inbound_progress", message)
            if not inbound_rows.has_unclosed_shipment(session, plan.id):
                closing = _plan(session, plan.id)
                closing.status = "complete"
                _event(session, closing, "inbound_complete", "every shipment is closed")
    return changed


def cancel_plan(ledger: Ledger, client: InboundNetwork, plan_id: int) -> str:
    """Cancel at Amazon (if it has the plan) and close it in the ledger."""
    with ledger.transaction() as session:
        plan = _plan(session, plan_id)
    if plan.status != "open":
        raise NeedsAttentionError("inbound_closed", f"plan {plan.name} is already {plan.status}")
    if plan.inbound_plan_id:
        operation_id = client.cancel_inbound_plan(plan.inbound_plan_id)
        client.wait_for_operation(operation_id, "cancel the inbound plan")
    with ledger.transaction() as session:
        plan = _plan(session, plan_id)
        plan.status = "cancelled"
        _event(session, plan, "inbound_cancelled", "cancelled by the merchant")
    return plan.name
