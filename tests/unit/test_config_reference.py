"""docs/configuration.md is generated from the config model; these fail when a field
lacks a description or the page was not regenerated after a change."""

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from bridge import config_reference
from bridge.config_reference import MissingDescription, render, section_text, sections

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_page_is_up_to_date():
    assert PAGE.read_text() == render(), (
        "docs/configuration.md is out of date: run "
        "`python -m bridge.config_reference > docs/configuration.md`")


def test_every_table_of_both_files_has_a_section():
    page = render()
    for title in ("## bridge.toml", "## storefronts/NAME.toml", "### `[serve]`", "### `[cart]`",
                  "### `[fulfillment]`", "### `[policy]`", "### `[poll]`", "### `[inbound]`",
                  "### `[[rules]]`", "### `[approval]`"):
        assert title in page


def _row(page: str, key: str) -> str:
    rows = [line for line in page.splitlines() if line.startswith(f"| `{key}` |")]
    assert len(rows) == 1, f"{key}: {rows}"
    return rows[0]


def test_keys_new_users_trip_over_are_explained():
    page = render()
    lookback = _row(page, "initial_lookback_hours")
    assert "`24`" in lookback and "first" in lookback and "never read" in lookback
    latin = _row(page, "require_latin_address")
    assert "`true`" in latin and "needs_attention" in latin and "false" in latin
    assert "secret reference" in _row(page, "token")
    assert "`[\"paid\"]`" in _row(page, "ship_payment")


def test_types_defaults_and_bounds_are_shown():
    page = render()
    assert _row(page, "port").startswith("| `port` | integer, ≥ 1, ≤ 65535 | `8780` |")
    assert '`"auto"` \\| `"json"` \\| `"console"`' in _row(page, "log_format")
    assert "| required |" in _row(page, "client_id")
    assert "| not set |" in _row(page, "total_over")


def test_loader_fields_are_not_keys():
    page = render()
    assert "`source_file`" not in page and "`config_dir`" not in page


def test_a_field_without_description_is_refused():
    class Undocumented(BaseModel):
        documented: int = Field(default=1, description="has one")
        bare: int = 2

    with pytest.raises(MissingDescription, match="Undocumented.bare"):
        list(sections("[x]", Undocumented))


def test_nested_tables_and_arrays_of_tables_get_their_own_sections():
    class Inner(BaseModel):
        depth: int = Field(default=0, description="how deep")

    class Outer(BaseModel):
        inner: Inner = Field(default_factory=Inner, description="a table")
        items: tuple[Inner, ...] = Field(default=(), description="an array of tables")

    titles = [section.title for section in sections("outer.toml", Outer)]
    assert titles == ["outer.toml", "[inner]", "[[items]]"]
    text = section_text(config_reference.Section("[inner]", Inner), "###")
    assert "| `depth` | integer | `0` | how deep |" in text
