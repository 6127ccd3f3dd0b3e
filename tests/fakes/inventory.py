"""Amazon's inventory as the stock service sees it through `FbaClient`: summaries with
Amazon's field names, filtered by `startDateTime` on `lastUpdatedTime` as Amazon does.
In memory, for tests whose subject is the shop side (the simulator covers the wire)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.fba import outbound_mapping


class InventoryStandIn:
    def __init__(self) -> None:
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)
        self.fulfillable: dict[str, int] = {}
        self.updated: dict[str, datetime] = {}
        self.reads: list[datetime | None] = []

    def set(self, stock: dict[str, int], *, silently: bool = False) -> None:
        """Change stock; `silently` keeps lastUpdatedTime, so an incremental read misses it."""
        self.clock += timedelta(seconds=1)
        for sku, quantity in stock.items():
            self.fulfillable[sku] = quantity
            if not silently or sku not in self.updated:
                self.updated[sku] = self.clock

    def get_inventory_summaries(self, start=None, seller_skus=None, details=True,
                                marketplace_id=""):
        self.reads.append(start)
        for sku in sorted(self.fulfillable):
            if start is not None and self.updated[sku] < start:
                continue
            yield {
                "sellerSku": sku,
                "lastUpdatedTime": self.updated[sku].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "inventoryDetails": {
                    "fulfillableQuantity": self.fulfillable[sku],
                    "inboundWorkingQuantity": 0, "inboundShippedQuantity": 0,
                    "inboundReceivingQuantity": 0,
                    "reservedQuantity": {"totalReservedQuantity": 0},
                },
            }

    def inventory_levels(self, since=None, marketplace_id=""):
        """The port's view of the same summaries, mapped as the real client maps them
        (one marketplace: the home one)."""
        return [level for summary in self.get_inventory_summaries(start=since)
                if (level := outbound_mapping.inventory_level(summary))]
