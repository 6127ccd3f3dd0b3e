"""What Amazon's Fulfillment Inbound API (2024-03-20 and the live v0 operations) tells
bridge, as bridge's own values. `bridge.fba.inbound_mapping` builds them from Amazon's
payloads; the inbound service reads only these (`bridge.fba.port.InboundNetwork`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

from bridge.domain.inbound import BoxType

OperationId = NewType("OperationId", str)

SUCCESS, FAILED, IN_PROGRESS = "SUCCESS", "FAILED", "IN_PROGRESS"
ACCEPTED, OFFERED = "ACCEPTED", "OFFERED"
PARTNERED_CARRIER, OWN_CARRIER = "AMAZON_PARTNERED_CARRIER", "USE_YOUR_OWN_CARRIER"
CONFIRMED_DELIVERY_WINDOW = "CONFIRMED_DELIVERY_WINDOW"


@dataclass(frozen=True)
class OperationProblem:
    code: str
    message: str
    severity: str = ""
    details: str = ""


@dataclass(frozen=True)
class OperationStatus:
    """getInboundOperationStatus: SUCCESS, FAILED or IN_PROGRESS, with the problems."""

    operation_id: str
    state: str
    problems: tuple[OperationProblem, ...] = ()


@dataclass(frozen=True)
class CreatedInboundPlan:
    operation_id: OperationId
    inbound_plan_id: str


@dataclass(frozen=True)
class InboundPlanSummary:
    inbound_plan_id: str
    name: str
    status: str = ""


class _Priced:
    """An option Amazon prices with fees and discounts."""

    fees: float
    discounts: float

    @property
    def cost(self) -> float:
        """Fees minus discounts."""
        return self.fees - self.discounts


@dataclass(frozen=True)
class PackingOption(_Priced):
    option_id: str
    status: str
    packing_groups: tuple[str, ...] = ()
    fees: float = 0.0
    discounts: float = 0.0


@dataclass(frozen=True)
class PlacementOption(_Priced):
    option_id: str
    status: str
    shipment_ids: tuple[str, ...] = ()
    fees: float = 0.0
    discounts: float = 0.0


@dataclass(frozen=True)
class TransportationOption:
    option_id: str
    shipment_id: str = ""
    shipping_solution: str = ""
    shipping_mode: str = ""
    carrier_name: str = ""
    cost: float = 0.0
    preconditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeliveryWindowOption:
    option_id: str
    start: str = ""
    end: str = ""


InboundOption = PackingOption | PlacementOption | TransportationOption | DeliveryWindowOption


@dataclass(frozen=True)
class ItemQuantity:
    """Units of one seller SKU (a packing group's, a shipment's, labels to print)."""

    msku: str
    quantity: int


@dataclass(frozen=True)
class InboundShipmentStatus:
    """getShipment: what bridge follows and records of one shipment."""

    shipment_id: str
    status: str = ""
    confirmation_id: str = ""
    warehouse_id: str = ""
    selected_transportation_option_id: str = ""
    delivery_window_selected: bool = False


@dataclass(frozen=True)
class ReceivedItem:
    """v0 getShipmentItemsByShipmentId: units shipped and received of one SKU."""

    sku: str
    shipped: int = 0
    received: int = 0


@dataclass(frozen=True)
class PackageGrouping:
    """The boxes of one packing group (setPackingInformation)."""

    packing_group_id: str
    boxes: tuple[BoxType, ...]


@dataclass(frozen=True)
class TransportationSelection:
    shipment_id: str
    option_id: str
