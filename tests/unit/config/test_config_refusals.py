"""Offline configuration errors stop `bridge run`, `bridge worker` and `bridge beat`
before anything starts, and an order comment template that cannot render is one of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import bridge.daemon
from bridge.cli import main
from bridge.config import load_config
from bridge.errors import ConfigError
from bridge.services.config_check import check_config, comment_template_problem

STOREFRONT = """
name = "shop"
[cart]
platform = "sql"
url = "sqlite:///store.db"
[fulfillment]
client_id = "amzn1.application-oa2-client.x"
client_secret = "env:REFUSALS_TEST_SECRET"
refresh_token = "file:token.txt"
"""


def write(tmp_path: Path, template: str | None = None) -> Path:
    (tmp_path / "storefronts").mkdir()
    (tmp_path / "bridge.toml").write_text(f'database_url = "sqlite:///{tmp_path / "ledger.db"}"\n')
    (tmp_path / "token.txt").write_text("Atzr|refresh")
    text = STOREFRONT
    if template is not None:
        text += f"[policy]\ncomment_template = '{template}'\n"
    (tmp_path / "storefronts" / "shop.toml").write_text(text)
    return tmp_path


@pytest.fixture
def started(monkeypatch):
    """What would have started: the embedded daemon and Celery, replaced by recorders."""
    calls: list[str] = []
    monkeypatch.delenv("BRIDGE_CONFIG_DIR", raising=False)  # `-c` sets it; put it back after
    monkeypatch.setattr(bridge.daemon, "run_embedded", lambda *a, **k: calls.append("run"))
    monkeypatch.setattr(bridge.daemon, "celery_main", lambda argv: calls.append(argv[0]))
    return calls


def problems_of(root: Path) -> dict[tuple[str, str], str]:
    with pytest.raises(ConfigError) as caught:
        check_config(load_config(root))
    return {(Path(file).name, key): what for file, key, what in caught.value.problems}


@pytest.mark.parametrize("template, words", [
    ("Order {number.nope}", "plain text"),
    ("Order {unknown}", "{unknown} is not a field"),
    ("Order {0}", "positional"),
    ("Order {number", "cannot be rendered"),
    ("Order {number:d}", "cannot be rendered"),
])
def test_a_template_that_cannot_render_is_a_problem(tmp_path, monkeypatch, template, words):
    monkeypatch.setenv("REFUSALS_TEST_SECRET", "s3cret")
    what = problems_of(write(tmp_path, template))[("shop.toml", "policy.comment_template")]
    assert words in what
    assert "{number}, {order_id} or {email}" in what and "{{" in what


@pytest.mark.parametrize("template", [
    "Thank you for your order {number}.",
    "Order {order_id} for {email} ({{gift}})",
    "No fields at all",
    "x" * 800 + " {number}",  # too long is an order's problem, found when it is mapped
])
def test_templates_that_render_pass(tmp_path, monkeypatch, template):
    monkeypatch.setenv("REFUSALS_TEST_SECRET", "s3cret")
    check_config(load_config(write(tmp_path, template)))
    assert comment_template_problem(template) is None


@pytest.mark.parametrize("command", [["run"], ["worker", "-Q", "submit"], ["beat"]])
def test_a_missing_secret_refuses_the_start(tmp_path, monkeypatch, started, command):
    monkeypatch.delenv("REFUSALS_TEST_SECRET", raising=False)
    root = write(tmp_path, "Order {unknown}")
    result = CliRunner().invoke(main, ["-c", str(root), *command])
    assert result.exit_code == 2, result.output
    assert started == []
    assert "2 problem(s)" in result.output
    assert "shop.toml" in result.output and "fulfillment.client_secret" in result.output
    assert "REFUSALS_TEST_SECRET" in result.output
    assert "policy.comment_template" in result.output


@pytest.mark.parametrize("command, name", [(["run"], "run"), (["worker"], "worker"), (["beat"], "beat")])
def test_a_clean_configuration_starts(tmp_path, monkeypatch, started, command, name):
    monkeypatch.setenv("REFUSALS_TEST_SECRET", "s3cret")
    result = CliRunner().invoke(main, ["-c", str(write(tmp_path)), *command])
    assert result.exit_code == 0, result.output
    assert started == [name]


def test_a_sku_map_chain_or_cycle_is_refused_with_its_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("REFUSALS_TEST_SECRET", "secret")
    root = write(tmp_path)
    path = root / "storefronts" / "shop.toml"
    path.write_text(path.read_text() + '[policy.sku_map]\n"A" = "B"\n"B" = "C"\n'
                                       '"KIT" = { "MUG" = 2, "TEE" = 0 }\n')
    with pytest.raises(ConfigError) as caught:
        check_config(load_config(root))
    found = {key: what for _file, key, what in caught.value.problems}
    assert "is itself mapped" in found["policy.sku_map.A"]
    assert "at least 1" in found["policy.sku_map.KIT"]
