"""Amazon's official SP-API models (swagger 2.0, the JSON files beside this module,
Apache-2.0, unchanged): their operations (method, path, usage plan) and their schemas.

The SP-API client takes operations' paths and rate limits from here; the simulator
validates request bodies as Amazon does; tests check that every response body matches
the model for its operation and status:

    from bridge.spapi_models import validate_response
    validate_response("getFulfillmentOrder", 200, body)   # raises ResponseMismatch

`closed=True` (the default for responses) also rejects properties the model does not
declare, which catches misspelt field names that plain swagger validation lets through.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from jsonschema import Draft4Validator, FormatChecker

MODELS_DIR = Path(__file__).resolve().parent
MODEL_FILES = (
    "fulfillmentOutbound_2020-07-01.json",
    "fulfillmentOutbound_2026-07-04.json",
    "fbaInventory.json",
    "fulfillmentInbound_2024-03-20.json",
    "fulfillmentInboundV0.json",
)
_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
_USAGE_PLAN = re.compile(r"Usage Plan:.*?\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", re.S)


class ResponseMismatch(AssertionError):
    """A body does not match the model's schema."""


@dataclass(frozen=True)
class ModelOperation:
    operation_id: str
    model_file: str
    method: str
    path: str
    spec: dict

    @property
    def usage_plan(self) -> tuple[float, int] | None:
        """(rate per second, burst) from the model's "Usage Plan" table, if it has one."""
        match = _USAGE_PLAN.search(self.spec.get("description", ""))
        if not match:
            return None
        return float(match.group(1)), int(float(match.group(2)))


@cache
def load_model(model_file: str) -> dict:
    return json.loads((MODELS_DIR / model_file).read_text(encoding="utf-8"))


@cache
def model_operations() -> dict[str, ModelOperation]:
    """Every operation of every model, by operationId."""
    found: dict[str, ModelOperation] = {}
    for model_file in MODEL_FILES:
        for path, item in load_model(model_file)["paths"].items():
            for method, spec in item.items():
                if method in _HTTP_METHODS and isinstance(spec, dict) and "operationId" in spec:
                    found[spec["operationId"]] = ModelOperation(
                        spec["operationId"], model_file, method.upper(), path, spec)
    return found


def operation(operation_id: str) -> ModelOperation:
    try:
        return model_operations()[operation_id]
    except KeyError:
        raise KeyError(f"no operation {operation_id!r} in the SP-API models") from None


def _closed(definitions: dict) -> dict:
    """Copy of the definitions where objects with declared properties allow no others."""
    def close(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)
        return node
    return close(copy.deepcopy(definitions))


def _is_date_time(value) -> bool:
    if not isinstance(value, str):
        return True
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in value or "t" in value


_formats = FormatChecker(formats=())
_formats.checks("date-time")(_is_date_time)


@cache
def _validator(model_file: str, schema_json: str, closed: bool) -> Draft4Validator:
    definitions = load_model(model_file).get("definitions", {})
    schema = dict(json.loads(schema_json))
    schema["definitions"] = _closed(definitions) if closed else definitions
    return Draft4Validator(schema, format_checker=_formats)


def validator_for(model_file: str, schema: dict, closed: bool = False) -> Draft4Validator:
    """A validator for `schema` (usually {"$ref": "#/definitions/X"}) within a model."""
    return _validator(model_file, json.dumps(schema, sort_keys=True), closed)


def definition_validator(model_file: str, name: str, closed: bool = False) -> Draft4Validator:
    return validator_for(model_file, {"$ref": f"#/definitions/{name}"}, closed)


def response_schema(operation_id: str, status: int) -> dict:
    op = operation(operation_id)
    responses = op.spec["responses"]
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        raise ResponseMismatch(f"{operation_id} documents no {status} response")
    return response.get("schema", {})


def validate_response(operation_id: str, status: int, body, closed: bool = True) -> None:
    """Raise ResponseMismatch unless `body` matches the model for this operation and status."""
    op = operation(operation_id)
    schema = response_schema(operation_id, status)
    errors = sorted(validator_for(op.model_file, schema, closed).iter_errors(body),
                    key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                 for e in errors[:10]]
        raise ResponseMismatch(f"{operation_id} {status} body does not match the model:\n"
                               + "\n".join(lines))
