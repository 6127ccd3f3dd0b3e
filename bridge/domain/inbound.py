"""Inbound shipments, before any call to Amazon: the items file, the boxes file and the
ship-from address, validated against the Fulfillment Inbound 2024-03-20 model's limits.
Every problem names its row (or field) so a merchant can fix the file in one pass."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

MAX_ITEMS = 2000
MAX_QUANTITY = 500_000
MAX_MSKU = 255
MAX_LOT_CODE = 256
MAX_BOX_QUANTITY = 10_000
MAX_BOXES_PER_GROUP = 5_000
OWNERS = ("AMAZON", "SELLER", "NONE")
# Amazon does not label items for sellers in these marketplaces (the model: "AMAZON is
# not an accepted value in the US").
NO_AMAZON_LABELS = {"ATVPDKIKX0DER"}
ADDRESS_LIMITS = {
    "name": 50, "companyName": 50, "addressLine1": 180, "addressLine2": 60, "city": 30,
    "districtOrCounty": 50, "stateOrProvinceCode": 64, "postalCode": 32, "phoneNumber": 20,
    "email": 1024,
}
ADDRESS_REQUIRED = ("name", "addressLine1", "city", "postalCode", "countryCode", "phoneNumber")


class InboundInputError(ValueError):
    """Every problem found in the merchant's files, each a sentence naming where."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(self.problems)


@dataclass(frozen=True)
class InboundItem:
    msku: str
    quantity: int
    prep_owner: str = "SELLER"
    label_owner: str = "SELLER"
    expiration: str = ""
    lot_code: str = ""

    def as_input(self) -> dict[str, Any]:
        item = {"msku": self.msku, "quantity": self.quantity, "prepOwner": self.prep_owner,
                "labelOwner": self.label_owner}
        if self.expiration:
            item["expiration"] = self.expiration
        if self.lot_code:
            item["manufacturingLotCode"] = self.lot_code
        return item


@dataclass(frozen=True)
class BoxType:
    """`count` identical boxes, each holding `contents` (msku → units)."""

    label: str
    count: int
    length: float
    width: float
    height: float
    weight: float
    contents: dict[str, int] = field(default_factory=dict)

    def as_input(self, items: dict[str, InboundItem]) -> dict[str, Any]:
        return {
            "contentInformationSource": "BOX_CONTENT_PROVIDED",
            "dimensions": {"length": self.length, "width": self.width, "height": self.height,
                           "unitOfMeasurement": "IN"},
            "weight": {"value": self.weight, "unit": "LB"},
            "quantity": self.count,
            "items": [
                {**items[msku].as_input(), "quantity": units}
                for msku, units in sorted(self.contents.items())
            ],
        }


def _rows(text: str) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames:
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    # Row numbers as a spreadsheet shows them: the header is row 1.
    return [(number, {k: (v or "").strip() for k, v in row.items() if k})
            for number, row in enumerate(reader, start=2)]


def _int(value: str) -> int | None:
    return int(value) if re.fullmatch(r"\d+", value or "") else None


def parse_items(text: str, marketplace_id: str, known_skus: set[str] | None = None) -> list[InboundItem]:
    """Items file: columns `sku`, `quantity`, and optional `prep_owner`, `label_owner`,
    `expiration` (YYYY-MM-DD), `lot`. Raises InboundInputError with every problem."""
    rows = _rows(text)
    problems: list[str] = []
    if not rows:
        raise InboundInputError(["the items file has no rows (it needs columns sku, quantity)"])
    if len(rows) > MAX_ITEMS:
        problems.append(f"the items file has {len(rows)} rows; Amazon accepts at most {MAX_ITEMS}")
    items: list[InboundItem] = []
    seen: dict[str, int] = {}
    for number, row in rows:
        sku = row.get("sku", "")
        where = f"row {number}"
        if not sku:
            problems.append(f"{where}: no sku")
            continue
        if len(sku) > MAX_MSKU:
            problems.append(f"{where}: sku is longer than {MAX_MSKU} characters")
        if sku in seen:
            problems.append(f"{where}: sku {sku} is listed again (first on row {seen[sku]})")
        seen.setdefault(sku, number)
        if known_skus is not None and sku not in known_skus:
            problems.append(f"{where}: sku {sku} is unknown to Amazon (no FBA listing or inventory record)")
        quantity = _int(row.get("quantity", ""))
        if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
            problems.append(f"{where}: quantity {row.get('quantity', '')!r} must be a whole number "
                            f"from 1 to {MAX_QUANTITY}")
            quantity = 0
        prep = (row.get("prep_owner") or "SELLER").upper()
        label = (row.get("label_owner") or "SELLER").upper()
        for name, value in (("prep_owner", prep), ("label_owner", label)):
            if value not in OWNERS:
                problems.append(f"{where}: {name} {value!r} must be one of {', '.join(OWNERS)}")
        if label == "AMAZON" and marketplace_id in NO_AMAZON_LABELS:
            problems.append(f"{where}: label_owner AMAZON is not accepted in this marketplace")
        expiration = row.get("expiration", "")
        if expiration:
            try:
                date.fromisoformat(expiration)
            except ValueError:
                problems.append(f"{where}: expiration {expiration!r} is not a date (YYYY-MM-DD)")
        lot = row.get("lot", "")
        if len(lot) > MAX_LOT_CODE:
            problems.append(f"{where}: lot is longer than {MAX_LOT_CODE} characters")
        items.append(InboundItem(sku, quantity, prep, label, expiration, lot))
    if problems:
        raise InboundInputError(problems)
    return items


