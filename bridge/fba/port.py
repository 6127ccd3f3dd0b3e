"""The ports services use to reach Amazon's fulfillment network. `FbaClient` implements
`FulfillmentNetwork` over the SP-API; `bridge.fba.fake.FakeFulfillmentNetwork` in memory, for
unit tests. A contract test runs the same cases against both, so the fake cannot drift from
the wire. `bridge.fba.inbound.InboundClient` implements `InboundNetwork` (Fulfillment
Inbound 2024-03-20 and v0), the simulator stands in for Amazon in its tests.

Errors are those of `bridge.errors`: TransientError (throttled, down; nothing done),
IndeterminateError (a write may have been done: read back), NeedsAttentionError (Amazon
refused the request), FatalError (credentials refused), MalformedAnswer (a wrong shape)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bridge.domain.fulfillment import (
    CancelOutcome,
    ChangedOrders,
    FeatureSkuEligibility,
    FulfillmentOrder,
    FulfillmentOrderRequest,
    FulfillmentOrderUpdate,
    InventoryLevel,
    UpdateOutcome,
)
from bridge.domain.inbound import InboundItem
from bridge.domain.inbound_amazon import (
    CreatedInboundPlan,
    DeliveryWindowOption,
    InboundPlanSummary,
    InboundShipmentStatus,
    ItemQuantity,
    OperationId,
    OperationStatus,
    PackageGrouping,
    PackingOption,
    PlacementOption,
    ReceivedItem,
    TransportationOption,
    TransportationSelection,
)
from bridge.fba.returns import CreatedReturn, OrderReturns, ReturnReason, ReturnUnit
from bridge.fba.tracking_details import PackageTracking


@runtime_checkable
class FulfillmentNetwork(Protocol):
    def create_fulfillment_order(self, request: FulfillmentOrderRequest) -> None:
        """Ask Amazon to create the fulfillment order the domain's mapping built.
        IndeterminateError: Amazon may have created it; read back, never resend blindly."""

    def fulfillment_order(self, seller_fulfillment_order_id: str) -> FulfillmentOrder | None:
        """The order as Amazon has it now, or None when Amazon has no such order."""

    def changed_orders(self, since: datetime) -> ChangedOrders:
        """Every order whose status changed at or after `since` (Amazon's clock)."""

    def cancel_order(self, seller_fulfillment_order_id: str) -> CancelOutcome:
        """Ask Amazon to cancel; a refusal (too late) is an outcome, not an error."""

    def inventory_levels(self, since: datetime | None = None,
                         marketplace_id: str = "") -> list[InventoryLevel]:
        """SKUs whose inventory changed at or after `since`; all of them without it (a
        SKU a full read leaves out has no stock). Of one marketplace: the client's own
        when "", as Amazon keeps inventory per marketplace."""

    def update_order(self, update: FulfillmentOrderUpdate) -> UpdateOutcome:
        """updateFulfillmentOrder; a refusal (too late, an item it does not take) is an
        outcome. IndeterminateError: it may have been applied; read back. Setting the same
        values again is harmless."""

    def features(self, marketplace_id: str = "") -> dict[str, bool]:
        """getFeatures: each feature the marketplace offers → whether the seller is enrolled
        (of one marketplace: the client's own when "")."""

    def feature_sku(self, feature: str, seller_sku: str,
                    marketplace_id: str = "") -> FeatureSkuEligibility:
        """getFeatureSKU: whether the SKU can ship with the feature (NeedsAttentionError
        when the marketplace does not offer the feature at all)."""

    def package_tracking(self, package_number: int) -> PackageTracking | None:
        """Where one shipped package is (getPackageTrackingDetails), or None when Amazon
        has no tracking for it."""

    def return_reasons(self, seller_sku: str,
                       seller_fulfillment_order_id: str | None = None) -> list[ReturnReason]:
        """The return reason codes Amazon takes for a SKU (of that order's marketplace)."""

    def create_return(self, seller_fulfillment_order_id: str,
                      units: Sequence[ReturnUnit]) -> CreatedReturn:
        """Ask Amazon to take units back. A unit whose sellerReturnItemId Amazon has seen
        comes back invalid as DuplicateRequest (read it back with `order_returns`).
        IndeterminateError: Amazon may have taken them; resend the same ids."""

    def order_returns(self, seller_fulfillment_order_id: str) -> OrderReturns | None:
        """What shipped, the return items and authorizations; None: no such order."""


@runtime_checkable
class InboundNetwork(Protocol):
    """Sending stock to Amazon. Methods returning an OperationId start a 202 operation:
    wait for it with `wait_for_operation`. Plan ids are Amazon's inboundPlanId."""

    def inbound_plans(self) -> list[InboundPlanSummary]:
        """Every inbound plan Amazon has for the seller."""

    def create_inbound_plan(self, name: str, items: Sequence[InboundItem],
                            source_address: Mapping[str, Any]) -> CreatedInboundPlan:
        """IndeterminateError: Amazon may have created it; find it by name."""

    def cancel_inbound_plan(self, plan_id: str) -> OperationId: ...

    def generate_packing_options(self, plan_id: str) -> OperationId: ...

    def packing_options(self, plan_id: str) -> list[PackingOption]: ...

    def confirm_packing_option(self, plan_id: str, option_id: str) -> OperationId: ...

    def packing_group_items(self, plan_id: str, packing_group_id: str) -> list[ItemQuantity]: ...

    def set_packing_information(self, plan_id: str, groupings: Sequence[PackageGrouping],
                                items: Mapping[str, InboundItem]) -> OperationId:
        """The boxes of each packing group; `items` are the plan's items by msku."""

    def plan_boxes(self, plan_id: str) -> list[str]:
        """The boxIds of the plan's boxes (empty before packing information is set)."""

    def generate_placement_options(self, plan_id: str) -> OperationId: ...

    def placement_options(self, plan_id: str) -> list[PlacementOption]: ...

    def confirm_placement_option(self, plan_id: str, option_id: str) -> OperationId: ...

    def shipment(self, plan_id: str, shipment_id: str) -> InboundShipmentStatus: ...

    def shipment_items(self, plan_id: str, shipment_id: str) -> list[ItemQuantity]: ...

    def shipment_boxes(self, plan_id: str, shipment_id: str) -> list[str]: ...

    def generate_transportation_options(self, plan_id: str, placement_option_id: str,
                                        shipment_ids: Sequence[str], ready_from: datetime) -> OperationId:
        """Each shipment ready to ship from `ready_from` (UTC)."""

    def transportation_options(self, plan_id: str, placement_option_id: str,
                               shipment_id: str | None = None) -> list[TransportationOption]: ...

    def confirm_transportation_options(self, plan_id: str,
                                       selections: Sequence[TransportationSelection]) -> OperationId: ...

    def generate_delivery_window_options(self, plan_id: str, shipment_id: str) -> OperationId: ...

    def delivery_window_options(self, plan_id: str, shipment_id: str) -> list[DeliveryWindowOption]: ...

    def confirm_delivery_window_option(self, plan_id: str, shipment_id: str,
                                       option_id: str) -> OperationId: ...

    def operation_status(self, operation_id: str) -> OperationStatus: ...

    def wait_for_operation(self, operation_id: str, what: str, timeout: float = 300,
                           interval: float = 1.0) -> OperationStatus:
        """Poll until SUCCESS; InboundOperationFailed on FAILED, TransientError past `timeout`."""

    def box_labels(self, shipment_confirmation_id: str, box_ids: Sequence[str]) -> str:
        """The download URL of the box labels PDF (v0 getLabels)."""

    def item_labels(self, items: Sequence[ItemQuantity]) -> list[str]:
        """The download URLs of item labels for the given units."""

    def received_items(self, shipment_confirmation_id: str) -> list[ReceivedItem]:
        """Units shipped and received per SKU (v0)."""

    def download(self, url: str) -> bytes:
        """A document Amazon links to (labels)."""
