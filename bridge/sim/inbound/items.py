"""Item-level inbound facts, kept per MSKU: prep details (category and prep types, which
decide who may prep and label) and compliance details (tax details, used in India). Both
are changed by asynchronous operations, like everything else in the inbound API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.sim.inbound.actions import Action
from bridge.sim.inbound.wire import bad_request

if TYPE_CHECKING:
    from bridge.sim.inbound.network import InboundNetwork

PREP = "inbound_prep"
COMPLIANCE = "inbound_compliance"
NO_PREP = "ITEM_NO_PREP"
# What Amazon charges per unit when it does the prep itself (made up, stable).
AMAZON_PREP_FEE = 0.55
# The v0 getPrepInstructions names of the 2024 prep types.
V0_PREP_NAMES = {
    "ITEM_POLYBAGGING": "Polybagging", "ITEM_BUBBLEWRAP": "BubbleWrapping",
    "ITEM_TAPING": "Taping", "ITEM_BLACK_SHRINKWRAP": "BlackShrinkWrapping",
    "ITEM_LABELING": "Labeling", "ITEM_HANG_GARMENT": "HangGarment",
    "ITEM_SETCREAT": "SetCreation", "ITEM_BOXING": "Boxing",
    "ITEM_RMOVHANG": "RemoveFromHanger", "ITEM_DEBUNDLE": "Debundle",
    "ITEM_SUFFOSTK": "SuffocationStickering", "ITEM_CAP_SEALING": "CapSealing",
    "ITEM_SETSTK": "SetStickering", "ITEM_BLANKSTK": "BlankStickering",
    "ITEM_NO_PREP": "NoPrep", "ITEM_SIOC": "ShipsInProductPackaging",
}


def known_msku(net: InboundNetwork, msku: str) -> dict:
    item = net.stock.catalogue(msku)
    if item is None:
        raise bad_request("The requested MSKU is not valid.", f"Unknown msku: {msku}")
    return item


def prep_detail(net: InboundNetwork, msku: str) -> dict:
    """The stored prep details, or Amazon's answer for an item needing no prep."""
    stored = net.store.get(PREP, msku)
    if stored is not None:
        return stored
    return {"msku": msku, "prepCategory": "NONE", "prepTypes": [NO_PREP]}


def needs_prep(net: InboundNetwork, msku: str) -> bool:
    return any(t != NO_PREP for t in prep_detail(net, msku)["prepTypes"])


def prep_detail_view(net: InboundNetwork, msku: str) -> dict:
    detail = prep_detail(net, msku)
    view = {"msku": msku, "prepCategory": detail["prepCategory"],
            "prepTypes": list(detail["prepTypes"])}
    if not needs_prep(net, msku):
        # Nothing to prep: nobody may be named as the prep owner.
        view["prepOwnerConstraint"] = "NONE_ONLY"
    return view


def prep_instructions(net: InboundNetwork, msku: str, prep_owner: str,
                      currency: str) -> list[dict]:
    """The Item.prepInstructions of a plan's item."""
    out = []
    for prep_type in prep_detail(net, msku)["prepTypes"]:
        if prep_type == NO_PREP:
            continue
        fee = AMAZON_PREP_FEE if prep_owner == "AMAZON" else 0.0
        out.append({"prepType": prep_type, "prepOwner": prep_owner,
                    "fee": {"code": currency, "amount": fee}})
    return out


def _check_set_prep(net, plan, params, now) -> None:
    for index, detail in enumerate(params["mskuPrepDetails"]):
        known_msku(net, detail["msku"])
        types = detail["prepTypes"]
        if NO_PREP in types and len(types) > 1:
            raise bad_request(f"mskuPrepDetails[{index}].prepTypes cannot combine "
                              f"{NO_PREP} with other prep types.")
        if detail["prepCategory"] == "NONE" and any(t != NO_PREP for t in types):
            raise bad_request(f"mskuPrepDetails[{index}]: the prep category NONE takes only "
                              f"the prep type {NO_PREP}.")


def _apply_set_prep(net, plan, params, at) -> None:
    for detail in params["mskuPrepDetails"]:
        net.store.put(PREP, detail["msku"], {"msku": detail["msku"],
                                             "prepCategory": detail["prepCategory"],
                                             "prepTypes": list(detail["prepTypes"])})


def compliance_view(net: InboundNetwork, msku: str) -> dict:
    item = net.stock.catalogue(msku)
    assert item is not None, msku  # the API answers 400 for an unknown MSKU before asking
    view = {"msku": msku, "asin": item["asin"], "fnsku": item["fnSku"]}
    stored = net.store.get(COMPLIANCE, msku)
    if stored is not None:
        view["taxDetails"] = stored["taxDetails"]
    return view


def _check_compliance(net, plan, params, now) -> None:
    if net.stock.catalogue(params["msku"]) is None:
        raise bad_request("The requested msku does not exist for the specified marketplace.")


def _apply_compliance(net, plan, params, at) -> None:
    net.store.put(COMPLIANCE, params["msku"], {"msku": params["msku"],
                                               "taxDetails": params["taxDetails"]})


ACTIONS = {
    "setPrepDetails": Action(_check_set_prep, _apply_set_prep),
    "updateItemComplianceDetails": Action(_check_compliance, _apply_compliance),
}
