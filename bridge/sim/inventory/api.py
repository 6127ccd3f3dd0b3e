"""FBA Inventory API v1 (/fba/inventory/v1): getInventorySummaries, and the sandbox
operations that seed stock (createInventoryItem, addInventory, deleteInventoryItem).

Stock is kept per marketplace: summaries show the marketplace asked for, and the sandbox
operations write to the marketplace their body or query names. Summaries add up every
center's stock. startDateTime selects SKUs whose quantities changed since then, except
for inbound quantity changes, which Amazon documents as not detected
(stock.adjust_inbound leaves lastUpdated alone)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bridge.sim.clock import iso
from bridge.sim.inventory.stock import StockBook
from bridge.sim.operations import Operation
from bridge.sim.request_schema import check_against_model
from bridge.sim.wire import Call, Reply, decode_token, encode_token, invalid_input, not_found

if TYPE_CHECKING:
    from bridge.sim.simulator import Simulator

INVENTORY_MODEL = "fbaInventory.json"
MAX_SELLER_SKUS = 50
START_DATE_WINDOW = 18 * 30 * 86400.0  # "within the last 18 months"


def _summary(item: dict, details: bool) -> dict:
    summary = {
        "asin": item["asin"],
        "fnSku": item["fnSku"],
        "sellerSku": item["sellerSku"],
        "condition": "NewItem",
        "lastUpdatedTime": iso(item["lastUpdated"]),
        "productName": item["productName"],
        "totalQuantity": StockBook.total_quantity(item),
    }
    if details:
        damaged = item["unfulfillableBreakdown"]
        summary["inventoryDetails"] = {
            "fulfillableQuantity": item["fulfillable"],
            "inboundWorkingQuantity": item["inbound"]["working"],
            "inboundShippedQuantity": item["inbound"]["shipped"],
            "inboundReceivingQuantity": item["inbound"]["receiving"],
            "reservedQuantity": {"totalReservedQuantity": StockBook.total_reserved(item),
                                 "pendingCustomerOrderQuantity": item["reserved"],
                                 # Stock is never moved between centers: orders split instead.
                                 "pendingTransshipmentQuantity": 0,
                                 "fcProcessingQuantity": item["fcProcessing"]},
            "researchingQuantity": {
                "totalResearchingQuantity": StockBook.total_researching(item),
                "researchingQuantityBreakdown": [{"name": name, "quantity": quantity}
                                                 for name, quantity in
                                                 item["researching"].items()]},
            "unfulfillableQuantity": {"totalUnfulfillableQuantity": item["unfulfillable"],
                                      "customerDamagedQuantity": damaged["customerDamaged"],
                                      "warehouseDamagedQuantity": damaged["warehouseDamaged"],
                                      "distributorDamagedQuantity":
                                          damaged["distributorDamaged"],
                                      "carrierDamagedQuantity": damaged["carrierDamaged"],
                                      "defectiveQuantity": damaged["defective"],
                                      "expiredQuantity": damaged["expired"]},
        }
    return summary


def _required(call: Call, name: str) -> str:
    value = call.text(name)
    if value is None:
        raise invalid_input(f"Missing required parameter: {name}.")
    return value


def get_inventory_summaries(sim: Simulator, call: Call) -> Reply:
    granularity_type = _required(call, "granularityType")
    if granularity_type != "Marketplace":
        raise invalid_input(f"Value {granularity_type!r} for parameter granularityType is invalid. "
                            "Valid values: Marketplace.")
    granularity_id = _required(call, "granularityId")
    marketplace_ids = call.many("marketplaceIds")
    if not marketplace_ids:
        raise invalid_input("Missing required parameter: marketplaceIds.")
    if len(marketplace_ids) > 1:
        raise invalid_input("Value for parameter marketplaceIds is invalid: at most 1 "
                            "marketplace is allowed.")
    details = call.flag("details")

    position = None
    token = call.text("nextToken")
    if token:
        state = decode_token(token)
        issued = state.get("issued")
        if not isinstance(issued, (int, float)) or not isinstance(state.get("after"), str):
            raise invalid_input("Invalid nextToken.")
        if time.time() - issued > sim.config.inventory_next_token_seconds:
            raise invalid_input("The nextToken has expired. Request the first page again.")
        position = state["after"]

    items = sim.stock.at(marketplace_ids[0]).all()
    start = call.date("startDateTime")
    if start is not None:
        # Precedence as Amazon documents it: startDateTime, then sellerSkus, then sellerSku.
        if start < sim.now() - START_DATE_WINDOW:
            raise invalid_input("Value for parameter startDateTime is invalid: it must be within "
                                "the last 18 months.")
        items = [i for i in items if i["lastUpdated"] >= start]
    elif seller_skus := call.many("sellerSkus"):
        if len(seller_skus) > MAX_SELLER_SKUS:
            raise invalid_input(f"Value for parameter sellerSkus is invalid: at most "
                                f"{MAX_SELLER_SKUS} SKUs are allowed.")
        wanted = set(seller_skus)
        items = [i for i in items if i["sellerSku"] in wanted]
    elif seller_sku := call.text("sellerSku"):
        items = [i for i in items if i["sellerSku"] == seller_sku]

    if position is not None:
        items = [i for i in items if i["sellerSku"] > position]
    page = items[: sim.config.inventory_page_size]
    body = {"payload": {"granularity": {"granularityType": "Marketplace",
                                        "granularityId": granularity_id},
                        "inventorySummaries": [_summary(i, details) for i in page]},
            "pagination": {}}
    if len(items) > len(page):
        body["pagination"]["nextToken"] = encode_token(
            {"issued": time.time(), "after": page[-1]["sellerSku"]})
    return Reply(200, body)


def create_inventory_item(sim: Simulator, call: Call) -> Reply:
    body = call.json_body()
    check_against_model(body, "CreateInventoryItemRequest", INVENTORY_MODEL)
    if not body["sellerSku"].strip():
        raise invalid_input("Value for parameter sellerSku is invalid: it must not be empty.")
    sim.stock.at(body["marketplaceId"]).ensure(body["sellerSku"], sim.now(),
                                               product_name=body["productName"])
    return Reply(200, {})


def add_inventory(sim: Simulator, call: Call) -> Reply:
    token = (call.headers.get("x-amzn-idempotency-token") or "").strip()
    if not token:
        raise invalid_input("Missing required header: x-amzn-idempotency-token.")
    body = call.json_body()
    check_against_model(body, "AddInventoryRequest", INVENTORY_MODEL)
    items = body.get("inventoryItems") or []
    if not items:
        raise invalid_input("Value for parameter inventoryItems is invalid: at least one item "
                            "is required.")
    for index, item in enumerate(items):
        if item["quantity"] <= 0:
            raise invalid_input(f"Value for parameter inventoryItems[{index}].quantity is "
                                "invalid: it must be greater than 0.")
    if sim.store.get("idempotency", token) is not None:
        return Reply(200, {})  # already applied: the same token never adds twice
    now = sim.now()
    for item in items:
        sim.stock.at(item["marketplaceId"]).add(item["sellerSku"], item["quantity"], now)
    sim.store.put("idempotency", token, {"operation": "addInventory", "at": now})
    return Reply(200, {})


def delete_inventory_item(sim: Simulator, call: Call) -> Reply:
    marketplace_id = call.text("marketplaceId")
    if marketplace_id is None:
        raise invalid_input("Missing required parameter: marketplaceId.")
    sku = call.path_params["sellerSku"]
    if not sim.stock.at(marketplace_id).remove(sku):
        raise not_found(f"The SellerSKU {sku} was not found.")
    return Reply(200, {})


OPERATIONS = [
    Operation("getInventorySummaries", get_inventory_summaries),
    Operation("createInventoryItem", create_inventory_item),
    Operation("addInventory", add_inventory),
    Operation("deleteInventoryItem", delete_inventory_item),
]
