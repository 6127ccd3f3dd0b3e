"""Multi-Channel Fulfillment features (getFeatures, getFeatureInventory, getFeatureSKU)
and what featureConstraints on an order mean.

A feature is offered per country (SIGNATURE_CONFIRMATION only in the US, as Amazon
documents; BLOCK_AMZL where Amazon Logistics delivers). The seller is enrolled in every
feature unless the admin API says otherwise. A SKU is eligible when it has fulfillable
units, in the marketplace asked about, in a center that can do the feature
(fulfillment_centers); skuCount counts them.

On an order, a Required feature must be offered and enrolled (else the create is
refused), BLOCK_AMZL keeps Amazon Logistics off its packages, a packaging feature keeps
the order to centers that can do it, SIGNATURE_CONFIRMATION makes delivery signed for.
Constraints are fixed at create: updateFulfillmentOrder cannot change them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.sim.fulfillment_centers import supports
from bridge.sim.marketplaces import Marketplace, resolve
from bridge.sim.operations import Operation
from bridge.sim.wire import Call, Reply, decode_token, encode_token, invalid_input

if TYPE_CHECKING:
    from bridge.sim.inventory.stock import StockBook
    from bridge.sim.simulator import Simulator

ENROLLMENT_KIND = "feature_enrollment"
_EVERYWHERE = None
# name -> (description, countries where offered; None = every country)
FEATURES = {
    "BLOCK_AMZL": ("Blocks orders from being shipped using Amazon Logistics (AMZL).",
                   frozenset({"US", "GB", "DE", "FR", "IT", "ES"})),
    "BLANK_BOX": ("Ships orders in non-Amazon branded packaging (blank boxes).", _EVERYWHERE),
    "OVERBOX": ("Ships items in an overbox rather than in their original product packaging.",
                _EVERYWHERE),
    "PACKING_SLIP": ("Includes a packing slip with the order.", _EVERYWHERE),
    "SIGNATURE_CONFIRMATION": ("Requires a signature from the recipient upon delivery.",
                               frozenset({"US"})),
    "DELIVER_TOGETHER": ("Delivers all items in an order together.", _EVERYWHERE),
}


def offered(name: str, country: str) -> bool:
    countries = FEATURES[name][1]
    return countries is None or country in countries


def enrolled(sim: Simulator, name: str) -> bool:
    record = sim.store.get(ENROLLMENT_KIND, name)
    return True if record is None else bool(record["sellerEligible"])


def set_enrollment(sim: Simulator, name: str, eligible: bool) -> None:
    if name not in FEATURES:
        raise ValueError(f"unknown feature {name!r}; known: {sorted(FEATURES)}")
    sim.store.put(ENROLLMENT_KIND, name, {"sellerEligible": bool(eligible)})


def eligible_units(stock: StockBook, name: str, sku: str) -> int:
    item = stock.get(sku)
    if item is None:
        return 0
    return sum(q["fulfillable"] for fc, q in item["fcs"].items() if supports(fc, name))


# -- featureConstraints on orders and previews --------------------------------------------

def check_constraints(sim: Simulator, constraints: list | None, market: Marketplace,
                      destination_country: str) -> list[dict]:
    """Refuse constraints Amazon could not honour; returns them unchanged otherwise."""
    for index, setting in enumerate(constraints or []):
        name = setting.get("featureName")
        if name not in FEATURES:
            raise invalid_input(f"Value {name!r} for parameter featureConstraints[{index}]"
                                f".featureName is invalid. Valid values: "
                                f"{', '.join(FEATURES)}.")
        if setting.get("featureFulfillmentPolicy") != "Required":
            continue
        if not offered(name, market.country) or not offered(name, destination_country):
            raise invalid_input(f"The feature {name} is not available for marketplace "
                                f"{market.marketplace_id} and destination "
                                f"{destination_country}.")
        if not enrolled(sim, name):
            raise invalid_input(f"The seller is not enrolled in the feature {name}.")
    return list(constraints or [])


def required(constraints: list | None) -> set[str]:
    return {c.get("featureName") for c in constraints or []
            if c.get("featureFulfillmentPolicy") == "Required"}


def allowed_centers(constraints: list | None, centers) -> set[str] | None:
    """Centers an order with these constraints may ship from (None: any)."""
    needed = required(constraints)
    if not needed:
        return None
    return {fc for fc in centers if all(supports(fc, name) for name in needed)}


# -- operations -----------------------------------------------------------------------

def _marketplace(sim: Simulator, call: Call) -> Marketplace:
    value = call.text("marketplaceId")
    if value is None:
        raise invalid_input("Missing required parameter: marketplaceId.")
    return resolve(value, sim.config.marketplace_id)


def _feature_name(call: Call, market: Marketplace) -> str:
    name = call.path_params["featureName"]
    if name not in FEATURES:
        raise invalid_input(f"Value {name!r} for parameter featureName is invalid. Valid "
                            f"values: {', '.join(FEATURES)}.")
    if not offered(name, market.country):
        raise invalid_input(f"The feature {name} is not available in marketplace "
                            f"{market.marketplace_id}.")
    return name


def get_features(sim: Simulator, call: Call) -> Reply:
    market = _marketplace(sim, call)
    features = [{"featureName": name, "featureDescription": description,
                 "sellerEligible": enrolled(sim, name)}
                for name, (description, _) in FEATURES.items() if offered(name, market.country)]
    return Reply(200, {"payload": {"features": features}})


def get_feature_inventory(sim: Simulator, call: Call) -> Reply:
    """Eligible SKUs with their eligible units, by SKU, in pages; queryStartDate keeps
    SKUs whose quantities changed since then."""
    market = _marketplace(sim, call)
    name = _feature_name(call, market)
    token = call.text("nextToken")
    if token:
        state = decode_token(token)
        if state.get("feature") != name or not isinstance(state.get("after"), str):
            raise invalid_input("Invalid nextToken.")
        after, start = state["after"], state.get("start")
    else:
        after, start = None, call.date("queryStartDate")
    skus = []
    stock = sim.stock.at(market.marketplace_id)
    if enrolled(sim, name):
        skus = [item for item in stock.all()
                if (start is None or item["lastUpdated"] >= start)
                and (after is None or item["sellerSku"] > after)
                and eligible_units(stock, name, item["sellerSku"]) > 0]
    page = skus[: sim.config.inventory_page_size]
    result: dict = {"marketplaceId": market.marketplace_id, "featureName": name,
                    "featureSkus": [{"sellerSku": i["sellerSku"], "fnSku": i["fnSku"],
                                     "asin": i["asin"],
                                     "skuCount": eligible_units(stock, name, i["sellerSku"])}
                                    for i in page]}
    if len(skus) > len(page):
        result["nextToken"] = encode_token({"feature": name, "after": page[-1]["sellerSku"],
                                            "start": start})
    return Reply(200, {"payload": result})


def get_feature_sku(sim: Simulator, call: Call) -> Reply:
    market = _marketplace(sim, call)
    name = _feature_name(call, market)
    sku = call.path_params["sellerSku"]
    stock = sim.stock.at(market.marketplace_id)
    item = stock.get(sku)
    result: dict = {"marketplaceId": market.marketplace_id, "featureName": name,
                    "isEligible": False, "sellerSku": sku}
    if item is None:
        result["ineligibleReasons"] = ["INVALID_SKU"]
        return Reply(200, {"payload": result})
    units = eligible_units(stock, name, sku)
    reasons = []
    if not enrolled(sim, name):
        reasons.append("MERCHANT_NOT_ENROLLED")
    if units == 0:
        reasons.append("SKU_NOT_ELIGIBLE")
    result.update(isEligible=not reasons, fnSku=item["fnSku"], asin=item["asin"],
                  skuCount=units)
    if reasons:
        result["ineligibleReasons"] = reasons
    return Reply(200, {"payload": result})


OPERATIONS = [
    Operation("getFeatures", get_features),
    Operation("getFeatureInventory", get_feature_inventory),
    Operation("getFeatureSKU", get_feature_sku),
]
