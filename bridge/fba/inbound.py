"""Fulfillment Inbound 2024-03-20 and the live v0 operations, as plain dicts shaped
like the official models. Paths and rate limits come from the models; transport,
retries and error classification from `bridge.fba.http`.

Every 202 operation returns an operationId; `wait_for_operation` polls
getInboundOperationStatus until Amazon says SUCCESS or FAILED."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from bridge import net
from bridge.errors import NeedsAttentionError, TransientError
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
    operationProblems (code, message, severity, details)."""

    def __init__(self, operation: str, problems: list[Any]) -> None:
        text = "; ".join(
            f"{p.get('code', '')}: {p.get('message', '')}" + (f" ({p['details']})" if p.get("details") else "")
            for p in problems
        ) or "no problems listed"
        super().__init__("inbound_operation_failed", f"Amazon could not {operation}: {text}")
        self.operation, self.problems = operation, problems
        self._init_args = (operation, problems)


class InboundClient:
    def __init__(self, http: SpApiHttp, marketplace_id: str,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._http = http
        self.marketplace_id = marketplace_id
        self._sleep = sleep

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
            yield from data.get(key) or []
            token = (data.get("pagination") or {}).get("nextToken")
            if not token:
                return
            params["paginationToken"] = token

    # -- 202 operations ----------------------------------------------------------------

    def wait_for_operation(self, operation_id: str, what: str, timeout: float = 300,
                           interval: float = 1.0) -> dict[str, Any]:
        """Poll until SUCCESS (returns the status) or FAILED (raises with the problems)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.call("getInboundOperationStatus", operationId=operation_id)
            state = status.get("operationStatus")
            if state == "SUCCESS":
                return status
            if state == "FAILED":
                raise InboundOperationFailed(what, status.get("operationProblems") or [])
            if time.monotonic() > deadline:
                raise TransientError(f"Amazon is still working on: {what}", retry_after=interval)
            self._sleep(interval)

    # -- v0 ------------------------------------------------------------------------------

    def get_labels(self, shipment_confirmation_id: str, box_ids: list[str],
                   page_type: str = "PackageLabel_Letter_6", label_type: str = "BARCODE_2D") -> str:
        """The download URL of the box labels PDF for the given boxes."""
        data = self.call(
            "getLabels",
            params={"PageType": page_type, "LabelType": label_type,
                    "PackageLabelsToPrint": ",".join(box_ids)},
            shipmentId=shipment_confirmation_id,
        )
        url: str | None = (data.get("payload") or {}).get("DownloadURL")
        if not url:
            raise TransientError("Amazon answered getLabels without a DownloadURL")
        return url

    def shipment_items(self, shipment_confirmation_id: str) -> list[dict[str, Any]]:
        """v0 InboundShipmentItems (QuantityShipped, QuantityReceived) of one shipment."""
        data = self.call("getShipmentItemsByShipmentId",
                         params={"MarketplaceId": self.marketplace_id},
                         shipmentId=shipment_confirmation_id)
        return (data.get("payload") or {}).get("ItemData") or []

    def download(self, url: str) -> bytes:
        """Fetch a document Amazon links to (labels): a plain GET, no SP-API token."""
        response = net.send(self._http.session, "GET", url, deadline=net.Deadline(DOWNLOAD_SECONDS),
                            max_body=DOWNLOAD_MAX_BYTES)
        if response.status_code != 200:
            raise TransientError(f"the document at Amazon's link answered HTTP {response.status_code}")
        return response.content
