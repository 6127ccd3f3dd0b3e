"""getFulfillmentPreview and deliveryOffers: what an order would look like, from the
stock as it is now and the simulated clock, without reserving anything.

A preview is made per shipping speed asked (Standard, Expedited and Priority when none
is). Its shipments are the ones a real order would get: the same center allocation
(stock.plan_allocation, honouring Required features), one shipment per center. Ship
dates are the order lifecycle from now (received + planning + processing), with one day
of slack for the latest; arrival adds the speed's transit time. Items of unknown SKUs
(InvalidSKU) and units beyond the stock (InventoryUnavailable) are unfulfillable
preview items; ScheduledDelivery outside Japan (DeliverySLAUnavailable) makes the whole
preview unfulfillable. A destination the marketplace does not serve is refused (400), as
createFulfillmentOrder refuses it. Stock is the asked marketplace's. Fees are a made-up
per-unit price list in the marketplace's currency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from bridge.sim.clock import iso
from bridge.sim.inventory.stock import plan_allocation
from bridge.sim.marketplaces import Marketplace, check_serves, of_country, resolve
from bridge.sim.operations import Operation
from bridge.sim.outbound import features
from bridge.sim.outbound.lifecycle import transit_seconds
from bridge.sim.outbound.validation import check_against_model, parse_preview_request
from bridge.sim.wire import Call, Reply, invalid_input

if TYPE_CHECKING:
    from bridge.sim.simulator import Simulator

DEFAULT_SPEEDS = ("Standard", "Expedited", "Priority")
LATEST_SHIP_SLACK = 86400.0
# Per-unit fulfillment fee by speed, in US dollars; other currencies scale by _RATES.
_UNIT_FEES = {"Standard": Decimal("6.98"), "Expedited": Decimal("9.50"),
              "Priority": Decimal("14.75"), "ScheduledDelivery": Decimal("9.50")}
_BLOCK_AMZL_SURCHARGE = Decimal("0.45")  # per unit: Amazon documents a surcharge
_COD_FEE = Decimal("3.30")
_RATES = {"USD": Decimal(1), "CAD": Decimal("1.35"), "MXN": Decimal(17), "GBP": Decimal("0.8"),
          "EUR": Decimal("0.92"), "JPY": Decimal(150)}
_UNIT_WEIGHT = {"POUNDS": Decimal("0.5"), "KILOGRAMS": Decimal("0.23")}
# JST delivery windows offered for ScheduledDelivery (hours, local time).
_JP_WINDOWS = ((9, 12), (14, 16), (18, 21))


def money(market: Marketplace, usd: Decimal) -> dict:
    places = Decimal(1) if market.currency == "JPY" else Decimal("0.01")
    value = (usd * _RATES.get(market.currency, Decimal(1))).quantize(places)
    return {"currencyCode": market.currency, "value": str(value)}


def _weight(market: Marketplace, units: int) -> dict:
    unit = "POUNDS" if market.country == "US" else "KILOGRAMS"
    return {"unit": unit, "value": str(_UNIT_WEIGHT[unit] * units)}


def _fees(market: Marketplace, speed: str, units: int, constraints: list, cod: bool) -> list:
    fees = [{"name": "FBAPerUnitFulfillmentFee",
             "amount": money(market, _UNIT_FEES[speed] * units)}]
    if "BLOCK_AMZL" in features.required(constraints):
        fees.append({"name": "FBATransportationFee",
                     "amount": money(market, _BLOCK_AMZL_SURCHARGE * units)})
    if cod:
        fees.append({"name": "FBAFulfillmentCODFee", "amount": money(market, _COD_FEE)})
    return fees


def _delivery_windows(arrival: float) -> dict:
    tokyo = timedelta(hours=9)
    day = (datetime.fromtimestamp(arrival, UTC) + tokyo).date()
    windows = []
    for start_hour, end_hour in _JP_WINDOWS:
        start = datetime(day.year, day.month, day.day, start_hour, tzinfo=UTC) - tokyo
        end = datetime(day.year, day.month, day.day, end_hour, tzinfo=UTC) - tokyo
        windows.append({"startDate": iso(start.timestamp()), "endDate": iso(end.timestamp())})
    return {"deliveryTimeZone": "Asia/Tokyo", "deliveryWindows": windows}


class _Plan:
    """Where the asked items would ship from, and what could not be fulfilled."""

    def __init__(self, sim: Simulator, market: Marketplace, items: list[dict],
                 constraints: list) -> None:
        stock = sim.stock.at(market.marketplace_id)
        known = [i for i in items if stock.get(i["sellerSku"]) is not None]
        available = stock.available_by_center({i["sellerSku"] for i in known})
        centers = {fc for per_fc in available.values() for fc in per_fc}
        allowed = features.allowed_centers(constraints, centers)
        plan = plan_allocation(available, [(i["sellerSku"], i["quantity"]) for i in known],
                               allowed)
        self.by_center: dict[str, list[tuple[dict, int]]] = {}
        self.unfulfillable: list[dict] = []
        for item in items:
            if item not in known:
                self.unfulfillable.append(self._unfulfillable(item, item["quantity"],
                                                              "InvalidSKU"))
        for item, per_fc in zip(known, plan, strict=True):
            for fc, units in sorted(per_fc.items()):
                self.by_center.setdefault(fc, []).append((item, units))
            short = item["quantity"] - sum(per_fc.values())
            if short > 0:
                self.unfulfillable.append(self._unfulfillable(item, short,
                                                              "InventoryUnavailable"))
        self.units = sum(units for lines in self.by_center.values() for _, units in lines)

    @staticmethod
    def _unfulfillable(item: dict, quantity: int, reason: str) -> dict:
        return {"sellerSku": item["sellerSku"], "quantity": quantity,
                "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                "itemUnfulfillableReasons": [reason]}


def _preview(sim: Simulator, request: dict, plan: _Plan, market: Marketplace, speed: str,
             cod: bool) -> dict:
    country = request["address"]["countryCode"].strip().upper()
    constraints = request.get("featureConstraints") or []
    reasons = []
    if speed == "ScheduledDelivery" and country != "JP":
        reasons.append("DeliverySLAUnavailable")
    preview: dict = {"shippingSpeedCategory": speed, "marketplaceId": market.marketplace_id,
                     "isFulfillable": not reasons and not plan.unfulfillable and plan.units > 0,
                     "isCODCapable": cod,
                     "unfulfillablePreviewItems": plan.unfulfillable}
    if constraints:
        preview["featureConstraints"] = constraints
    if reasons:
        preview["orderUnfulfillableReasons"] = reasons
        return preview

    config = sim.config
    earliest_ship = sim.now() + config.received_seconds + config.planning_seconds + \
        config.processing_seconds
    latest_ship = earliest_ship + LATEST_SHIP_SLACK
    transit = transit_seconds(config, speed)
    shipments = []
    for fc in sorted(plan.by_center):
        shipments.append({
            "earliestShipDate": iso(earliest_ship), "latestShipDate": iso(latest_ship),
            "earliestArrivalDate": iso(earliest_ship + transit),
            "latestArrivalDate": iso(latest_ship + transit),
            "fulfillmentPreviewItems": [
                {"sellerSku": item["sellerSku"], "quantity": units,
                 "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                 "estimatedShippingWeight": _weight(market, units),
                 "shippingWeightCalculationMethod": "Package"}
                for item, units in plan.by_center[fc]],
        })
    preview["fulfillmentPreviewShipments"] = shipments
    if plan.units:
        preview["estimatedShippingWeight"] = _weight(market, plan.units)
        preview["estimatedFees"] = _fees(market, speed, plan.units, constraints, cod)
    if speed == "ScheduledDelivery" and request.get("includeDeliveryWindows") and plan.units:
        preview["scheduledDeliveryInfo"] = _delivery_windows(earliest_ship + transit)
    return preview


def get_fulfillment_preview(sim: Simulator, call: Call) -> Reply:
    request = parse_preview_request(call.json_body())
    market = resolve(request.get("marketplaceId"), sim.config.marketplace_id)
    country = request["address"]["countryCode"].strip().upper()
    check_serves(market, country)
    constraints = features.check_constraints(sim, request.get("featureConstraints"), market,
                                             country)
    speeds = list(dict.fromkeys(request.get("shippingSpeedCategories") or DEFAULT_SPEEDS))
    plan = _Plan(sim, market, request["items"], constraints)
    # Cash on delivery exists in Japan only: asked for elsewhere, there is no COD preview.
    with_cod = bool(request.get("includeCODFulfillmentPreview")) and country == "JP"
    previews = []
    for speed in speeds:
        previews.append(_preview(sim, request, plan, market, speed, cod=False))
        if with_cod:
            previews.append(_preview(sim, request, plan, market, speed, cod=True))
    return Reply(200, {"payload": {"fulfillmentPreviews": previews}})


# -- deliveryOffers -------------------------------------------------------------------------

def _units(product: dict) -> int:
    amount = product.get("amount")
    if amount is None:
        return 1
    try:
        value = Decimal(str(amount["value"]).strip())
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0 or value != value.to_integral_value():
        raise invalid_input("Value for parameter product.amount.value is invalid: expected a "
                            "whole number of units greater than 0.")
    return int(value)


def delivery_offers(sim: Simulator, call: Call) -> Reply:
    """One offer per speed when the SKU's stock covers the amount and the destination
    is served from the origin country; none otherwise. The stock is that of the origin
    country's marketplace (the simulator's own when no marketplace ships from there)."""
    body = call.json_body()
    check_against_model(body, "GetDeliveryOffersRequest")
    sku = body["product"]["productIdentifier"]["merchantSku"]
    units = _units(body["product"])
    destination = body["terms"]["destination"]
    address = destination.get("deliveryAddress")
    if address is None and not destination.get("ipAddress"):
        raise invalid_input("Missing required parameter: terms.destination.deliveryAddress or "
                            "terms.destination.ipAddress.")
    origin = body["terms"]["origin"]["countryCode"].upper()
    market = of_country(origin) or resolve(None, sim.config.marketplace_id)
    item = sim.stock.at(market.marketplace_id).get(sku)
    if item is None:
        raise invalid_input(f"The merchantSku {sku} is invalid.")
    country = (address or {}).get("countryCode", market.country).upper()
    offers = []
    if origin == market.country and market.ships_to(country) and item["fulfillable"] >= units:
        now = sim.now()
        config = sim.config
        ship_at = now + config.received_seconds + config.planning_seconds + \
            config.processing_seconds
        for speed in DEFAULT_SPEEDS:
            earliest = ship_at + transit_seconds(config, speed)
            latest = earliest + LATEST_SHIP_SLACK
            day = datetime.fromtimestamp(earliest, UTC).strftime("%a, %b %d").replace(" 0", " ")
            offers.append({"expiresAt": iso(now + config.delivery_offer_seconds),
                           "dateRange": {"earliest": iso(earliest), "latest": iso(latest)},
                           "policy": {"message": {"text": f"{speed}: get it as soon as {day}",
                                                  "locale": market.locale}}})
    return Reply(200, {"payload": {"deliveryOffers": offers}})


OPERATIONS = [
    Operation("getFulfillmentPreview", get_fulfillment_preview),
    Operation("deliveryOffers", delivery_offers),
]