def parse_boxes(text: str, items: list[InboundItem]) -> list[BoxType]:
    """Boxes file: one row per SKU in a box type, columns `box` (a label that groups
    rows), `count` (identical boxes), `length`, `width`, `height` (inches), `weight`
    (pounds), `sku`, `units` (per box). Every unit of the items file must be boxed."""
    rows = _rows(text)
    problems: list[str] = []
    wanted = {item.msku: item.quantity for item in items}
    boxes: dict[str, BoxType] = {}
    boxed: dict[str, int] = defaultdict(int)
    for number, row in rows:
        where = f"row {number}"
        label = row.get("box", "")
        if not label:
            problems.append(f"{where}: no box label")
            continue
        sku, units = row.get("sku", ""), _int(row.get("units", ""))
        if sku not in wanted:
            problems.append(f"{where}: sku {sku!r} is not in the items file")
        if not units:
            problems.append(f"{where}: units must be a whole number above 0")
            units = 0
        if label not in boxes:
            count = _int(row.get("count", ""))
            sizes = {}
            for name in ("length", "width", "height", "weight"):
                try:
                    sizes[name] = float(row.get(name, ""))
                    if sizes[name] <= 0:
                        raise ValueError
                except ValueError:
                    problems.append(f"{where}: {name} {row.get(name, '')!r} must be a number above 0")
                    sizes[name] = 0.0
            if count is None or not 1 <= count <= MAX_BOX_QUANTITY:
                problems.append(f"{where}: count must be a whole number from 1 to {MAX_BOX_QUANTITY}")
                count = 0
            boxes[label] = BoxType(
                label, count, length=sizes["length"], width=sizes["width"], height=sizes["height"],
                weight=sizes["weight"])
        box = boxes[label]
        if sku in box.contents:
            problems.append(f"{where}: sku {sku} appears twice in box {label}")
        box.contents[sku] = units
        boxed[sku] += units * box.count
    if not rows:
        problems.append("the boxes file has no rows")
    if sum(box.count for box in boxes.values()) > MAX_BOXES_PER_GROUP:
        problems.append(f"more than {MAX_BOXES_PER_GROUP} boxes in one shipment")
    for sku, quantity in wanted.items():
        if rows and boxed.get(sku, 0) != quantity:
            problems.append(f"sku {sku}: the boxes hold {boxed.get(sku, 0)} units, "
                            f"the items file sends {quantity}")
    if problems:
        raise InboundInputError(problems)
    return list(boxes.values())


def check_address(address: dict[str, Any]) -> dict[str, Any]:
    """The ship-from address as Amazon's AddressInput, or InboundInputError."""
    problems = []
    clean = {key: str(value).strip() for key, value in address.items() if str(value).strip()}
    for key in ADDRESS_REQUIRED:
        if not clean.get(key):
            problems.append(f"ship-from address: {key} is required")
    for key, limit in ADDRESS_LIMITS.items():
        if len(clean.get(key, "")) > limit:
            problems.append(f"ship-from address: {key} is longer than {limit} characters")
    country = clean.get("countryCode", "")
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        problems.append(f"ship-from address: countryCode {country!r} must be two capital letters")
    unknown = set(clean) - set(ADDRESS_LIMITS) - {"countryCode"}
    for key in sorted(unknown):
        problems.append(f"ship-from address: unknown field {key}")
    if problems:
        raise InboundInputError(problems)
    return clean
