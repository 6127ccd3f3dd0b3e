"""Reading fields of Amazon's answers strictly: each reader returns the field as the
model types it, an empty value when it is missing or null, and raises MalformedAnswer
naming the operation and the field when it is anything else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge.errors import MalformedAnswer

Json = dict[str, Any]


def parse_time(value: str) -> datetime:
    """An SP-API date-time (ISO 8601, `Z` for UTC); naive ones are taken to be UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def malformed(operation: str, where: str, expected: str, value: object) -> MalformedAnswer:
    return MalformedAnswer(
        f"Amazon answered {operation} with {where} as {type(value).__name__}, not {expected}")


def optional_object(data: Json, key: str, operation: str) -> Json:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise malformed(operation, key, "an object", value)
    return value


def objects(data: Json, key: str, operation: str) -> list[Json]:
    """A list of objects (empty when missing)."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise malformed(operation, key, "a list of objects", value)
    return value


def text(data: Json, key: str, operation: str, required: bool = False) -> str:
    """A string; `required`: present and not empty."""
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise malformed(operation, key, "a non-empty string" if required else "a string", value)
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


def time(data: Json, key: str, operation: str) -> datetime | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise malformed(operation, key, "a date-time string", value)
    try:
        return parse_time(value)
    except ValueError:
        raise MalformedAnswer(
            f"Amazon answered {operation} with {key} {value[:40]!r}, not a date-time") from None
