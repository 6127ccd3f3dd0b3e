"""Wire details shared by the Fulfillment Inbound handlers: the 2024-03-20 error code
(`BadRequest`, as the model's examples answer), identifiers shaped like Amazon's, path and
query checks from the model's constraints, request bodies checked against the model, and
paging with opaque tokens."""

from __future__ import annotations

import re
import uuid
from typing import Any, cast

from jsonschema.exceptions import ValidationError

from bridge.sim.wire import Call, SimError, decode_token, encode_token, field_path, first_schema_error
from bridge.spapi_models import definition_validator, operation

MODEL = "fulfillmentInbound_2024-03-20.json"
_ID_CHARS = re.compile(r"^[a-zA-Z0-9-]*$")


def bad_request(message: str, details: str = "") -> SimError:
    return SimError(400, "BadRequest", message, details)


def new_id(prefix: str) -> str:
    """A 38-character id: two letters saying what it is, then a UUID (wf…, sh…, pl…)."""
    return prefix + str(uuid.uuid4())


def new_operation_id() -> str:
    return str(uuid.uuid4())  # 36 characters, like Amazon's operationIds


def path_id(call: Call, name: str, min_length: int = 38) -> str:
    value = call.path_params[name]
    if not min_length <= len(value) <= 38 or not _ID_CHARS.match(value):
        raise bad_request(f"The {name} is malformed.")
    return value


def query_id(call: Call, name: str) -> str | None:
    value = call.text(name)
    if value is not None and (len(value) != 38 or not _ID_CHARS.match(value)):
        raise bad_request(f"The {name} is malformed.")
    return value


def required_text(call: Call, name: str, max_length: int = 20) -> str:
    value = call.text(name)
    if value is None:
        raise bad_request(f"Missing required parameter: {name}.")
    if len(value) > max_length:
        raise bad_request(f"The {name} must be at most {max_length} characters.")
    return value


def _message(error: ValidationError) -> str:
    field, kind, limit = field_path(error), error.validator, error.validator_value
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else "?"
        return f"Missing required field: {field + '.' if field != 'body' else ''}{name}."
    texts = {
        "maxLength": f"must be at most {limit} characters",
        "minLength": f"must be at least {limit} characters",
        "maxItems": f"must have at most {limit} elements",
        "minItems": f"must have at least {limit} elements",
        "maximum": f"must be at most {limit}",
        "minimum": f"must be at least {limit}",
        "pattern": f"must match the pattern {limit}",
        "type": f"must be of type {limit}",
        "format": f"must be a valid {limit}",
    }
    if kind == "enum":
        return f"The value {error.instance!r} of {field} is invalid. Valid values: " \
               f"{', '.join(map(str, cast('list[Any]', limit)))}."  # an "enum" keyword's list
    return f"The value of {field} {texts.get(str(kind), 'is invalid')}."


def check_body(body: dict, definition: str) -> None:
    """400 BadRequest naming the first way `body` breaks the model's request schema."""
    error = first_schema_error(definition_validator(MODEL, definition), body)
    if error is not None:
        raise bad_request(_message(error))


def page(call: Call, items: list, operation_id: str) -> tuple[list, dict]:
    """One page of `items` and the extra response fields ({"pagination": …} or {}), with
    the pageSize default and maximum the model gives the operation. The token carries the
    offset; Amazon's tokens are opaque, so clients cannot tell."""
    spec = next(p for p in operation(operation_id).spec["parameters"]
                if p.get("name") == "pageSize")
    maximum, size = spec["maximum"], spec.get("default", 10)
    text = call.text("pageSize")
    if text is not None:
        try:
            size = int(text)
        except ValueError:
            raise bad_request("The pageSize must be an integer.") from None
        if not 1 <= size <= maximum:
            raise bad_request(f"The pageSize must be between 1 and {maximum}.")
    offset = 0
    token = call.text("paginationToken")
    if token:
        try:
            decoded = decode_token(token).get("offset")
        except SimError:
            decoded = None
        if not isinstance(decoded, int) or decoded < 0:
            raise bad_request("The paginationToken is invalid.")
        offset = decoded
    chunk = items[offset:offset + size]
    if offset + size < len(items):
        return chunk, {"pagination": {"nextToken": encode_token({"offset": offset + size})}}
    return chunk, {}
