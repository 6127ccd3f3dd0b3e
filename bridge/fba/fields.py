"""Reading fields of Amazon's answers strictly: each reader returns the field as the
model types it, an empty value when it is missing or null, and raises MalformedAnswer
naming the operation and the field when it is anything else. A reader's `where` is the
path of the object the field sits in (`trackingEvents[0]`), named before the field.

Also the values both Fulfillment Outbound versions write and read alike: date-times and
addresses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge.domain.model import Address
from bridge.errors import MalformedAnswer

Json = dict[str, Any]


def parse_time(value: str) -> datetime:
    """An SP-API date-time (ISO 8601, `Z` for UTC); naive ones are taken to be UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def spapi_datetime(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC. Naive datetimes are taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def malformed(operation: str, where: str, expected: str, value: object) -> MalformedAnswer:
    return MalformedAnswer(
        f"Amazon answered {operation} with {where} as {type(value).__name__}, not {expected}")


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def optional_object(data: Json, key: str, operation: str, *, where: str = "") -> Json:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise malformed(operation, _path(where, key), "an object", value)
    return value


def array(data: Json, key: str, operation: str, *, where: str = "") -> list[Any]:
    """A list of anything (empty when missing): the caller reads each item."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise malformed(operation, _path(where, key), "a list", value)
    return value


def objects(data: Json, key: str, operation: str, *, where: str = "") -> list[Json]:
    """A list of objects (empty when missing)."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise malformed(operation, _path(where, key), "a list of objects", value)
    return value


def text(data: Json, key: str, operation: str, required: bool = False, *,
         where: str = "") -> str:
    """A string; `required`: present and not empty."""
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise malformed(operation, _path(where, key),
                        "a non-empty string" if required else "a string", value)
    return value


def texts(data: Json, key: str, operation: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise malformed(operation, key, "a list of strings", value)
    return tuple(value)


def integer(data: Json, key: str, operation: str) -> int:
    value = data.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise malformed(operation, key, "an integer", value)
    return value


def number(data: Json, key: str, operation: str) -> float:
    value = data.get(key)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise malformed(operation, key, "a number", value)
    return float(value)


def time(data: Json, key: str, operation: str, *, where: str = "") -> datetime | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    name = _path(where, key)
    if not isinstance(value, str):
        raise malformed(operation, name, "a date-time string", value)
    try:
        return parse_time(value)
    except ValueError:
        raise MalformedAnswer(
            f"Amazon answered {operation} with {name} {value[:40]!r}, not a date-time") from None


# -- addresses ------------------------------------------------------------------------

# Amazon's Address field ↔ bridge's Address attribute.
ADDRESS_FIELDS = (("name", "name"), ("addressLine1", "line1"), ("addressLine2", "line2"),
                  ("addressLine3", "line3"), ("city", "city"), ("stateOrRegion", "state"),
                  ("postalCode", "postal_code"), ("countryCode", "country_code"),
                  ("phone", "phone"))


def address_body(address: Address) -> dict[str, str]:
    """Amazon's Address; empty fields are left out, as Amazon wants."""
    return {key: getattr(address, attr) for key, attr in ADDRESS_FIELDS
            if getattr(address, attr)}


def read_address(value: Any, operation: str, name: str) -> Address | None:
    """The Amazon Address an answer holds as `name`; None when it holds none."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise malformed(operation, name, "an object", value)
    return Address(**{attr: text(value, key, operation) for key, attr in ADDRESS_FIELDS})
