"""The inbound side of the simulated network: inbound plans, the asynchronous operations
that change them, and the shipments they send, all on the simulated clock.

Every operation Amazon answers with 202 is an "inbound_operation" document: its request is
checked at once (a broken request is a 400), then it stays IN_PROGRESS for
`inbound_operation_seconds` and takes effect when it completes, ending SUCCESS, or FAILED
with operationProblems when the plan changed meanwhile or a failure was injected
(`fail_next`). Shipments move through their statuses on the same schedule
(lifecycle.py). As for orders, state moves lazily: `advance_to(now)` applies
every event due by `now` in time order, stamped with its due time. Callers hold the
store's transaction.
"""

from __future__ import annotations

import heapq
from typing import Any

from bridge.sim.clock import iso
from bridge.sim.config import SimConfig
from bridge.sim.inbound import items as inbound_items
from bridge.sim.inbound import lifecycle as inbound_lifecycle
from bridge.sim.inbound import plans as inbound_plans
from bridge.sim.inbound import transport as inbound_transport
from bridge.sim.inbound.actions import Action, OperationFailed
from bridge.sim.inbound.wire import new_operation_id
from bridge.sim.inventory.stock import StockBook
from bridge.sim.marketplaces import MARKETPLACES
from bridge.sim.state import Store
from bridge.sim.wire import SimError

PLAN = "inbound_plan"
OPERATION = "inbound_operation"
FAILURE = "inbound_failure"  # armed fail-next knobs, by operation name
COUNTERS = "inbound_counters"


