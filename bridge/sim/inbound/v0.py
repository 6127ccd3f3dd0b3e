"""Fulfillment Inbound API v0 (/fba/inbound/v0): the six operations Amazon keeps alive
next to v2024-03-20. Shipments are the 2024 shipments of confirmed placements, named by
their shipmentConfirmationId (FBA…). Box labels and bills of lading are PDF documents;
printing labels makes a WORKING shipment READY_TO_SHIP, which starts its trip."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bridge.sim.clock import iso
from bridge.sim.inbound import items as inbound_items
from bridge.sim.inbound import lifecycle as inbound_lifecycle
from bridge.sim.inbound.labels import document_url, save_document
from bridge.sim.inbound.transport import LTL, PARTNERED
from bridge.sim.operations import Operation
from bridge.sim.wire import Call, Reply, SimError, decode_token, encode_token, invalid_input

if TYPE_CHECKING:
    from bridge.sim.simulator import Simulator

PAGE_SIZE = 50
MAX_IDS = 999
MAX_PREP_LIST = 50
LABELS_PER_PALLET = 4  # "This returns four identical labels for each pallet."
PAGE_TYPES = ("PackageLabel_Letter_2", "PackageLabel_Letter_4", "PackageLabel_Letter_6",
              "PackageLabel_Letter_6_CarrierLeft", "PackageLabel_A4_2", "PackageLabel_A4_4",
              "PackageLabel_Plain_Paper", "PackageLabel_Plain_Paper_CarrierBottom",
              "PackageLabel_Thermal", "PackageLabel_Thermal_Unified",
              "PackageLabel_Thermal_NonPCP", "PackageLabel_Thermal_No_Carrier_Rotation")
LABEL_TYPES = ("BARCODE_2D", "UNIQUE", "PALLET")
STATUSES = ("WORKING", "READY_TO_SHIP", "SHIPPED", "RECEIVING", "CANCELLED", "DELETED",
            "CLOSED", "ERROR", "IN_TRANSIT", "DELIVERED", "CHECKED_IN")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_BOX_CONTENTS = {"BOX_CONTENT_PROVIDED": "INTERACTIVE", "BARCODE_2D": "2D_BARCODE",
                 "MANUAL_PROCESS": "NONE"}


def _v0_status(shipment: dict) -> str:
    """The v0 ShipmentStatus: it has no READY_TO_SHIP (labels printed, still the seller's:
    WORKING), and a shipment cancelled before it left the seller is DELETED."""
    status = shipment["status"]
    return {"READY_TO_SHIP": "WORKING", "CANCELLED": "DELETED"}.get(status, status)


def _required(call: Call, name: str) -> str:
    value = call.text(name)
    if value is None:
        raise invalid_input(f"Missing required parameter: {name}.")
    return value


def _integer(call: Call, name: str, minimum: int = 0) -> int | None:
    text = call.text(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise invalid_input(f"Value for parameter {name} must be an integer.") from None
    if value < minimum:
        raise invalid_input(f"Value for parameter {name} must be at least {minimum}.")
    return value


def _shipment(sim: Simulator, call: Call) -> tuple[dict, dict]:
    shipment_id = call.path_params["shipmentId"]
    found = sim.inbound.shipment_by_confirmation_id(shipment_id)
    if found is None:
        raise invalid_input(f"The shipment {shipment_id} does not exist.")
    return found


def _base_url(call: Call) -> str:
    return f"http://{call.headers.get('host', 'localhost')}"


def _address(address: dict) -> dict:
    """A 2024 AddressInput as the v0 Address (its own names and limits)."""
    view = {"Name": address["name"], "AddressLine1": address["addressLine1"],
            "City": address["city"], "CountryCode": address["countryCode"],
            "StateOrProvinceCode": address.get("stateOrProvinceCode", ""),
            "PostalCode": address["postalCode"][:30]}
    if address.get("addressLine2"):
        view["AddressLine2"] = address["addressLine2"]
    if address.get("districtOrCounty"):
        view["DistrictOrCounty"] = address["districtOrCounty"][:25]
    return view


def _shipment_info(plan: dict, shipment: dict) -> dict:
    owners = {i["labelOwner"] for i in shipment["items"]}
    label_prep = ("AMAZON_LABEL" if owners == {"AMAZON"} else
                  "NO_LABEL" if owners == {"NONE"} else "SELLER_LABEL")
    sources = {b["contentInformationSource"] for b in plan["boxes"]
               if b.get("shipmentId") == shipment["id"]}
    window = shipment.get("selectedDeliveryWindow")
    info = {"ShipmentId": shipment["confirmationId"], "ShipmentName": shipment["name"],
            "ShipFromAddress": _address(shipment["sourceAddress"]),
            "DestinationFulfillmentCenterId": shipment["warehouseId"],
            "ShipmentStatus": _v0_status(shipment), "LabelPrepType": label_prep,
            "AreCasesRequired": False,
            "BoxContentsSource": _BOX_CONTENTS.get(next(iter(sources)), "NONE")
            if len(sources) == 1 else "NONE"}
    if window:
        info["ConfirmedNeedByDate"] = iso(window["end"])[:10]
    return info


def _item_rows(sim: Simulator, plan: dict, shipment: dict) -> list[dict]:
    rows = []
    for item in shipment["items"]:
        prep = [{"PrepInstruction": inbound_items.V0_PREP_NAMES[p["prepType"]],
                 "PrepOwner": p["prepOwner"]}
                for p in inbound_items.prep_instructions(sim.inbound, item["msku"],
                                                         item["prepOwner"], plan["currency"])
                if p["prepOwner"] in ("AMAZON", "SELLER")]
        row = {"ShipmentId": shipment["confirmationId"], "SellerSKU": item["msku"],
               "FulfillmentNetworkSKU": item["fnsku"], "QuantityShipped": item["quantity"],
               "QuantityReceived": shipment["received"].get(item["msku"], 0),
               "QuantityInCase": 0}
        if prep:
            row["PrepDetailsList"] = prep
        rows.append(row)
    return rows


def _confirmed_shipments(sim: Simulator, marketplace_id: str):
    for plan in sim.inbound.plans():
        if plan["marketplaceId"] != marketplace_id:
            continue
        for shipment in plan["shipments"].values():
            if shipment.get("confirmationId"):
                yield plan, shipment


# -- queries ---------------------------------------------------------------------------------

def _query(call: Call, query_types: tuple[str, ...]) -> dict:
    """The filters of a first request, or those carried by NextToken."""
    query_type = _required(call, "QueryType")
    if query_type not in query_types:
        raise invalid_input(f"Value {query_type!r} for parameter QueryType is invalid. Valid "
                            f"values: {', '.join(query_types)}.")
    marketplace_id = _required(call, "MarketplaceId")
    if query_type == "NEXT_TOKEN":
        try:
            state = decode_token(_required(call, "NextToken"))
        except SimError:
            raise invalid_input("Invalid NextToken.") from None
        if state.get("marketplaceId") != marketplace_id or not isinstance(state.get("offset"),
                                                                          int):
            raise invalid_input("Invalid NextToken.")
        return state
    query: dict[str, Any] = {"marketplaceId": marketplace_id, "offset": 0, "after": None, "before": None,
             "statuses": [], "ids": []}
    if query_type == "DATE_RANGE":
        query["after"] = call.date("LastUpdatedAfter")
        query["before"] = call.date("LastUpdatedBefore")
        if query["after"] is None or query["before"] is None:
            raise invalid_input("LastUpdatedAfter and LastUpdatedBefore are required when "
                                "QueryType is DATE_RANGE.")
        if query["after"] > query["before"]:
            raise invalid_input("LastUpdatedAfter must not be later than LastUpdatedBefore.")
    return query


def _in_range(query: dict, shipment: dict) -> bool:
    return ((query["after"] is None or shipment["updatedAt"] >= query["after"]) and
            (query["before"] is None or shipment["updatedAt"] <= query["before"]))


def _paged(rows: list, query: dict, key: str) -> Reply:
    offset = query["offset"]
    result: dict[str, Any] = {key: rows[offset:offset + PAGE_SIZE]}
    if offset + PAGE_SIZE < len(rows):
        result["NextToken"] = encode_token({**query, "offset": offset + PAGE_SIZE})
    return Reply(200, {"payload": result})


def get_shipments(sim: Simulator, call: Call) -> Reply:
    query = _query(call, ("SHIPMENT", "DATE_RANGE", "NEXT_TOKEN"))
    if call.text("QueryType") != "NEXT_TOKEN":
        query["statuses"] = call.many("ShipmentStatusList")
        query["ids"] = call.many("ShipmentIdList")
        for status in query["statuses"]:
            if status not in STATUSES:
                raise invalid_input(f"Value {status!r} for parameter ShipmentStatusList is "
                                    f"invalid. Valid values: {', '.join(STATUSES)}.")
        if len(query["ids"]) > MAX_IDS:
            raise invalid_input(f"ShipmentIdList may hold at most {MAX_IDS} ids.")
        if call.text("QueryType") == "SHIPMENT" and not (query["statuses"] or query["ids"]):
            raise invalid_input("ShipmentStatusList or ShipmentIdList is required when "
                                "QueryType is SHIPMENT.")
    rows = []
    for plan, shipment in _confirmed_shipments(sim, query["marketplaceId"]):
        # Filter on the real status: a READY_TO_SHIP filter finds shipments v0 shows WORKING.
        statuses = {shipment["status"], _v0_status(shipment)}
        if query["statuses"] and not statuses & set(query["statuses"]):
            continue
        if query["ids"] and shipment["confirmationId"] not in query["ids"]:
            continue
        if _in_range(query, shipment):
            rows.append(_shipment_info(plan, shipment))
    return _paged(rows, query, "ShipmentData")


def get_shipment_items(sim: Simulator, call: Call) -> Reply:
    query = _query(call, ("DATE_RANGE", "NEXT_TOKEN"))
    rows = []
    for plan, shipment in _confirmed_shipments(sim, query["marketplaceId"]):
        if _in_range(query, shipment):
            rows.extend(_item_rows(sim, plan, shipment))
    return _paged(rows, query, "ItemData")


def get_shipment_items_by_shipment_id(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    return Reply(200, {"payload": {"ItemData": _item_rows(sim, plan, shipment)}})


# -- documents -------------------------------------------------------------------------------

def _label_page(plan: dict, shipment: dict, title: str, detail: list[str]) -> list[str]:
    source, destination = shipment["sourceAddress"], shipment["destinationAddress"]
    return [title, f"Shipment: {shipment['confirmationId']}  {shipment['name']}",
            f"Ship from: {source['name']}, {source['addressLine1']}, {source['city']} "
            f"{source['postalCode']} {source['countryCode']}",
            f"Ship to: {shipment['warehouseId']}, {destination['addressLine1']}, "
            f"{destination['city']} {destination['postalCode']} {destination['countryCode']}",
            *detail]


def get_labels(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    page_type, label_type = _required(call, "PageType"), _required(call, "LabelType")
    if page_type not in PAGE_TYPES:
        raise invalid_input(f"Value {page_type!r} for parameter PageType is invalid.")
    if label_type not in LABEL_TYPES:
        raise invalid_input(f"Value {label_type!r} for parameter LabelType is invalid. Valid "
                            f"values: {', '.join(LABEL_TYPES)}.")
    if not shipment.get("selectedTransportationOptionId") or \
            shipment["status"] in ("CANCELLED", "CLOSED"):
        raise invalid_input("Labels are available once the shipment's transportation option "
                            "is confirmed, until the shipment is closed.")
    boxes = [b for b in plan["boxes"] if b.get("shipmentId") == shipment["id"]]
    if label_type == "PALLET":
        pallets = _integer(call, "NumberOfPallets", 1) or len(shipment["pallets"])
        if not pallets:
            raise invalid_input("NumberOfPallets is required for pallet labels.")
        pages = [_label_page(plan, shipment, "FBA PALLET LABEL",
                             [f"Pallet {n} of {pallets}", f"Copy {c} of {LABELS_PER_PALLET}"])
                 for n in range(1, pallets + 1) for c in range(1, LABELS_PER_PALLET + 1)]
    else:
        wanted = call.many("PackageLabelsToPrint")
        known = {b["boxId"]: b for b in boxes}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise SimError(400, "IncorrectPackageIdentifier",
                           "PackageLabelsToPrint must match the boxID values from "
                           f"listShipmentBoxes; unknown: {', '.join(unknown[:10])}.")
        chosen = [known[w] for w in wanted] if wanted else boxes
        count = _integer(call, "NumberOfPackages", 1)
        if count is not None and not wanted and count != len(boxes):
            raise invalid_input(f"NumberOfPackages is {count} but the shipment has "
                                f"{len(boxes)} boxes.")
        pages = [_label_page(plan, shipment, "FBA BOX LABEL",
                             [f"Box: {b['boxId']}", f"Box {boxes.index(b) + 1} of {len(boxes)}",
                              f"Label type: {label_type}  Page type: {page_type}",
                              *(f"  {i['msku']} ({i['fnsku']}) x {i['quantity']}"
                                for i in b["items"][:20])])
                 for b in chosen]
    size, start = _integer(call, "PageSize", 1), _integer(call, "PageStartIndex", 0)
    if size is not None:
        pages = pages[(start or 0):(start or 0) + min(size, 1000)]
    now = sim.now()
    document_id = save_document(sim.store, f"{shipment['confirmationId']}-labels", pages, now)
    if shipment["status"] == "WORKING":
        inbound_lifecycle.ready_to_ship(sim.inbound, plan, shipment, now)
        sim.inbound.changed(plan, now)
    return Reply(200, {"payload": {"DownloadURL": document_url(_base_url(call), document_id)}})


def get_bill_of_lading(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    option = plan["transportationOptions"].get(shipment.get("selectedTransportationOptionId")
                                               or "")
    if option is None or (option["shippingSolution"], option["shippingMode"]) != (PARTNERED,
                                                                                    LTL):
        raise invalid_input("A bill of lading is available only for Amazon-partnered LTL "
                            "shipments with a confirmed transportation option.")
    lines = _label_page(plan, shipment, "BILL OF LADING",
                        [f"Carrier: {option['carrier']['name']}",
                         f"Pallets: {len(shipment['pallets'])}",
                         f"Units: {sum(i['quantity'] for i in shipment['items'])}"])
    document_id = save_document(sim.store, f"{shipment['confirmationId']}-bol", [lines],
                                sim.now())
    return Reply(200, {"payload": {"DownloadURL": document_url(_base_url(call), document_id)}})


def get_prep_instructions(sim: Simulator, call: Call) -> Reply:
    country = _required(call, "ShipToCountryCode")
    if not _COUNTRY.match(country):
        raise invalid_input("Value for parameter ShipToCountryCode is invalid: expected two "
                            "capital letters.")
    skus, asins = call.many("SellerSKUList"), call.many("ASINList")
    if not skus and not asins:
        raise invalid_input("SellerSKUList or ASINList is required.")
    if len(skus) > MAX_PREP_LIST or len(asins) > MAX_PREP_LIST:
        raise invalid_input(f"SellerSKUList and ASINList may hold at most {MAX_PREP_LIST} "
                            "values each.")
    net = sim.inbound
    currency = "GBP" if country == "GB" else "USD"  # the only two the v0 model knows
    result: dict = {}
    if skus:
        result["SKUPrepInstructionsList"], result["InvalidSKUList"] = [], []
        for sku in skus:
            item = sim.stock.catalogue(sku)
            if item is None:
                result["InvalidSKUList"].append({"SellerSKU": sku, "ErrorReason": "DoesNotExist"})
                continue
            result["SKUPrepInstructionsList"].append({
                "SellerSKU": sku, "ASIN": item["asin"], **_prep_guidance(net, sku),
                "BarcodeInstruction": "RequiresFNSKULabel", "AmazonPrepFeesDetailsList": [
                    {"PrepInstruction": name, "FeePerUnit": {
                        "CurrencyCode": currency, "Value": inbound_items.AMAZON_PREP_FEE}}
                    for name in _prep_guidance(net, sku)["PrepInstructionList"]
                    if name != "NoPrep"]})
    if asins:
        by_asin = {i["asin"]: i for i in sim.stock.everywhere()}
        result["ASINPrepInstructionsList"], result["InvalidASINList"] = [], []
        for asin in asins:
            item = by_asin.get(asin)
            if item is None:
                result["InvalidASINList"].append({"ASIN": asin, "ErrorReason": "InvalidASIN"})
                continue
            result["ASINPrepInstructionsList"].append({
                "ASIN": asin, "BarcodeInstruction": "RequiresFNSKULabel",
                **_prep_guidance(net, item["sellerSku"])})
    return Reply(200, {"payload": result})


def _prep_guidance(net, sku: str) -> dict:
    types = inbound_items.prep_detail(net, sku)["prepTypes"]
    names = [inbound_items.V0_PREP_NAMES[t] for t in types]
    guidance = "SeePrepInstructionsList" if inbound_items.needs_prep(net, sku) \
        else "NoAdditionalPrepRequired"
    return {"PrepGuidance": guidance, "PrepInstructionList": names}


OPERATIONS = [
    Operation("getPrepInstructions", get_prep_instructions),
    Operation("getLabels", get_labels),
    Operation("getBillOfLading", get_bill_of_lading),
    Operation("getShipments", get_shipments),
    Operation("getShipmentItemsByShipmentId", get_shipment_items_by_shipment_id),
    Operation("getShipmentItems", get_shipment_items),
]
