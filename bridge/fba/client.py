"""The operations bridge uses from Fulfillment Outbound 2020-07-01 and FBA Inventory v1.
`FbaClient` implements the `FulfillmentNetwork` port (`bridge.fba.port`) that services
use, in domain types (`bridge.fba.outbound_mapping` turns the payloads into them); the
raw operations, as plain dicts shaped like the official models' payloads, stay for the
online check and the wire tests. Transport, retries and error classification live in
`bridge.fba.http`; this module only builds requests and pages.

Every payload is checked for the shape the services walk before it is handed on: a
list where an object belongs (or the like) is a MalformedAnswer, never an
AttributeError deep in a task."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from bridge import net
from bridge.config import FulfillmentAccount
from bridge.domain.fulfillment import (
    CancelOutcome,
    ChangedOrders,
    FeatureSkuEligibility,
    FulfillmentOrder,
    FulfillmentOrderRequest,
    FulfillmentOrderUpdate,
    InventoryLevel,
    UpdateOutcome,
    UpdateVerdict,
)
from bridge.errors import ConfigError, MalformedAnswer, NeedsAttentionError, TransientError
from bridge.fba import outbound_mapping
from bridge.fba import returns as return_mapping
from bridge.fba.auth import LwaAuth
from bridge.fba.errors import NotFound
from bridge.fba.fields import spapi_datetime as spapi_datetime  # still importable from here
from bridge.fba.http import SpApiHttp
from bridge.fba.inbound import InboundClient
from bridge.fba.operations import OPERATIONS
from bridge.fba.ratelimit import RateLimiter
from bridge.fba.returns import CreatedReturn, OrderReturns, ReturnReason, ReturnUnit
from bridge.fba.tracking_details import PackageTracking, parse_tracking_details

# getInventorySummaries takes at most this many sellerSkus per call.
_SKUS_PER_CALL = 50


def account_key(base_url: str, client_id: str, refresh_token: str) -> str:
    """Names one seller authorization at one endpoint, for its rate-limit buckets.
    Amazon counts limits per (seller, application); the refresh token stands for that
    pair, so it is hashed in, never stored."""
    digest = hashlib.sha256(f"{client_id}\0{refresh_token}".encode()).hexdigest()[:16]
    return f"{urlsplit(base_url).netloc or base_url}:{digest}"


class FbaClient:
    def __init__(
        self,
        base_url: str,
        marketplace_id: str,
        auth: LwaAuth,
        limiter: RateLimiter,
        account_key: str,
        timeout: float = 20.0,
        max_retries: int = 4,
        session: requests.Session | None = None,
        *,
        rate_limit_wait: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | None = None,
        max_body: int = net.DEFAULT_MAX_BODY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.marketplace_id = marketplace_id
        self._http = SpApiHttp(
            base_url,
            auth,
            limiter,
            account_key,
            timeout=timeout,
            max_retries=max_retries,
            session=session,
            rate_limit_wait=rate_limit_wait,
            sleep=sleep,
            deadline=deadline,
            max_body=max_body,
            clock=clock,
        )

    @classmethod
    def from_account(
        cls,
        account: FulfillmentAccount,
        secret: Callable[[str], str],
        limiter: RateLimiter,
        *,
        session: requests.Session | None = None,
    ) -> FbaClient:
        """Build a client from a storefront's `[fulfillment]` settings; `secret` resolves
        an `env:`/`file:` reference (e.g. `StorefrontConfig.secret`)."""
        resolved = {}
        problems = []
        for key in ("client_secret", "refresh_token"):
            try:
                resolved[key] = secret(getattr(account, key))
            except ValueError as exc:
                problems.append(("fulfillment", key, str(exc)))
        if problems:
            raise ConfigError(problems)
        session = session or requests.Session()
        auth = LwaAuth(
            account.lwa_url,
            account.client_id,
            resolved["client_secret"],
            resolved["refresh_token"],
            session,
            account.timeout_seconds,
        )
        return cls(
            account.base_url,
            account.marketplace_id,
            auth,
            limiter,
            account_key(account.base_url, account.client_id, resolved["refresh_token"]),
            timeout=account.timeout_seconds,
            max_retries=account.max_retries,
            session=session,
        )

    @property
    def inbound(self) -> InboundClient:
        """Fulfillment Inbound operations on the same connection, token and buckets."""
        return InboundClient(self._http, self.marketplace_id)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FbaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The FulfillmentNetwork port

    def fulfillment_order(self, seller_fulfillment_order_id: str) -> FulfillmentOrder | None:
        payload = self.get_fulfillment_order(seller_fulfillment_order_id)
        return None if payload is None else outbound_mapping.fulfillment_order(payload)

    def changed_orders(self, since: datetime) -> ChangedOrders:
        return ChangedOrders(tuple(
            outbound_mapping.order_change(summary)
            for summary in self.list_all_fulfillment_orders(since)))

    def create_fulfillment_order(self, request: FulfillmentOrderRequest) -> None:
        body = outbound_mapping.create_order_body(request)
        if request.marketplace_id:  # routed to another marketplace than the client's own
            body["marketplaceId"] = request.marketplace_id
        self.post_fulfillment_order(body)

    def cancel_order(self, seller_fulfillment_order_id: str) -> CancelOutcome:
        try:
            self.cancel_fulfillment_order(seller_fulfillment_order_id)
        except NotFound:
            return CancelOutcome.not_found()
        except NeedsAttentionError as refused:  # 400: Amazon is past cancelling
            return CancelOutcome.refused(refused.message)
        return CancelOutcome.cancelled()

    def package_tracking(self, package_number: int) -> PackageTracking | None:
        try:
            payload = self.get_package_tracking_details(package_number)
        except NotFound:
            return None
        return parse_tracking_details(payload, package_number)

    def update_order(self, update: FulfillmentOrderUpdate) -> UpdateOutcome:
        try:
            self._http.call(
                OPERATIONS["updateFulfillmentOrder"],
                path_params={"sellerFulfillmentOrderId": update.seller_fulfillment_order_id},
                body={"marketplaceId": update.marketplace_id or self.marketplace_id,
                      **outbound_mapping.update_order_body(update)},
            )
        except NotFound:
            return UpdateOutcome(UpdateVerdict.NOT_FOUND)
        except NeedsAttentionError as refused:  # 400: too late, or a change it does not take
            return UpdateOutcome(UpdateVerdict.REFUSED, refused.message)
        return UpdateOutcome(UpdateVerdict.UPDATED)

    def features(self, marketplace_id: str = "") -> dict[str, bool]:
        data = self._http.call(OPERATIONS["getFeatures"],
                               params={"marketplaceId": marketplace_id or self.marketplace_id})
        return outbound_mapping.features(_payload(data, "getFeatures"))

    def feature_sku(self, feature: str, seller_sku: str,
                    marketplace_id: str = "") -> FeatureSkuEligibility:
        data = self._http.call(
            OPERATIONS["getFeatureSKU"],
            path_params={"featureName": feature, "sellerSku": seller_sku},
            params={"marketplaceId": marketplace_id or self.marketplace_id},
        )
        return outbound_mapping.feature_sku(_payload(data, "getFeatureSKU"), feature, seller_sku)

    def inventory_levels(self, since: datetime | None = None,
                         marketplace_id: str = "") -> list[InventoryLevel]:
        levels = (outbound_mapping.inventory_level(summary)
                  for summary in self.get_inventory_summaries(
                      start=since, details=True, marketplace_id=marketplace_id))
        return [level for level in levels if level is not None]

    def return_reasons(self, seller_sku: str,
                       seller_fulfillment_order_id: str | None = None) -> list[ReturnReason]:
        data = self._http.call(
            OPERATIONS["listReturnReasonCodes"],
            params=return_mapping.reason_codes_params(
                seller_sku, seller_fulfillment_order_id, self.marketplace_id))
        return return_mapping.reason_codes(_payload(data, "listReturnReasonCodes"))

    def create_return(self, seller_fulfillment_order_id: str,
                      units: Sequence[ReturnUnit]) -> CreatedReturn:
        data = self._http.call(
            OPERATIONS["createFulfillmentReturn"],
            path_params={"sellerFulfillmentOrderId": seller_fulfillment_order_id},
            body=return_mapping.create_return_body(units))
        return return_mapping.created_return(_payload(data, "createFulfillmentReturn"))

    def order_returns(self, seller_fulfillment_order_id: str) -> OrderReturns | None:
        payload = self.get_fulfillment_order(seller_fulfillment_order_id)
        return None if payload is None else return_mapping.order_returns(payload)

    # Fulfillment Outbound

    def post_fulfillment_order(self, body: dict[str, Any]) -> None:
        """createFulfillmentOrder with a CreateFulfillmentOrderRequest body (marketplaceId
        added). Raises IndeterminateError when Amazon may have created it: read back, never
        resend blindly."""
        self._http.call(
            OPERATIONS["createFulfillmentOrder"],
            body={"marketplaceId": self.marketplace_id, **body},
        )

    def get_fulfillment_order(self, seller_fulfillment_order_id: str) -> dict[str, Any] | None:
        """The GetFulfillmentOrderResult payload, or None if Amazon has no such order."""
        try:
            data = self._http.call(
                OPERATIONS["getFulfillmentOrder"],
                path_params={"sellerFulfillmentOrderId": seller_fulfillment_order_id},
            )
        except NotFound:
            return None
        return _checked_order(_payload(data, "getFulfillmentOrder"))

    def list_all_fulfillment_orders(self, query_start: datetime) -> Iterator[dict[str, Any]]:
        """Every FulfillmentOrder updated at or after `query_start`, across pages."""
        params: dict[str, str] = {"queryStartDate": spapi_datetime(query_start)}
        seen_tokens: set[str] = set()
        while True:
            op = "listAllFulfillmentOrders"
            data = self._http.call(OPERATIONS[op], params=params)
            payload = _optional_object(data, "payload", op)
            yield from _objects(payload, "fulfillmentOrders", op)
            token = _token(payload, op)
            if not token:
                return
            _check_new(token, seen_tokens, "listAllFulfillmentOrders")
            # The model selects a page "by date or by nextToken", not both.
            params = {"nextToken": token}

    def cancel_fulfillment_order(self, seller_fulfillment_order_id: str) -> None:
        """Ask Amazon to cancel; raises NotFound if it has no such order."""
        self._http.call(
            OPERATIONS["cancelFulfillmentOrder"],
            path_params={"sellerFulfillmentOrderId": seller_fulfillment_order_id},
        )

    def get_package_tracking_details(self, package_number: int) -> dict[str, Any]:
        """The PackageTrackingDetails payload of one package."""
        data = self._http.call(
            OPERATIONS["getPackageTrackingDetails"], params={"packageNumber": int(package_number)}
        )
        return _payload(data, "getPackageTrackingDetails")

    # FBA Inventory

    def get_inventory_summaries(
        self,
        start: datetime | None = None,
        seller_skus: list[str] | None = None,
        details: bool = True,
        marketplace_id: str = "",
    ) -> Iterator[dict[str, Any]]:
        """InventorySummary dicts of one marketplace (the client's own by default): those
        changed since `start`, or those of `seller_skus`, or all of them."""
        if start is not None and seller_skus:
            # Amazon silently ignores sellerSkus when startDateTime is given.
            raise ValueError("pass either start or seller_skus, not both")
        base = {
            "granularityType": "Marketplace",
            "granularityId": marketplace_id or self.marketplace_id,
            "marketplaceIds": marketplace_id or self.marketplace_id,
            "details": "true" if details else "false",
        }
        if start is not None:
            base["startDateTime"] = spapi_datetime(start)
        if seller_skus is None:
            yield from self._inventory_pages(base)
            return
        for first in range(0, len(seller_skus), _SKUS_PER_CALL):
            chunk = seller_skus[first : first + _SKUS_PER_CALL]
            # Arrays go comma-joined (the model's default collection format).
            yield from self._inventory_pages({**base, "sellerSkus": ",".join(chunk)})

    def _inventory_pages(self, base: dict[str, str]) -> Iterator[dict[str, Any]]:
        params = dict(base)
        seen_tokens: set[str] = set()
        while True:
            op = "getInventorySummaries"
            data = self._http.call(OPERATIONS[op], params=params)
            summaries = _objects(_optional_object(data, "payload", op), "inventorySummaries", op)
            for summary in summaries:
                _check_summary(summary)
            yield from summaries
            token = _token(_optional_object(data, "pagination", op), op)
            if not token:
                return
            _check_new(token, seen_tokens, "getInventorySummaries")
            # Amazon requires the original filters (startDateTime) beside nextToken.
            params = {**base, "nextToken": token}


def _payload(data: dict[str, Any], operation: str) -> dict[str, Any]:
    payload = data.get("payload")
    if not isinstance(payload, dict):
        # Never read an empty answer as "no such order": that would send a second create.
        raise MalformedAnswer(f"Amazon answered {operation} without a payload object")
    return payload


# -- shapes the services rely on -----------------------------------------------------------

def _malformed(operation: str, where: str, expected: str, value: object) -> MalformedAnswer:
    return MalformedAnswer(
        f"Amazon answered {operation} with {where} as {type(value).__name__}, not {expected}"
    )


def _optional_object(data: dict[str, Any], key: str, operation: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _malformed(operation, key, "an object", value)
    return value


def _objects(data: dict[str, Any], key: str, operation: str) -> list[dict[str, Any]]:
    """`data[key]` as a list of objects; missing or null is an empty list."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed(operation, key, "a list", value)
    for item in value:
        if not isinstance(item, dict):
            raise _malformed(operation, f"an element of {key}", "an object", item)
    return value


def _token(data: dict[str, Any], operation: str) -> str | None:
    token = data.get("nextToken")
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise _malformed(operation, "nextToken", "a string", token)
    return token


def _integer(data: dict[str, Any], key: str, operation: str, required: bool = False) -> None:
    value = data.get(key)
    if value is None and not required:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(operation, key, "an integer", value)


def _checked_order(payload: dict[str, Any]) -> dict[str, Any]:
    """A GetFulfillmentOrderResult whose parts the status and cancel flows walk."""
    op = "getFulfillmentOrder"
    order = payload.get("fulfillmentOrder")
    if not isinstance(order, dict):
        raise _malformed(op, "fulfillmentOrder", "an object", order)
    status = order.get("fulfillmentOrderStatus")
    if status is not None and not isinstance(status, str):
        raise _malformed(op, "fulfillmentOrderStatus", "a string", status)
    _objects(payload, "fulfillmentOrderItems", op)
    for shipment in _objects(payload, "fulfillmentShipments", op):
        for item in _objects(shipment, "fulfillmentShipmentItem", op):
            _integer(item, "quantity", op)
        for package in _objects(shipment, "fulfillmentShipmentPackage", op):
            _integer(package, "packageNumber", op, required=True)
    return payload


def _check_summary(summary: dict[str, Any]) -> None:
    op = "getInventorySummaries"
    details = _optional_object(summary, "inventoryDetails", op)
    _integer(details, "fulfillableQuantity", op)


def _check_new(token: str, seen: set[str], operation: str) -> None:
    # A page token that comes back would loop forever; stopping quietly would lose pages.
    if token in seen:
        raise TransientError(f"Amazon repeated a nextToken of {operation}")
    seen.add(token)
