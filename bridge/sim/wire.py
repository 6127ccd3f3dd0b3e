"""The SP-API wire format: error bodies, request ids, the lenient way Amazon reads query
strings and bodies (unknown fields ignored, booleans in any case, arrays repeated or
comma-joined, dates in ISO 8601), and the strict way it checks bodies against the model
(the first error named by its field)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from starlette.datastructures import Headers, QueryParams

from bridge.sim.clock import parse_iso
from bridge.spapi_models import load_model

QUOTA_EXCEEDED = "You exceeded your quota for the requested resource."
ACCESS_DENIED = "Access to requested resource is denied."


class SimError(Exception):
    """An SP-API error answer: raised by handlers, turned into {"errors": [...]}."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict:
        return error_body(self.code, self.message, self.details)


def invalid_input(message: str) -> SimError:
    return SimError(400, "InvalidInput", message)


def not_found(message: str) -> SimError:
    return SimError(404, "NotFound", message)


def error_body(code: str, message: str, details: str = "") -> dict:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def encode_token(state: dict) -> str:
    """An opaque paging token that carries its own position (nothing kept server-side)."""
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeError):
        raise invalid_input("Invalid nextToken.") from None
    if not isinstance(state, dict):
        raise invalid_input("Invalid nextToken.")
    return state


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Reply:
    status: int = 200
    body: dict = field(default_factory=dict)


@dataclass
class Call:
    """One SP-API request, read and ready for a synchronous handler."""

    path_params: dict
    query: QueryParams
    headers: Headers
    raw_body: bytes = b""

    def json_body(self) -> dict:
        """The body as a JSON object; anything else is InvalidInput, as Amazon answers."""
        if not self.raw_body.strip():
            raise invalid_input("The request body is missing.")
        try:
            body = json.loads(self.raw_body)
        except (ValueError, UnicodeDecodeError):
            raise invalid_input("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise invalid_input("The request body must be a JSON object.")
        return body

    def text(self, name: str) -> str | None:
        """A single query parameter; empty counts as absent. The last one wins if repeated."""
        values = self.query.getlist(name)
        value = values[-1].strip() if values else ""
        return value or None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.text(name)
        return default if value is None else parse_bool(value, name)

    def date(self, name: str) -> float | None:
        """An ISO 8601 date-time parameter as a timestamp; absent is None."""
        text = self.text(name)
        if text is None:
            return None
        try:
            return parse_iso(text)
        except ValueError:
            raise invalid_input(f"Value for parameter {name} is invalid: expected an ISO 8601 "
                                "date-time.") from None

    def many(self, name: str) -> list[str]:
        """An array parameter: repeated (a=1&a=2) or comma-joined (a=1,2), or both."""
        out: list[str] = []
        for value in self.query.getlist(name):
            out.extend(part.strip() for part in value.split(",") if part.strip())
        return out


def parse_bool(value, name: str = "value") -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise invalid_input(f"Invalid value for {name}: {value!r} is not a boolean.")


def field_path(error: ValidationError) -> str:
    """Where in a body a schema error sits, as clients write it: items[0].quantity."""
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def known_fields(value, definition: str, model_file: str):
    """`value` with only the properties the model declares (recursively), as Amazon keeps
    them: unknown request fields are ignored, never stored or echoed back."""
    definitions = load_model(model_file)["definitions"]

    def strip(node, schema):
        if "$ref" in schema:
            schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
        if isinstance(node, dict) and "properties" in schema:
            return {k: strip(v, schema["properties"][k]) for k, v in node.items()
                    if k in schema["properties"]}
        if isinstance(node, list) and "items" in schema:
            return [strip(v, schema["items"]) for v in node]
        return node

    return strip(value, {"$ref": f"#/definitions/{definition}"})


def first_schema_error(validator: Validator, body) -> ValidationError | None:
    """The error to report: the outermost one, so a missing object is named before the
    fields inside it; ties broken by path so the answer never varies."""
    errors = sorted(validator.iter_errors(body),
                    key=lambda e: (len(e.absolute_path), field_path(e)))
    return errors[0] if errors else None
