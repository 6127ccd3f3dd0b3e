"""Retention (`bridge orders archive`) on both ledgers: finished orders older than the
cutoff leave the live tables for the archive with their whole history; unfinished ones,
recent ones and ones with tracking still to write stay; a dry run changes nothing; and an
archived order the cart shows again is neither recorded nor submitted a second time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bridge import demo_store
from bridge.bootstrap import build_runtime
from bridge.cli import main
from bridge.demo import write_config
from bridge.domain.states import OrderState as S
from bridge.fba.fake import FakeFulfillmentNetwork
from bridge.ledger import repo
from bridge.ledger.tables import ArchivedOrder, Event, Flag, Order, OrderLine, Package
from bridge.services.ingest import ingest_orders
from bridge.services.retention import archive_finished
from bridge.services.submit import submit_ready

OLD, RECENT = timedelta(days=40), timedelta(days=3)


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request, tmp_path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def bridge(config_dir: Path, *args: str):
    return CliRunner().invoke(main, ["-c", str(config_dir), *args], catch_exceptions=False,
                              env={"COLUMNS": "200"})


def shop_with_orders(tmp_path: Path, ledger_url: str, count: int) -> tuple[Path, str, list[str]]:
    """A demo storefront whose `count` orders bridge has ingested (they are ready)."""
    config_dir = write_config(tmp_path, "http://127.0.0.1:9", database_url=ledger_url)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store.create_schema(store)
    cart_ids = demo_store.place_orders(store, count, ["MUG-BLUE"])
    assert bridge(config_dir, "db", "upgrade").exit_code == 0
    runtime = build_runtime(config_dir, configure_logging=False)
    try:
        assert ingest_orders(runtime.ledger, runtime.cart("demo"), runtime.storefront("demo")).ready == count
    finally:
        runtime.close()
    return config_dir, store, cart_ids


def finish(ledger, cart_order_id: str, state: S, ago: timedelta, *, pushed: bool = True,
           open_flag: bool = False) -> None:
    """Set an order's outcome as the flows would have left it `ago` (with one package
    when it shipped; its tracking written unless `pushed` is False)."""
    with ledger.transaction() as session:
        row = repo.find_order(session, "demo", cart_order_id)
        assert row is not None
        when = ledger.clock() - ago
        row.state, row.state_changed_at = state.value, when
        if state is S.COMPLETE:
            session.add(Package(order_id=row.id, amazon_shipment_id=f"S{row.id}", package_number=1,
                                carrier="UPS", tracking_number=f"1Z{row.id}", shipped_at=when,
                                lines=[{"line": "1", "quantity": 1}], pushed_at=when if pushed else None))
        if open_flag:
            session.add(Flag(storefront="demo", order_id=row.id, kind="tracking_overdue",
                             message="tracking not in the shop", open_key=str(row.id)))


def live_ids(ledger) -> set[str]:
    with ledger.transaction() as session:
        return set(session.scalars(select(Order.cart_order_id)))


def archived(ledger) -> dict[str, ArchivedOrder]:
    with ledger.transaction() as session:
        return {row.cart_order_id: row for row in session.scalars(select(ArchivedOrder))}


def test_archive_through_the_cli(tmp_path, ledger_url):
    config_dir, _store, ids = shop_with_orders(tmp_path, ledger_url, 7)
    done, cancelled, recent, still_open, unpushed, flagged, ignored = ids
    runtime = build_runtime(config_dir, configure_logging=False)
    ledger = runtime.ledger
    try:
        finish(ledger, done, S.COMPLETE, OLD)
        finish(ledger, cancelled, S.CANCELLED, OLD)
        finish(ledger, ignored, S.IGNORED, OLD)
        finish(ledger, recent, S.COMPLETE, RECENT)
        finish(ledger, still_open, S.ACCEPTED, OLD)
        finish(ledger, unpushed, S.COMPLETE, OLD, pushed=False)
        finish(ledger, flagged, S.COMPLETE, OLD, open_flag=True)
        with ledger.transaction() as session:
            done_id = repo.find_order(session, "demo", done).id
            done_number = repo.find_order(session, "demo", done).number

        too_recent = bridge(config_dir, "orders", "archive", "--older-than-days", "6")
        assert too_recent.exit_code == 2 and "at least 7" in too_recent.output

        dry = bridge(config_dir, "orders", "archive", "--older-than-days", "30", "--dry-run")
        assert dry.exit_code == 0 and "would archive 3 finished order(s)" in dry.output
        assert live_ids(ledger) == set(ids) and archived(ledger) == {}

        run = bridge(config_dir, "orders", "archive", "--older-than-days", "30")
        assert run.exit_code == 0 and "archived 3 finished order(s)" in run.output
        assert live_ids(ledger) == {recent, still_open, unpushed, flagged}
        kept = archived(ledger)
        assert set(kept) == {done, cancelled, ignored}
        with ledger.transaction() as session:  # nothing of theirs is left in the live tables
            for table in (OrderLine, Package, Event, Flag):
                assert session.scalar(select(func.count()).select_from(table)
                                      .where(table.order_id == done_id)) == 0

        record = kept[done]
        assert (record.storefront, record.number, record.state) == ("demo", done_number, "complete")
        assert record.seller_fulfillment_order_id == record.record["order"]["seller_fulfillment_order_id"]
        assert record.record["order"]["id"] == done_id
        assert [p["tracking_number"] for p in record.record["packages"]] == [f"1Z{done_id}"]
        assert record.record["lines"] and record.record["lines"][0]["seller_sku"] == "MUG-BLUE"
        assert [e["kind"] for e in record.record["events"]][:2] == ["recorded", "ready"]

        shown = bridge(config_dir, "orders", "show", done_number)
        assert shown.exit_code == 0, shown.output
        assert "archived" in shown.output and "1Z" in shown.output and "recorded" in shown.output
        assert bridge(config_dir, "orders", "show", done).exit_code == 0  # by cart id too

        again = bridge(config_dir, "orders", "archive", "--older-than-days", "30", "--storefront", "demo")
        assert again.exit_code == 0 and "archived 0 finished order(s)" in again.output

        status = bridge(config_dir, "status")  # open states only
        assert "open orders:" in status.output and "accepted 1" in status.output
        assert "complete" not in status.output.split("open orders:")[1].splitlines()[0]
    finally:
        runtime.close()


def test_batches_move_every_order_once(tmp_path, ledger_url):
    config_dir, _store, ids = shop_with_orders(tmp_path, ledger_url, 5)
    runtime = build_runtime(config_dir, configure_logging=False)
    try:
        for cart_id in ids:
            finish(runtime.ledger, cart_id, S.COMPLETE, OLD)
        result = archive_finished(runtime.ledger, ["demo"], 30, batch=2)
        assert (result.total, result.batches) == (5, 3)
        assert live_ids(runtime.ledger) == set() and set(archived(runtime.ledger)) == set(ids)
    finally:
        runtime.close()


def test_an_archived_order_the_cart_shows_again_is_not_recorded_or_submitted_again(tmp_path, ledger_url):
    config_dir, store, (edited, untouched) = shop_with_orders(tmp_path, ledger_url, 2)
    runtime = build_runtime(config_dir, configure_logging=False)
    ledger, storefront, cart = runtime.ledger, runtime.storefront("demo"), runtime.cart("demo")
    try:
        for cart_id in (edited, untouched):
            finish(ledger, cart_id, S.COMPLETE, OLD)
        assert archive_finished(ledger, ["demo"], 30).total == 2

        # The merchant edits the old order (it shows in the modified-since window) and a
        # new order arrives; the other old order stays out of the window.
        demo_store.set_updated_at(store, untouched, ledger.clock() - OLD)
        demo_store.update_order(store, edited, shipping_method="Expedited")
        (new,) = demo_store.place_orders(store, 1, ["MUG-BLUE"], start_number=3)
        result = ingest_orders(ledger, cart, storefront)
        assert (result.recorded, result.ready) == (1, 1)  # only the new order

        with ledger.transaction() as session:
            rows = session.scalars(select(Order).where(Order.cart_order_id == edited)).all()
            assert [row.state for row in rows] == ["complete"]
            kinds = [event.kind for event in repo.order_events(session, rows[0].id)]
        assert kinds.count("recorded") == 1 and "restored" in kinds
        assert set(archived(ledger)) == {untouched}

        fba = FakeFulfillmentNetwork()
        fba.set_stock({"MUG-BLUE": 100})
        submitted = submit_ready(ledger, fba, cart, storefront, 10)
        assert submitted.accepted == 1 and fba.calls["create_fulfillment_order"] == 1
        with ledger.transaction() as session:
            accepted = session.scalars(select(Order.cart_order_id).where(Order.state == "accepted")).all()
        assert accepted == [new]

        # Still finished and old: the next run archives it again.
        assert archive_finished(ledger, ["demo"], 30).total == 1
        assert set(archived(ledger)) == {edited, untouched}
    finally:
        runtime.close()
