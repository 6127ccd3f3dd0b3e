import io
import json

from bridge import secrets
from bridge.logging import bind_context, configure, get_logger


def test_log_lines_are_json_with_context_and_no_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("SHOP_TOKEN", "shpat_0123456789abcdef")
    secret_file = tmp_path / "secret"
    secret_file.write_text("lwa-client-secret-value\n")
    token = secrets.resolve("env:SHOP_TOKEN")
    client_secret = secrets.resolve(f"file:{secret_file}")
    stream = io.StringIO()
    configure("auto", "info", stream)  # not a terminal → JSON
    log = get_logger("test")
    with bind_context(storefront="demo", order="1001", task="bridge.submit"):
        log.info("called", url=f"https://x.test/?t={token}", note=f"secret is {client_secret}",
                 database_url="postgresql://bridge:pg-password@db/bridge", refresh_token="Atzr|raw")
        try:
            raise RuntimeError(f"failed with {token}")
        except RuntimeError:
            log.exception("boom")
    output = stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert lines[0]["storefront"] == "demo" and lines[0]["order"] == "1001"
    assert lines[0]["task"] == "bridge.submit"
    for value in (token, client_secret, "pg-password", "Atzr|raw"):
        assert value not in output
    assert "***" in lines[0]["url"]
