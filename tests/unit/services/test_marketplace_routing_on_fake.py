"""Routing by ship-to country, on the in-memory network and shop: each order goes to
its country's marketplace with that marketplace's seller SKUs, a refused country is a
typed needs_attention that still holds the sold units back, stock is read and reserved
per marketplace, and the shop shows the marketplace `shop_stock` names or the sum."""

from __future__ import annotations

import pytest

from bridge.config import FulfillmentAccount
from bridge.domain.model import Address
from bridge.domain.states import OrderState as S
from bridge.services.ingest import ingest_orders
from bridge.services.stock import sync_stock
from bridge.services.submit import submit_ready

US, CA, MX = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"


def to(country: str) -> Address:
    return Address(name="Jane Doe", line1="1 Main St", city="Somewhere", state="XX",
                   postal_code="12345", country_code=country)


def routed(store, shop_stock: str = "home", sku_maps: dict | None = None,
           routing: dict | None = None):
    account = store.storefront.fulfillment
    store.storefront = store.storefront.model_copy(update={
        "fulfillment": FulfillmentAccount(**{
            **account.model_dump(), "shop_stock": shop_stock,
            "routing": routing or {"US": "US", "CA": CA, "MX": "MX", "default": "refuse"}}),
        "policy": store.storefront.policy.model_copy(update={
            "marketplace_sku_maps": sku_maps or {}})})
    return store


def poll(store):
    return ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)


def submit(store):
    return submit_ready(store.ledger, store.amazon, store.cart, store.storefront, limit=10)


def sync(store, **kwargs):
    return sync_stock(store.ledger, store.amazon, store.cart, store.storefront,
                      now=store.clock, **kwargs)


def stock_everywhere(store):
    store.amazon.set_stock({"MUG": 10, "TEE": 4})
    store.amazon.set_stock({"MUG": 3}, marketplace_id=CA)
    store.amazon.set_stock({"TEE-MX": 2}, marketplace_id=MX)


def test_each_order_goes_to_the_marketplace_of_its_country(store):
    routed(store, sku_maps={"MX": {"TEE": "TEE-MX"}})
    stock_everywhere(store)
    store.place("#1", {"MUG": 2}, address=to("US"))
    store.place("#2", {"MUG": 1}, address=to("CA"))
    store.place("#3", {"TEE": 1}, address=to("MX"))
    poll(store)
    assert submit(store).accepted == 3

    sent = {store.row(n).marketplace_id: store.amazon._orders[store.sfo_id(n)].request
            for n in ("#1", "#2", "#3")}
    # Home is "" in the ledger and the request (the client's own marketplace).
    assert set(sent) == {"", CA, MX}
    assert [item.seller_sku for item in sent[MX].items] == ["TEE-MX"]
    levels = {lvl.seller_sku: lvl.fulfillable for lvl in store.amazon.inventory_levels(marketplace_id=CA)}
    assert levels == {"MUG": 2}  # the CA order drew on CA's units, not home's
    assert {lvl.seller_sku: lvl.fulfillable for lvl in store.amazon.inventory_levels()} == {
        "MUG": 8, "TEE": 4}


def test_a_country_no_marketplace_serves_is_a_typed_needs_attention(store):
    routed(store)
    stock_everywhere(store)
    store.place("#9", {"MUG": 1}, address=to("ZA"))
    poll(store)

    row = store.row("#9")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "no_marketplace")
    assert "ships to ZA" in row.last_error
    assert any("no marketplace of this seller account ships to ZA" in text
               for _order, text in store.cart.notes)
    assert submit(store).accepted == 0
    assert store.amazon.calls["create_fulfillment_order"] == 0
    # The shop sold the unit: it stays held back from the home marketplace's stock.
    store.cart.stock = {"MUG": 9, "TEE": 4}
    sync(store)
    assert store.cart.stock["MUG"] == 9


def test_a_country_the_table_leaves_out_goes_to_the_default(store):
    routed(store, routing={"CA": "CA", "default": "US"})
    stock_everywhere(store)
    store.place("#4", {"MUG": 1}, address=to("PR"))
    store.place("#5", {"MUG": 1}, address=to("CA"))
    poll(store)
    assert (store.row("#4").marketplace_id, store.row("#5").marketplace_id) == ("", CA)


