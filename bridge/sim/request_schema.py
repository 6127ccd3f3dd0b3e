"""Checking a request body against its model's schema, failing the way Amazon does: a 400
InvalidInput naming the field. Outbound and inventory requests share these messages."""

from __future__ import annotations

import re
from typing import Any, cast

from jsonschema.exceptions import ValidationError

from bridge.sim.wire import field_path, first_schema_error, invalid_input
from bridge.spapi_models import definition_validator


def _message(error: ValidationError) -> str:
    field = field_path(error)
    kind = error.validator
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else "?"
        where = f"{field}.{name}" if field != "body" else name
        return f"Missing required parameter: {where}."
    if kind == "maxLength":
        return (f"Value for parameter {field} is too long; the maximum length is "
                f"{error.validator_value}.")
    if kind == "enum":
        # An "enum" keyword's value is the schema's list of allowed values.
        allowed = ", ".join(map(str, cast("list[Any]", error.validator_value)))
        return (f"Value {error.instance!r} for parameter {field} is invalid. "
                f"Valid values: {allowed}.")
    if kind == "type":
        return f"Value for parameter {field} must be of type {error.validator_value}."
    return f"Value for parameter {field} is invalid."


def check_against_model(body: dict, definition: str, model_file: str) -> None:
    """Raise InvalidInput for the first way `body` breaks the model's request schema."""
    error = first_schema_error(definition_validator(model_file, definition), body)
    if error is not None:
        raise invalid_input(_message(error))
