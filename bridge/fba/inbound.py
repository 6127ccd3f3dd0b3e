"""Fulfillment Inbound 2024-03-20 and the live v0 operations, one named method per
operation the inbound service uses (`bridge.fba.port.InboundNetwork`), taking and
returning bridge's domain types (`bridge.domain.inbound_amazon`); the JSON mapping is
`bridge.fba.inbound_mapping`. Paths and rate limits come from the models; transport,
retries and error classification from `bridge.fba.http`.

Every 202 operation returns an operationId; `wait_for_operation` polls
getInboundOperationStatus until Amazon says SUCCESS or FAILED. A wrong shape in the
answer to a call that changes state is an IndeterminateError: Amazon did act."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from bridge import net
from bridge.domain.inbound import InboundItem
from bridge.domain.inbound_amazon import (
    FAILED,
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
from bridge.errors import IndeterminateError, MalformedAnswer, NeedsAttentionError, TransientError
from bridge.fba import fields
from bridge.fba import inbound_mapping as mapping
from bridge.fba.http import SpApiHttp
from bridge.fba.operations import Operation, model_operation

# Label PDFs for a large shipment run to a few MB; the cap keeps a runaway answer out.
DOWNLOAD_MAX_BYTES = 50 * 1024 * 1024
DOWNLOAD_SECONDS = 60


@cache
def _op(operation_id: str) -> Operation:
    return model_operation(operation_id)


class InboundOperationFailed(NeedsAttentionError):
    """Amazon finished an inbound operation with FAILED; `problems` are its
    operationProblems."""

    def __init__(self, operation: str, problems: Sequence[OperationProblem]) -> None:
        text = "; ".join(
            f"{p.code}: {p.message}" + (f" ({p.details})" if p.details else "")
            for p in problems
        ) or "no problems listed"
        super().__init__("inbound_operation_failed", f"Amazon could not {operation}: {text}")
        self.operation, self.problems = operation, list(problems)
        self._init_args = (operation, problems)


T = TypeVar("T")
V0_PAGE_TYPE, V0_LABEL_TYPE = "PackageLabel_Letter_6", "BARCODE_2D"


class InboundClient:
    def __init__(self, http: SpApiHttp, marketplace_id: str,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._http = http
        self.marketplace_id = marketplace_id
        self._sleep = sleep

    # -- the wire (every named method goes through `call`) ------------------------------

    def call(self, operation_id: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
             **path_params: str) -> dict[str, Any]:
        return self._http.call(_op(operation_id), path_params=path_params or None,
                               params=params, body=body)

    def pages(self, operation_id: str, key: str, params: dict[str, Any] | None = None,
              **path_params: str) -> Iterator[dict[str, Any]]:
        """Every element of `key` across the pages of a list operation."""
        params = dict(params or {})
        while True:
            data = self.call(operation_id, None, params, **path_params)
            yield from fields.objects(data, key, operation_id)
            token = mapping.next_token(data, operation_id)
            if not token:
                return
            params["paginationToken"] = token

    def _listed(self, read: Callable[[dict[str, Any]], T], operation_id: str, key: str,
                params: dict[str, Any] | None = None, **path_params: str) -> list[T]:
        return [read(element) for element in self.pages(operation_id, key, params, **path_params)]

    def _start(self, operation_id: str, body: dict[str, Any] | None = None,
               **path_params: str) -> OperationId:
        """A call that starts a 202 operation; returns its operationId."""
        answer = self.call(operation_id, body, None, **path_params)
        return _changed(operation_id, lambda: mapping.operation_id(answer, operation_id))

    # -- plans --------------------------------------------------------------------------

    def inbound_plans(self) -> list[InboundPlanSummary]:
        return self._listed(mapping.plan_summary, "listInboundPlans", "inboundPlans")

    def create_inbound_plan(self, name: str, items: Sequence[InboundItem],
                            source_address: Mapping[str, Any]) -> CreatedInboundPlan:
        answer = self.call("createInboundPlan", body=mapping.create_plan_body(
            self.marketplace_id, name, items, source_address))
        return _changed("createInboundPlan", lambda: mapping.created_plan(answer))

    def cancel_inbound_plan(self, plan_id: str) -> OperationId:
        return self._start("cancelInboundPlan", inboundPlanId=plan_id)

    # -- packing ------------------------------------------------------------------------

    def generate_packing_options(self, plan_id: str) -> OperationId:
        return self._start("generatePackingOptions", inboundPlanId=plan_id)

    def packing_options(self, plan_id: str) -> list[PackingOption]:
        return self._listed(mapping.packing_option, "listPackingOptions", "packingOptions",
                            inboundPlanId=plan_id)

    def confirm_packing_option(self, plan_id: str, option_id: str) -> OperationId:
        return self._start("confirmPackingOption", inboundPlanId=plan_id, packingOptionId=option_id)

    def packing_group_items(self, plan_id: str, packing_group_id: str) -> list[ItemQuantity]:
        return self._listed(lambda data: mapping.item_quantity(data, "listPackingGroupItems"),
                            "listPackingGroupItems", "items", inboundPlanId=plan_id,
                            packingGroupId=packing_group_id)

    def set_packing_information(self, plan_id: str, groupings: Sequence[PackageGrouping],
                                items: Mapping[str, InboundItem]) -> OperationId:
        return self._start("setPackingInformation", mapping.packing_information_body(groupings, items),
                           inboundPlanId=plan_id)

    def plan_boxes(self, plan_id: str) -> list[str]:
        """The boxIds of the plan's boxes ("" for a box not numbered yet)."""
        return self._listed(lambda data: mapping.box_id(data, "listInboundPlanBoxes"),
                            "listInboundPlanBoxes", "boxes", inboundPlanId=plan_id)

    # -- placement ----------------------------------------------------------------------

    def generate_placement_options(self, plan_id: str) -> OperationId:
        return self._start("generatePlacementOptions", {}, inboundPlanId=plan_id)

    def placement_options(self, plan_id: str) -> list[PlacementOption]:
        return self._listed(mapping.placement_option, "listPlacementOptions", "placementOptions",
                            inboundPlanId=plan_id)

    def confirm_placement_option(self, plan_id: str, option_id: str) -> OperationId:
        return self._start("confirmPlacementOption", inboundPlanId=plan_id, placementOptionId=option_id)

    # -- shipments ----------------------------------------------------------------------

    def shipment(self, plan_id: str, shipment_id: str) -> InboundShipmentStatus:
        return mapping.shipment(self.call("getShipment", inboundPlanId=plan_id, shipmentId=shipment_id))

    def shipment_items(self, plan_id: str, shipment_id: str) -> list[ItemQuantity]:
        return self._listed(lambda data: mapping.item_quantity(data, "listShipmentItems"),
                            "listShipmentItems", "items", inboundPlanId=plan_id, shipmentId=shipment_id)

    def shipment_boxes(self, plan_id: str, shipment_id: str) -> list[str]:
        """The boxIds of one shipment's boxes ("" for a box not numbered yet)."""
        return self._listed(lambda data: mapping.box_id(data, "listShipmentBoxes"),
                            "listShipmentBoxes", "boxes", inboundPlanId=plan_id, shipmentId=shipment_id)

    # -- transportation and delivery windows --------------------------------------------

    def generate_transportation_options(self, plan_id: str, placement_option_id: str,
                                        shipment_ids: Sequence[str], ready_from: datetime) -> OperationId:
        return self._start("generateTransportationOptions",
                           mapping.transportation_body(placement_option_id, shipment_ids, ready_from),
                           inboundPlanId=plan_id)

    def transportation_options(self, plan_id: str, placement_option_id: str,
                               shipment_id: str | None = None) -> list[TransportationOption]:
        params = {"placementOptionId": placement_option_id}
        if shipment_id:
            params["shipmentId"] = shipment_id
        return self._listed(mapping.transportation_option, "listTransportationOptions",
                            "transportationOptions", params, inboundPlanId=plan_id)

    def confirm_transportation_options(self, plan_id: str,
                                       selections: Sequence[TransportationSelection]) -> OperationId:
        return self._start("confirmTransportationOptions",
                           mapping.transportation_selections_body(selections), inboundPlanId=plan_id)

    def generate_delivery_window_options(self, plan_id: str, shipment_id: str) -> OperationId:
        return self._start("generateDeliveryWindowOptions", inboundPlanId=plan_id, shipmentId=shipment_id)

    def delivery_window_options(self, plan_id: str, shipment_id: str) -> list[DeliveryWindowOption]:
        return self._listed(mapping.delivery_window_option, "listDeliveryWindowOptions",
                            "deliveryWindowOptions", inboundPlanId=plan_id, shipmentId=shipment_id)

    def confirm_delivery_window_option(self, plan_id: str, shipment_id: str, option_id: str) -> OperationId:
        return self._start("confirmDeliveryWindowOptions", deliveryWindowOptionId=option_id,
                           inboundPlanId=plan_id, shipmentId=shipment_id)

    # -- 202 operations ----------------------------------------------------------------

    def operation_status(self, operation_id: str) -> OperationStatus:
        return mapping.operation_status(self.call("getInboundOperationStatus", operationId=operation_id))

    def wait_for_operation(self, operation_id: str, what: str, timeout: float = 300,
                           interval: float = 1.0) -> OperationStatus:
        """Poll until SUCCESS (returns the status) or FAILED (raises with the problems)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.operation_status(operation_id)
            if status.state == SUCCESS:
                return status
            if status.state == FAILED:
                raise InboundOperationFailed(what, status.problems)
            if time.monotonic() > deadline:
                raise TransientError(f"Amazon is still working on: {what}", retry_after=interval)
            self._sleep(interval)

    # -- labels and v0 -------------------------------------------------------------------

    def box_labels(self, shipment_confirmation_id: str, box_ids: Sequence[str],
                   page_type: str = V0_PAGE_TYPE, label_type: str = V0_LABEL_TYPE) -> str:
        """The download URL of the box labels PDF for the given boxes (v0 getLabels)."""
        data = self.call(
            "getLabels",
            params={"PageType": page_type, "LabelType": label_type,
                    "PackageLabelsToPrint": ",".join(box_ids)},
            shipmentId=shipment_confirmation_id,
        )
        return mapping.label_url(data)

    def item_labels(self, items: Sequence[ItemQuantity]) -> list[str]:
        """The download URLs of item labels (createMarketplaceItemLabels; read-only)."""
        answer = self.call("createMarketplaceItemLabels",
                           body=mapping.item_labels_body(self.marketplace_id, items))
        return mapping.item_label_urls(answer)

    def received_items(self, shipment_confirmation_id: str) -> list[ReceivedItem]:
        """v0 InboundShipmentItems (QuantityShipped, QuantityReceived) of one shipment."""
        data = self.call("getShipmentItemsByShipmentId",
                         params={"MarketplaceId": self.marketplace_id},
                         shipmentId=shipment_confirmation_id)
        return mapping.received_items(data)

    def download(self, url: str) -> bytes:
        """Fetch a document Amazon links to (labels): a plain GET, no SP-API token."""
        response = net.send(self._http.session, "GET", url, deadline=net.Deadline(DOWNLOAD_SECONDS),
                            max_body=DOWNLOAD_MAX_BYTES)
        if response.status_code != 200:
            raise TransientError(f"the document at Amazon's link answered HTTP {response.status_code}")
        return response.content


def _changed(operation_id: str, read: Callable[[], T]) -> T:
    """Read the answer to a call that changed state: a wrong shape there means Amazon
    acted but bridge cannot tell how, so a caller reads back rather than calls again."""
    try:
        return read()
    except MalformedAnswer as exc:
        raise IndeterminateError(f"{operation_id} was sent but its answer is unreadable: {exc.message}") from exc
