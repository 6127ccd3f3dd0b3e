"""The GraphQL half of the Shopify fake: documents are parsed and validated against
Shopify's published Admin schema (graphql-core), variables are coerced by it, costs are
counted by Shopify's published rules, and resolved objects are projected onto the
selection set. There is no resolver engine: the fake's resolvers return plain dicts
whose connection fields are functions of their arguments."""

from __future__ import annotations

import base64
import gzip
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_client_schema,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.utilities import value_from_ast_untyped

FIXTURES = Path(__file__).parent / "shopify"
SCHEMA_FILE = FIXTURES / "admin_2026-07.json.gz"
MUTATION_COST = 10


@cache
def admin_schema() -> GraphQLSchema:
    with gzip.open(SCHEMA_FILE) as handle:
        return build_client_schema(json.load(handle)["data"])


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


class RequestError(Exception):
    """A request Shopify answers with top-level `errors` (no data)."""

    def __init__(self, message: str, code: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.code = code
        self.extensions = extensions


class Operation:
    """One validated operation of a request, with its coerced variables."""

    def __init__(self, document_text: str, variables: dict | None, operation_name: str | None) -> None:
        document = _parse_and_validate(document_text)
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name:
            ops = [o for o in ops if o.name and o.name.value == operation_name]
        if len(ops) != 1:
            raise RequestError("the request must name exactly one operation")
        self.node = ops[0]
        self.name = self.node.name.value if self.node.name else ""
        self.is_mutation = self.node.operation.value == "mutation"
        self.raw_variables = variables or {}
        coerced = get_variable_values(admin_schema(), self.node.variable_definitions or [],
                                      self.raw_variables)
        if isinstance(coerced, list):
            raise RequestError("; ".join(e.message for e in coerced))
        self.variables = coerced
        self.root_fields = [s for s in self.node.selection_set.selections if isinstance(s, FieldNode)]

    def args(self, field: FieldNode) -> dict:
        return {a.name.value: value_from_ast_untyped(a.value, self.raw_variables) for a in field.arguments}

    def directive_args(self, field: FieldNode, name: str) -> dict | None:
        for directive in field.directives or []:
            if directive.name.value == name:
                return {a.name.value: value_from_ast_untyped(a.value, self.raw_variables)
                        for a in directive.arguments}
        return None

    # -- cost -------------------------------------------------------------------------

    def requested_cost(self) -> int:
        if self.is_mutation:
            return MUTATION_COST * len(self.root_fields)
        return sum(self._field_cost(f) for f in self.root_fields)

    def actual_cost(self, data: dict) -> int:
        if self.is_mutation:
            return MUTATION_COST * len(self.root_fields)
        return sum(self._actual_cost(f, data.get(_key(f))) for f in self.root_fields)

    def _size(self, field: FieldNode) -> int | None:
        args = self.args(field)
        size = args.get("first", args.get("last"))
        return int(size) if size is not None else None

    def _field_cost(self, field: FieldNode) -> int:
        if field.selection_set is None or field.name.value == "pageInfo":
            return 0
        size = self._size(field)
        children = [s for s in field.selection_set.selections if isinstance(s, FieldNode)]
        if size is None:
            return 1 + sum(self._field_cost(c) for c in children)
        if _is_connection(field):
            node_cost = sum(1 + self._children_cost(c) for c in children if c.name.value in ("nodes", "edges"))
            return 2 + size * node_cost
        return size * (1 + sum(self._field_cost(c) for c in children))

    def _children_cost(self, field: FieldNode) -> int:
        selections = field.selection_set.selections if field.selection_set else []
        return sum(self._field_cost(c) for c in selections if isinstance(c, FieldNode))

    def _actual_cost(self, field: FieldNode, value: Any) -> int:
        if field.selection_set is None or field.name.value == "pageInfo" or value is None:
            return 0
        children = [s for s in field.selection_set.selections if isinstance(s, FieldNode)]
        if _is_connection(field):
            inner = next((c for c in children if c.name.value == "nodes"), None)
            per = [c for c in inner.selection_set.selections if isinstance(c, FieldNode)] if inner else []
            return 2 + sum(1 + sum(self._actual_cost(c, n.get(_key(c))) for c in per)
                           for n in value.get("nodes") or [])
        if isinstance(value, list):
            return sum(1 + sum(self._actual_cost(c, v.get(_key(c))) for c in children) for v in value)
        return 1 + sum(self._actual_cost(c, value.get(_key(c))) for c in children)

    # -- projection -------------------------------------------------------------------

    def project(self, value: Any, field: FieldNode) -> Any:
        """The resolved value cut to the field's selection set; callables are
        connection or list fields, called with the field's arguments."""
        if callable(value):
            value = value(**self.args(field))
        if field.selection_set is None or value is None:
            return value
        if isinstance(value, list):
            return [self.project_object(v, field) for v in value]
        return self.project_object(value, field)

    def project_object(self, obj: dict, field: FieldNode) -> dict:
        out = {}
        for child in field.selection_set.selections:
            if not isinstance(child, FieldNode):
                raise RequestError("fragments are not supported by the fake")
            name = child.name.value
            if name == "__typename":
                out[_key(child)] = obj.get("__typename", "")
                continue
            if name not in obj:
                raise RequestError(f"the fake does not resolve {name}")
            out[_key(child)] = self.project(obj[name], child)
        return out


def _key(field: FieldNode) -> str:
    return field.alias.value if field.alias else field.name.value


def _is_connection(field: FieldNode) -> bool:
    names = {s.name.value for s in field.selection_set.selections if isinstance(s, FieldNode)}
    return bool(names & {"nodes", "edges", "pageInfo"})


@cache
def _parse_and_validate(text: str):
    try:
        document = parse(text)
    except GraphQLError as exc:
        raise RequestError(exc.message) from None
    errors = validate(admin_schema(), document)
    if errors:
        raise RequestError("; ".join(e.message for e in errors))
    return document


# -- connections and cursors ------------------------------------------------------------


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


def decode_cursor(cursor: str) -> list:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise RequestError(f"invalid cursor {cursor!r}") from None


def connection(items: list, first: int | None, after: str | None, cursor_of=None, max_first: int = 250) -> dict:
    """A Relay connection over `items` (already sorted); `cursor_of(item)` gives the
    sort key its cursor encodes (position when None)."""
    if first is None or not 0 <= first <= max_first:
        raise RequestError(f"first must be between 0 and {max_first}")
    keyed = [(cursor_of(item) if cursor_of else [i], item) for i, item in enumerate(items)]
    if after is not None:
        bound = decode_cursor(after)
        keyed = [(k, item) for k, item in keyed if k > bound]
    page = keyed[:first]
    end = encode_cursor(*page[-1][0]) if page else None
    return {
        "pageInfo": {"hasNextPage": len(keyed) > first, "hasPreviousPage": after is not None,
                     "startCursor": encode_cursor(*page[0][0]) if page else None, "endCursor": end},
        "nodes": [item for _k, item in page],
        "edges": [{"cursor": encode_cursor(*k), "node": item} for k, item in page],
    }


# -- Shopify's search syntax (the parts bridge uses) -------------------------------------

_TERM = re.compile(
    r"""(?P<field>[a-z_]+):(?P<op>>=|<=|>|<)?(?:'(?P<single>[^']*)'|"(?P<double>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s]+))"""
)


def search_terms(query: str) -> tuple[str, list[tuple[str, str, str]]]:
    """('AND' | 'OR', [(field, comparator, value)]) of a flat query."""
    connective = "OR" if " OR " in query else "AND"
    rest = _TERM.sub("", query).replace(" OR ", " ").strip()
    if rest:
        raise RequestError(f"the fake does not understand {rest!r} in the search query")
    terms = []
    for m in _TERM.finditer(query):
        value = m.group("single")
        if value is None and m.group("double") is not None:
            value = re.sub(r"\\(.)", r"\1", m.group("double"))
        if value is None:
            value = m.group("bare")
        terms.append((m.group("field"), m.group("op") or "=", value))
    return connective, terms


def search_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def compare(left: Any, op: str, right: Any) -> bool:
    return {"=": left == right, ">=": left >= right, "<=": left <= right,
            ">": left > right, "<": left < right}[op]
