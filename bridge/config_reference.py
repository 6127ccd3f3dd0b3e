"""The configuration reference page, generated from the config model so it cannot drift:
every key of bridge.toml and of a storefront file with its type, default and description.

    python -m bridge.config_reference > docs/configuration.md

A test compares docs/configuration.md with this output, and a field without a
description is an error here, not a blank cell."""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bridge.config import BridgeSettings, StorefrontConfig

# Filled in by the loader, never written in a file.
LOADER_FIELDS = frozenset({"source_file", "config_dir"})
# Required by the model, but the loader supplies them when a file leaves them out.
LOADER_DEFAULTS = {("StorefrontConfig", "name"): "the file's name"}

HEADER = """\
# Configuration reference

<!-- Generated from bridge/config.py by `python -m bridge.config_reference >
docs/configuration.md`; edit the field descriptions there, not this page. -->

bridge reads `bridge.toml` and one file per storefront in `storefronts/` from its config
folder (`./config`, or `bridge -c DIR`, or `BRIDGE_CONFIG_DIR`). `bridge config check`
validates both and names every problem as file, key, what is wrong. Secrets are always
references: `env:NAME` (an environment variable) or `file:PATH` (a file, relative to the
config folder); a secret written inline is refused. Commented examples:
`config/bridge.toml`, `config/storefronts/demo.toml`, `config/storefronts/examples/`.
"""

CART_NOTE = """\
The adapters' guides list their keys: [Shopify](adapters/shopify.md), [WooCommerce](adapters/woocommerce.md),
[BigCommerce](adapters/bigcommerce.md), [Magento](adapters/magento.md),
[SQL](adapters/sql.md).
"""


class MissingDescription(ValueError):
    """A config field has no description: the reference would have a blank cell."""

    def __init__(self, model: type[BaseModel], field: str) -> None:
        super().__init__(f"{model.__name__}.{field} has no description: add "
                         "Field(description=...) in bridge/config.py")


@dataclass(frozen=True)
class Section:
    title: str           # how the table is written in the file, e.g. "[poll]"
    model: type[BaseModel]
    note: str = ""


def type_name(annotation: Any) -> str:
    """A TOML reader's name for an annotation: `string`, `list of strings`, `"a" | "b"`."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return " | ".join(f'`"{value}"`' for value in args)
    if origin in (typing.Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        inner = " or ".join(type_name(arg) for arg in present)
        return f"{inner} (optional)" if len(present) < len(args) else inner
    if origin in (list, tuple):
        item = args[0] if args else str
        return f"list of {_plural(type_name(item))}"
    if origin is dict:
        return f"table of {_plural(type_name(args[1]))}" if len(args) == 2 else "table"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Decimal: "number"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _plural(name: str) -> str:
    simple = {"string": "strings", "integer": "integers", "number": "numbers",
              "boolean": "booleans", "table": "tables"}
    return simple.get(name, name)


def bounds(field: FieldInfo) -> str:
    words = []
    for item in field.metadata:
        if isinstance(item, Ge):
            words.append(f"≥ {item.ge}")
        elif isinstance(item, Gt):
            words.append(f"> {item.gt}")
        elif isinstance(item, Le):
            words.append(f"≤ {item.le}")
        elif isinstance(item, Lt):
            words.append(f"< {item.lt}")
    return ", ".join(words)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + "}"
    return str(value)


def default_text(model: type[BaseModel], name: str, field: FieldInfo) -> str:
    if (model.__name__, name) in LOADER_DEFAULTS:
        return LOADER_DEFAULTS[model.__name__, name]
    if field.is_required():
        return "required"
    if field.default is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is None:
        return "not set"
    return f"`{toml_value(value)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a table (`[poll]`) or of an array of tables (`[[rules]]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, tuple):
        args = [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
        if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0]
    return None


def keys(model: type[BaseModel]) -> Iterator[tuple[str, FieldInfo]]:
    for name, field in model.model_fields.items():
        if name in LOADER_FIELDS:
            continue
        if not (field.description or "").strip():
            raise MissingDescription(model, name)
        yield name, field


def sections(title: str, model: type[BaseModel], prefix: str = "") -> Iterator[Section]:
    """The model's own keys first, then one section per nested table, in field order."""
    yield Section(title, model)
    for name, field in keys(model):
        nested = _nested_model(field.annotation)
        if nested is None:
            continue
        array = typing.get_origin(field.annotation) in (list, tuple)
        path = f"{prefix}{name}"
        sub_title = f"[[{path}]]" if array else f"[{path}]"
        for section in sections(sub_title, nested, prefix=f"{path}."):
            note = CART_NOTE if section.model.__name__ == "CartConnection" else section.note
            yield Section(section.title, section.model, note)


def section_text(section: Section, heading: str) -> str:
    lines = [f"{heading} `{section.title}`" if section.title.startswith("[") else
             f"{heading} {section.title}", ""]
    doc = (section.model.__doc__ or "").strip()
    if doc and section.model.__doc__ != BaseModel.__doc__:
        lines += [" ".join(doc.split()), ""]
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in keys(section.model):
        if _nested_model(field.annotation) is not None:
            kind = "tables" if typing.get_origin(field.annotation) in (list, tuple) else "table"
            described = f"{field.description} See below."
            lines.append(f"| `{name}` | {kind} | | {_cell(described)} |")
            continue
        kind = type_name(field.annotation)
        limit = bounds(field)
        if limit:
            kind = f"{kind}, {limit}"
        lines.append(f"| `{name}` | {_cell(kind)} | {_cell(default_text(section.model, name, field))} "
                     f"| {_cell(field.description or '')} |")
    if section.note:
        lines += ["", section.note.rstrip()]
    return "\n".join(lines) + "\n"


def render() -> str:
    parts = [HEADER]
    for file_title, model in (("bridge.toml", BridgeSettings),
                              ("storefronts/NAME.toml", StorefrontConfig)):
        parts.append(f"## {file_title}\n")
        for index, section in enumerate(sections(file_title, model)):
            if index == 0:
                parts.append(section_text(Section("Top-level keys", section.model), "###"))
            else:
                parts.append(section_text(section, "###"))
    return "\n".join(parts)


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