class InboundNetwork:
    def __init__(self, store: Store, stock: StockBook, config: SimConfig) -> None:
        self.store = store
        self.stock = stock
        self.config = config
        self.actions: dict[str, Action] = {**inbound_plans.ACTIONS, **inbound_transport.ACTIONS,
                                           **inbound_items.ACTIONS}
        self._on_shipment_due = inbound_lifecycle.on_due
        self._due: list[tuple[float, int, str, str, str]] = []
        self.rebuild()

    def stock_for(self, marketplace_id: str) -> StockBook:
        """Where a plan's units are counted: its destination marketplace's stock when the
        simulator keeps stock there (its outbound marketplaces), else its own."""
        return self.stock.at(marketplace_id if marketplace_id in MARKETPLACES else None)

    # -- scheduling ---------------------------------------------------------------------

    def rebuild(self) -> None:
        """Recompute the schedule from stored documents (after start-up or reset)."""
        with self.store.transaction():
            self._due = []
            for op in self.store.all(OPERATION):
                if op["status"] == "IN_PROGRESS":
                    self._due.append((op["dueAt"], op["seq"], OPERATION, op["id"], ""))
            for plan in self.store.all(PLAN):
                for shipment in plan["shipments"].values():
                    if shipment.get("nextEventAt") is not None:
                        self._due.append((shipment["nextEventAt"], shipment["seq"], PLAN,
                                          plan["id"], shipment["id"]))
            heapq.heapify(self._due)

    def next_due(self) -> float | None:
        return self._due[0][0] if self._due else None

    def schedule_shipment(self, plan: dict, shipment: dict, at: float | None) -> None:
        shipment["nextEventAt"] = at
        if at is not None:
            heapq.heappush(self._due, (at, shipment["seq"], PLAN, plan["id"], shipment["id"]))

    def advance_to(self, now: float) -> None:
        with self.store.transaction():
            while self._due and self._due[0][0] <= now:
                due, _, kind, key, shipment_id = heapq.heappop(self._due)
                if kind == OPERATION:
                    op = self.store.get(OPERATION, key)
                    if op is not None and op["status"] == "IN_PROGRESS" and op["dueAt"] == due:
                        self._complete(op, due)
                    continue
                plan = self.store.get(PLAN, key)
                if plan is None:
                    continue  # superseded: the plan is gone
                shipment = plan["shipments"].get(shipment_id)
                if shipment is None or shipment.get("nextEventAt") != due:
                    continue  # superseded: cancelled, rescheduled or reset
                shipment["nextEventAt"] = None
                self._on_shipment_due(self, plan, shipment, due)
                self.changed(plan, due)

    # -- asynchronous operations ----------------------------------------------------------

    def submit(self, operation: str, plan: dict | None, params: dict, now: float) -> str:
        """Accept a 202 operation: check it now, complete it later. Returns its operationId."""
        self.actions[operation].check(self, plan, params, now)
        seq = self.next_number("operation")
        op: dict[str, Any] = {"id": new_operation_id(), "seq": seq, "operation": operation,
              "planId": plan["id"] if plan else None, "params": params,
              "status": "IN_PROGRESS", "problems": [], "createdAt": now,
              "dueAt": now + self.config.inbound_operation_seconds,
              "failure": self._take_failure(operation)}
        self.store.put(OPERATION, op["id"], op)
        heapq.heappush(self._due, (op["dueAt"], seq, OPERATION, op["id"], ""))
        return op["id"]

    def _complete(self, op: dict, at: float) -> None:
        plan = self.store.get(PLAN, op["planId"]) if op["planId"] else None
        action = self.actions[op["operation"]]
        try:
            if op["failure"]:
                failure = op["failure"]
                raise OperationFailed(failure["code"], failure["message"], failure["details"])
            if op["planId"] and plan is None:
                raise OperationFailed("BadRequest", "The requested inbound plan does not exist.")
            try:
                action.check(self, plan, op["params"], at)
            except SimError as error:  # the plan changed since the request was accepted
                raise OperationFailed(error.code, error.message, error.details) from None
            action.apply(self, plan, op["params"], at)
            op["status"] = "SUCCESS"
        except OperationFailed as failed:
            op["status"] = "FAILED"
            op["problems"] = [{"code": failed.code, "message": failed.message,
                               "details": failed.details, "severity": "ERROR"}]
            if op["operation"] == "createInboundPlan" and plan is not None:
                plan["status"] = "ERRORED"
        op["completedAt"] = at
        self.store.touch(OPERATION, op["id"])
        if plan is not None:
            self.changed(plan, at)

    def operation(self, operation_id: str) -> dict | None:
        return self.store.get(OPERATION, operation_id)

    def operation_view(self, op: dict) -> dict:
        return {"operationId": op["id"], "operation": op["operation"],
                "operationStatus": op["status"],
                "operationProblems": [dict(p) for p in op["problems"]]}

    # -- injected failures ----------------------------------------------------------------

    def fail_next(self, operation: str, count: int = 1, code: str = "SimulatedFailure",
                  message: str | None = None, details: str = "") -> dict:
        """Make the next `count` calls of `operation` end FAILED with this problem."""
        if operation not in self.actions:
            raise ValueError(f"unknown asynchronous inbound operation {operation!r}; known: "
                             f"{sorted(self.actions)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        knob = {"operation": operation, "count": count, "code": code or "SimulatedFailure",
                "message": message or f"The {operation} operation failed.", "details": details}
        self.store.put(FAILURE, operation, knob)
        return knob

    def failures(self) -> list[dict]:
        return sorted(self.store.all(FAILURE), key=lambda k: k["operation"])

    def clear_failures(self) -> None:
        for knob in self.store.all(FAILURE):
            self.store.delete(FAILURE, knob["operation"])

    def _take_failure(self, operation: str) -> dict | None:
        knob = self.store.get(FAILURE, operation)
        if knob is None:
            return None
        knob["count"] -= 1
        if knob["count"] <= 0:
            self.store.delete(FAILURE, operation)
        else:
            self.store.touch(FAILURE, operation)
        return {"code": knob["code"], "message": knob["message"], "details": knob["details"]}

    # -- plans ----------------------------------------------------------------------------

    def plan(self, plan_id: str) -> dict | None:
        return self.store.get(PLAN, plan_id)

    def plans(self) -> list[dict]:
        return sorted(self.store.all(PLAN), key=lambda p: p["seq"])

    def add_plan(self, plan: dict) -> None:
        self.store.put(PLAN, plan["id"], plan)

    def changed(self, plan: dict, at: float) -> None:
        plan["updatedAt"] = max(at, plan.get("updatedAt", at))
        self.store.touch(PLAN, plan["id"])

    def next_number(self, name: str) -> int:
        counters = self.store.get("meta", COUNTERS)
        if counters is None:
            counters = {}
            self.store.put("meta", COUNTERS, counters)
        counters[name] = counters.get(name, 0) + 1
        self.store.touch("meta", COUNTERS)
        return counters[name]

    def shipment_by_confirmation_id(self, confirmation_id: str) -> tuple[dict, dict] | None:
        for plan in self.plans():
            for shipment in plan["shipments"].values():
                if shipment.get("confirmationId") == confirmation_id:
                    return plan, shipment
        return None

    def summary(self) -> list[dict]:
        """The admin API's compact view of every plan and shipment."""
        return [{"inboundPlanId": plan["id"], "name": plan["name"], "status": plan["status"],
                 "createdAt": iso(plan["createdAt"]),
                 "shipments": [{"shipmentId": s["id"],
                                "shipmentConfirmationId": s.get("confirmationId"),
                                "status": s["status"],
                                "items": [{"msku": i["msku"], "quantity": i["quantity"],
                                           "received": s["received"].get(i["msku"], 0)}
                                          for i in s["items"]]}
                               for s in plan["shipments"].values()]}
                for plan in self.plans()]
