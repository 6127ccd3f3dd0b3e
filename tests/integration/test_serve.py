"""`bridge serve` as a real process: the probes and /metrics over HTTP, ready against a
working ledger and broker, and 503 naming the ledger and the broker when the same
configuration points at a PostgreSQL and a broker that are down."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from processes import Daemons, free_port, wait_for
from prometheus_client.parser import text_string_to_metric_families

from bridge.ledger import migrate, repo
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger

STOREFRONT = """
name = "north"
order_id_prefix = "N"
[cart]
platform = "sql"
url = "sqlite:///store.db"
[fulfillment]
client_id = "id"
client_secret = "env:X"
refresh_token = "env:Y"
[poll]
orders_seconds = 3600
"""


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def configure(tmp_path: Path) -> Path:
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate.upgrade(ledger_url)
    engine = make_engine(ledger_url)
    try:
        ledger = Ledger(engine)
        with ledger.transaction() as session:
            # Polled just now; its poll is every hour, so it stays recent for the test.
            repo.set_cursor(session, "north", "orders", ledger.clock())
    finally:
        engine.dispose()
    folder = tmp_path / "config"
    (folder / "storefronts").mkdir(parents=True)
    (folder / "bridge.toml").write_text(
        f'database_url = "{ledger_url}"\n'
        f'broker_url = "sqla+sqlite:///{tmp_path / "broker.db"}"\n'
        'log_format = "json"\n')
    (folder / "storefronts" / "north.toml").write_text(STOREFRONT)
    return folder


def serve(daemons: Daemons, name: str) -> str:
    port = free_port()
    daemons.bridge(name, "serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        daemons.check_alive()
        return get(base + "/healthz") == (200, "ok")

    wait_for(up, f"{name} to answer /healthz", timeout=60, on_timeout=daemons.logs)
    return base


def test_bridge_serve_probes_and_metrics_over_http(tmp_path):
    daemons = Daemons(tmp_path, configure(tmp_path))
    try:
        base = serve(daemons, "serve")
        status, body = get(base + "/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"]["storefront north"]["ok"] is True

        status, text = get(base + "/metrics")
        assert status == 200
        found = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                 for family in text_string_to_metric_families(text)
                 for sample in family.samples}
        assert found[("bridge_scrape_ok", (("part", "ledger"),))] == 1
        assert found[("bridge_scrape_ok", (("part", "broker"),))] == 1
        assert found[("bridge_stock_drift_skus", (("storefront", "north"),))] == 0
        assert found[("bridge_queue_messages", (("queue", "orders"),))] == 0

        # The same configuration with PostgreSQL and the broker down.
        daemons.env["BRIDGE_DATABASE_URL"] = f"postgresql://bridge@127.0.0.1:{free_port()}/bridge"
        daemons.env["BRIDGE_BROKER_URL"] = f"redis://127.0.0.1:{free_port()}/0"
        down = serve(daemons, "serve-down")
        status, body = get(down + "/readyz")
        assert status == 503, body
        assert set(json.loads(body)["failing"]) == {"ledger", "broker", "storefronts"}
        status, text = get(down + "/metrics")
        assert status == 200 and 'bridge_scrape_ok{part="ledger"} 0.0' in text
    finally:
        daemons.stop()
