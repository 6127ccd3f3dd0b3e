"""A small client for the admin API, used by the `bridge sim` commands, tests and the
demo. SP-API calls are not its business: bridge's own SP-API client makes those."""

from __future__ import annotations

from urllib.parse import quote

import requests

from bridge.sim.config import DEFAULT_PORT

DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


class SimAdminError(RuntimeError):
    pass


class SimAdmin:
    def __init__(self, base_url: str = DEFAULT_URL, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def _call(self, method: str, path: str, body: dict | None = None,
              params: dict | None = None) -> dict:
        response = self._session.request(method, f"{self.base_url}/_sim/{path}", json=body,
                                         params=params, timeout=self.timeout)
        data = response.json()
        if response.status_code >= 400:
            errors = data.get("errors") or [{}]
            raise SimAdminError(errors[0].get("message") or f"HTTP {response.status_code}")
        return data

    def clock(self) -> dict:
        return self._call("GET", "clock")

    def advance(self, seconds: float) -> dict:
        return self._call("POST", "clock/advance", {"seconds": seconds})

    def set_clock_factor(self, factor: float) -> dict:
        return self._call("POST", "clock", {"factor": factor})

    def reset(self, seed: int | None = None) -> dict:
        """Forget everything but the clock; `seed` restarts the fault dice from it."""
        return self._call("POST", "reset", {} if seed is None else {"seed": seed})

    def set_stock(self, levels: dict[str, int], fulfillment_center: str | None = None, *,
                  undetected: bool = False, marketplace_id: str | None = None) -> dict:
        """Absolute fulfillable levels, at the default center or on one center's shelf, in
        one marketplace (the simulator's own when None). `undetected`: lastUpdatedTime
        does not move, so incremental reads miss the change."""
        items = [{"sellerSku": sku, "quantity": qty} for sku, qty in levels.items()]
        if fulfillment_center is not None:
            for item in items:
                item["fulfillmentCenterId"] = fulfillment_center
        body: dict = {"items": items, **({"undetected": True} if undetected else {})}
        if marketplace_id is not None:
            body["marketplaceId"] = marketplace_id
        return self._call("POST", "inventory", body)

    def lose_stock(self, sku: str, quantity: int, fulfillment_center: str | None = None,
                   marketplace_id: str | None = None) -> dict:
        """Units found missing after orders were accepted: off the shelf, then out of open
        orders' reservations (an order left short follows its policy at planning)."""
        body: dict = {"sellerSku": sku, "quantity": quantity}
        if fulfillment_center is not None:
            body["fulfillmentCenterId"] = fulfillment_center
        if marketplace_id is not None:
            body["marketplaceId"] = marketplace_id
        return self._call("POST", "inventory/lost", body)

    def inventory(self, marketplace_id: str | None = None) -> dict[str, dict]:
        """One marketplace's stock by seller SKU (the simulator's own when None)."""
        # An empty marketplaceId asks for the simulator's own marketplace.
        answer = self._call("GET", "inventory", params={"marketplaceId": marketplace_id or ""})
        return {item["sellerSku"]: item for item in answer["items"]}

    def inventory_everywhere(self) -> list[dict]:
        """Every marketplace's stock: items carry their marketplaceId."""
        return self._call("GET", "inventory")["items"]

    def orders(self) -> list[dict]:
        return self._call("GET", "orders")["orders"]

    def set_tracking_outcome(self, order_id: str, outcome: str) -> dict:
        """How the order's packages fare: DELIVERED, DELAYED, UNDELIVERABLE or RETURNED."""
        return self._call("POST", f"orders/{quote(order_id, safe='')}/tracking",
                          {"outcome": outcome})

    def cancel_by_amazon(self, order_id: str) -> dict:
        """Amazon cancels the open order by itself (Cancelled, reservations released)."""
        return self._call("POST", f"orders/{quote(order_id, safe='')}/cancel-by-amazon")

    def set_feature_enrollment(self, feature_name: str, eligible: bool) -> dict:
        return self._call("POST", "features",
                          {"featureName": feature_name, "sellerEligible": eligible})

    def inbound(self) -> dict:
        """Every inbound plan with its shipments, and the armed fail-next knobs."""
        return self._call("GET", "inbound")

    def fail_next_inbound(self, operation: str, count: int = 1, code: str | None = None,
                          message: str | None = None, details: str | None = None) -> dict:
        """The next `count` calls of an asynchronous inbound operation end FAILED."""
        body: dict = {"operation": operation, "count": count}
        texts = {"code": code, "message": message, "details": details}
        body.update({name: text for name, text in texts.items() if text is not None})
        return self._call("POST", "inbound/fail-next", body)

    def clear_inbound_failures(self) -> dict:
        return self._call("DELETE", "inbound/fail-next")

    def add_fault(self, operation: str, status: int | None = 503, rate: float = 1.0,
                  latency: float = 0.0, drop_after_act: bool = False,
                  count: int | None = None) -> dict:
        return self._call("POST", "faults", {
            "operation": operation, "status": status, "rate": rate, "latency": latency,
            "drop_after_act": drop_after_act, "count": count})

    def faults(self) -> list[dict]:
        return self._call("GET", "faults")["faults"]

    def clear_faults(self) -> dict:
        return self._call("DELETE", "faults")

    def rate_limits(self) -> dict:
        return self._call("GET", "rate-limits")

    def set_rate_limits(self, enabled: bool | None = None,
                        limits: dict[str, tuple[float, int]] | None = None) -> dict:
        body: dict = {}
        if enabled is not None:
            body["enabled"] = enabled
        if limits:
            body["limits"] = {op: {"rate": r, "burst": b} for op, (r, b) in limits.items()}
        return self._call("POST", "rate-limits", body)

    def stats(self) -> dict[str, dict]:
        return self._call("GET", "stats")["operations"]

    def calls(self, operation_id: str) -> int:
        return self.stats().get(operation_id, {}).get("calls", 0)