@pytest.mark.parametrize("shop_stock, mug, tee", [
    ("home", 10 - 2, 4),                 # home's units only
    ("sum", (10 - 2) + (3 - 1), 4 + 2),  # every routed marketplace's, added up
    ("CA", 3 - 1, None),                 # one marketplace: TEE is not stocked there
])
def test_the_shop_shows_the_stock_shop_stock_names(store, shop_stock, mug, tee):
    routed(store, shop_stock=shop_stock, sku_maps={"MX": {"TEE": "TEE-MX"}})
    stock_everywhere(store)
    store.cart.stock = {"MUG": 0, "TEE": 0}
    store.place("#1", {"MUG": 2}, address=to("US"))
    store.place("#2", {"MUG": 1}, address=to("CA"))
    poll(store)
    sync(store)
    # Units of orders Amazon does not hold yet are held back in their own marketplace.
    assert store.cart.stock["MUG"] == mug
    assert store.cart.stock["TEE"] == (0 if tee is None else tee)


def test_inventory_is_read_per_marketplace_with_its_own_cursor(store):
    routed(store)
    stock_everywhere(store)
    result = sync(store)
    assert result.read == 2 + 1 + 1
    store.clock.advance(60)
    store.amazon.set_stock({"MUG": 1}, marketplace_id=CA)
    store.cart.stock = {"MUG": 10}
    routed(store, shop_stock="CA")
    sync(store)
    assert store.cart.stock["MUG"] == 1


def test_a_sku_unknown_in_the_routed_marketplace_is_caught_before_amazon(store):
    routed(store)
    stock_everywhere(store)
    sync(store)  # Amazon's records of each marketplace are known now
    store.place("#7", {"TEE": 1}, address=to("CA"))  # TEE is stocked at home, not in CA
    poll(store)
    row = store.row("#7")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "unknown_sku")


def test_an_edit_to_a_country_of_another_marketplace_is_held_not_sent(store):
    from bridge.services.update import process_updates

    routed(store)
    stock_everywhere(store)
    order = store.place("#8", {"MUG": 1}, address=to("US"))
    poll(store)
    assert submit(store).accepted == 1
    store.edit(order, address=to("CA"))
    poll(store)

    process_updates(store.ledger, store.amazon, store.cart, store.storefront)
    row = store.row("#8")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "marketplace_changed")
    assert f"routes to marketplace {CA} (CA)" in row.last_error
    assert store.amazon.calls["update_order"] == 0
    assert store.amazon.fulfillment_order(store.sfo_id("#8")).destination.country_code == "US"


def test_shadow_mode_shows_each_order_with_its_routed_marketplace(store):
    import sqlalchemy as sa

    from bridge.ledger.tables import Event
    from bridge.services import shadow

    routed(store)
    stock_everywhere(store)
    store.storefront = store.storefront.model_copy(update={"mode": "shadow"})
    store.place("#11", {"MUG": 1}, address=to("CA"))
    store.place("#12", {"MUG": 1}, address=to("US"))
    poll(store)
    submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10, now=store.clock)

    with store.ledger.transaction() as session:
        shown = {row.order_id: shadow.would_send_body_of(row.message)[1]["marketplaceId"]
                 for row in session.scalars(sa.select(Event).where(Event.kind == shadow.WOULD_SEND))}
    assert shown == {store.row("#11").id: CA, store.row("#12").id: US}
    assert store.amazon.calls["create_fulfillment_order"] == 0


def test_amazon_options_are_checked_in_the_marketplace_the_order_goes_to(store):
    routed(store)
    store.storefront = store.storefront.model_copy(update={
        "policy": store.storefront.policy.model_copy(update={"features": ["BLANK_BOX"]})})
    store.amazon.set_stock({"CUP": 5}, marketplace_id=CA)  # CUP is stocked in Canada only
    store.place("#13", {"CUP": 1}, address=to("CA"))
    poll(store)
    assert submit(store).accepted == 1
    assert store.amazon._orders[store.sfo_id("#13")].request.features == ("BLANK_BOX",)
