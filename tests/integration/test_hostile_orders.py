"""Hostile orders mixed with good ones, through the public ingest and submit services:
every hostile order is held in needs_attention with a typed reason whose message names the
field (quoting little, escaping control characters), none reaches Amazon, and every good
order is accepted. Once on the in-memory fake network (many batches) and once on the
simulator over HTTP, whose own checks would refuse anything bridge let through."""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import StaticPool

from bridge.carts.contract import Capabilities
from bridge.config import CartConnection, FulfillmentAccount, StorefrontConfig
from bridge.domain.limits import ADDRESS_LIMITS, COUNTRY_CODES, MAX_EMAIL, has_control
from bridge.domain.model import Address, CartLine, CartOrder, OrderPage, PackageShipment, StockLevel
from bridge.domain.states import OrderState as S
from bridge.fba.fake import FakeFulfillmentNetwork, ManualClock
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Base, Order
from bridge.services.ingest import ingest_orders
from bridge.services.submit import submit_ready

SKUS = ("MUG-BLUE", "MUG-RED", "TEE-M")
GOOD_ADDRESS = Address(name="Jane Doe", line1="1 Main St", line2="Suite 5", city="Seattle", state="WA",
                       postal_code="98101", country_code="US", phone="206-555-0100")
# Domain Address attribute -> (Amazon's field in limits.ADDRESS_LIMITS, words in the message).
ADDRESS_FIELDS = {
    "name": ("name", "name"),
    "line1": ("addressLine1", "address line 1"),
    "line2": ("addressLine2", "address line 2"),
    "line3": ("addressLine3", "address line 3"),
    "city": ("city", "city"),
    "state": ("stateOrRegion", "state or region"),
    "postal_code": ("postalCode", "postal code"),
    "phone": ("phone", "phone"),
}
CONTROL = st.one_of(st.characters(min_codepoint=0, max_codepoint=0x1F), st.just("\x7f"),
                    st.characters(min_codepoint=0x80, max_codepoint=0x9F), st.just("\x00"))
UNASSIGNED = sorted({a + b for a in string.ascii_uppercase for b in string.ascii_uppercase} - COUNTRY_CODES)


@dataclass(frozen=True)
class Hostility:
    """One way an order is bad: what it does to the order, the reasons that may hold it,
    and words its message must contain (the field, named for a person)."""

    apply: Any  # (CartOrder) -> CartOrder
    reasons: frozenset[str]
    names: str


def _address(order: CartOrder, **changes: str) -> CartOrder:
    assert order.address is not None
    return replace(order, address=replace(order.address, **changes))


def _inserted(value: str, char: str, at: int) -> str:
    """`char` inside `value` (surrounding whitespace is trimmed, not held, so not at an edge)."""
    at = 1 + at % (len(value) - 1)
    return value[:at] + char + value[at:]


@st.composite
def hostility(draw) -> Hostility:
    kind = draw(st.sampled_from(["control_address", "control_number", "control_email", "control_sku",
                                 "long_address", "long_number", "long_email", "long_sku",
                                 "country", "crlf_email", "old_date", "future_date"]))
    at = draw(st.integers(0, 60))
    if kind == "control_address":
        attr = draw(st.sampled_from(sorted(ADDRESS_FIELDS) + ["country_code"]))
        char = draw(CONTROL)
        if attr == "country_code":
            return Hostility(lambda o: _address(o, country_code=_inserted("US", char, at)),
                             frozenset({"control_character", "bad_country_code"}), "country code")
        base = getattr(GOOD_ADDRESS, attr) or "xy"
        return Hostility(lambda o: _address(o, **{attr: _inserted(base, char, at)}),
                         frozenset({"control_character"}), f"the shipping address's {ADDRESS_FIELDS[attr][1]}")
    if kind == "long_address":
        attr = draw(st.sampled_from(sorted(ADDRESS_FIELDS)))
        size = draw(st.sampled_from([ADDRESS_LIMITS[ADDRESS_FIELDS[attr][0]] + 1, 5000]))
        return Hostility(lambda o: _address(o, **{attr: "7" * size}), frozenset({"field_too_long"}),
                         f"the shipping address's {ADDRESS_FIELDS[attr][1]} is {size:,} characters")
    if kind == "control_number":
        char = draw(CONTROL)
        return Hostility(lambda o: replace(o, number=_inserted(o.number, char, at)),
                         frozenset({"control_character"}), "the order number")
    if kind == "long_number":
        size = draw(st.sampled_from([41, 5000]))
        return Hostility(lambda o: replace(o, number=o.number + "9" * size), frozenset({"bad_order_number"}),
                         "the order number")
    if kind in ("control_email", "crlf_email"):
        char = draw(CONTROL) if kind == "control_email" else draw(st.sampled_from(["\r\n", "\n", "\r"]))
        tail = "" if kind == "control_email" else "Bcc: everyone@example.com"
        return Hostility(lambda o: replace(o, email=_inserted(o.email, char + tail, at)),
                         frozenset({"control_character"}), "the customer's e-mail address")
    if kind == "long_email":
        size = draw(st.sampled_from([MAX_EMAIL + 1, 5000]))
        return Hostility(lambda o: replace(o, email="a" * (size - 12) + "@example.com"),
                         frozenset({"field_too_long"}), "the customer's e-mail address")
    if kind == "control_sku":
        char = draw(CONTROL)
        return Hostility(lambda o: _lines(o, _inserted(SKUS[0], char, at)), frozenset({"control_character"}),
                         "seller SKU")
    if kind == "long_sku":
        size = draw(st.sampled_from([51, 5000]))
        return Hostility(lambda o: _lines(o, "S" * size), frozenset({"sku_too_long"}), "seller SKU")
    if kind == "country":
        code = draw(st.sampled_from(["XX", "ZZ", "  ", "12", "U1", "uk", "USA", ""]) | st.sampled_from(UNASSIGNED))
        reasons = {"bad_country_code", "incomplete_address"}
        return Hostility(lambda o: _address(o, country_code=code), frozenset(reasons), "country code")
    if kind == "old_date":
        year = draw(st.sampled_from([1900, 1970, 1999]))
        return Hostility(lambda o: replace(o, created_at=datetime(year, 6, 1, tzinfo=UTC)),
                         frozenset({"bad_date"}), "creation date")
    year = draw(st.sampled_from([2999, 2100]))
    return Hostility(lambda o: replace(o, created_at=datetime(year, 6, 1, tzinfo=UTC)),
                     frozenset({"future_date", "bad_date"}), "creat")


def _lines(order: CartOrder, sku: str) -> CartOrder:
    return replace(order, lines=(CartLine(f"{order.order_id}-1", sku, 1),) + order.lines[1:])


# Good orders vary over what Amazon takes: Latin-1 text within every limit.
SAFE_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " .,-'#/&éüßøÅ", min_size=1, max_size=20)


@st.composite
def good_address(draw) -> Address:
    return Address(
        name=draw(SAFE_TEXT).strip() or "A",
        line1=draw(st.sampled_from(["1 Main St", "x" * 60, "Kö 12"])),
        line2=draw(st.sampled_from(["", "b" * 60])),
        city=draw(st.sampled_from(["Seattle", "c" * 50, "Zürich"])),
        state=draw(st.sampled_from(["", "WA", "s" * 150])),
        postal_code=draw(st.sampled_from(["98101", "9" * 20, "SW1A 1AA"])),
        # Countries the simulator's US marketplace ships to, in either case.
        country_code=draw(st.sampled_from(["US", "us", "PR", "pr"])),
        phone=draw(st.sampled_from(["", "5" * 20, "+1 206 555 0100"])),
    )


@st.composite
def batches(draw) -> list[tuple[Address | None, list[Hostility]]]:
    """Orders in a batch: an address for a good one, hostilities (one to three) for a bad one."""
    entries: list[tuple[Address | None, list[Hostility]]] = []
    for _ in range(draw(st.integers(1, 4))):
        entries.append((draw(good_address()), []))
    for _ in range(draw(st.integers(1, 8))):
        entries.append((None, draw(st.lists(hostility(), min_size=1, max_size=3))))
    return draw(st.permutations(entries))


class ListCart:
    """A shop in memory: hands out its orders by change time and keeps the notes."""

    platform: ClassVar[str] = "memory"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self) -> None:
        self.orders: list[CartOrder] = []
        self.notes: list[tuple[str, str]] = []

    def fetch_orders(self, since: datetime, until: datetime, page: str | None, limit: int) -> OrderPage:
        changed = [o for o in self.orders if since <= o.updated_at < until]
        start = int(page or 0)
        more = start + limit < len(changed)
        return OrderPage(changed[start:start + limit], str(start + limit) if more else None)

    def push_shipment(self, order: CartOrder, shipment: PackageShipment, notify: bool) -> bool:
        return True

    def get_stock(self, skus) -> dict[str, int]:
        return {}

    def set_stock(self, levels: list[StockLevel]) -> list[str]:
        return []

    def add_note(self, order: CartOrder, text: str) -> None:
        self.notes.append((order.order_id, text))

    def close(self) -> None:
        pass


def place_batch(cart: ListCart, clock: ManualClock, batch, tag: str) -> tuple[dict, dict]:
    """The batch's orders in the shop, by cart order id (a hostile number is no key):
    ({id: None} for good ones, {id: hostilities})."""
    good: dict[str, None] = {}
    bad: dict[str, list[Hostility]] = {}
    for index, (address, hostilities) in enumerate(batch):
        order_id = f"{tag}{index}"
        at = clock()
        order = CartOrder(
            order_id=order_id, number=f"#{order_id}", created_at=at, updated_at=at, paid=True,
            cancelled=False, lines=(CartLine(f"{tag}{index}-1", SKUS[index % 3], 1),
                                    CartLine(f"{tag}{index}-2", SKUS[(index + 1) % 3], 2)),
            address=address or GOOD_ADDRESS, shipping_method="standard", email="jane@example.com")
        for hostile in hostilities:
            order = hostile.apply(order)
        # The change time stays ordinary, so the poll reads the order whatever its dates.
        cart.orders.append(replace(order, updated_at=at))
        if hostilities:
            bad[order_id] = hostilities
        else:
            good[order_id] = None
    clock.advance(1)
    return good, bad


def rows_of(ledger: Ledger, order_ids) -> dict[str, Order]:
    with ledger.transaction() as session:
        rows = session.scalars(sa.select(Order).where(Order.cart_order_id.in_(list(order_ids))))
        return {row.cart_order_id: row for row in rows}


def assert_held_and_named(rows: dict[str, Order], bad: dict[str, list[Hostility]]) -> None:
    for number, hostilities in bad.items():
        row = rows[number]
        assert row.state == S.NEEDS_ATTENTION, (number, row.state, row.last_error)
        matching = [h for h in hostilities if row.attention_reason in h.reasons]
        assert matching, (number, row.attention_reason, row.last_error)
        assert any(h.names in row.last_error for h in matching), (number, row.last_error)
        assert not has_control(row.last_error), row.last_error
        assert len(row.last_error) < 400, row.last_error  # a 5,000-character value is not echoed


def storefront(name: str) -> StorefrontConfig:
    return StorefrontConfig(
        name=name, cart=CartConnection(platform=ListCart.platform),
        fulfillment=FulfillmentAccount(client_id="x", client_secret="env:UNUSED", refresh_token="env:UNUSED"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=batches())
def test_hostile_orders_never_reach_the_fake_network(batch):
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    engine = make_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    try:
        ledger, cart, amazon = Ledger(engine, clock=clock), ListCart(), FakeFulfillmentNetwork(clock)
        amazon.set_stock({sku: 10_000 for sku in SKUS})
        shop = storefront("hostile")
        good, bad = place_batch(cart, clock, batch, "H")

        ingest_orders(ledger, cart, shop)
        submit_ready(ledger, amazon, cart, shop, limit=100)

        rows = rows_of(ledger, list(good) + list(bad))
        assert set(rows) == set(good) | set(bad)
        assert_held_and_named(rows, bad)
        assert all(rows[n].state == S.ACCEPTED for n in good), {n: rows[n].last_error for n in good}
        assert sorted(amazon.order_ids()) == sorted(rows[n].seller_fulfillment_order_id for n in good)
        assert {order_id for order_id, _ in cart.notes} >= set(bad)
    finally:
        engine.dispose()


@pytest.fixture
def sim_shop(sim, ledger, fba):
    return sim, ledger, fba


def test_hostile_orders_never_reach_the_simulator(sim_shop):
    """On the simulator over HTTP, batch after batch: its checks would turn a hostile order
    bridge let through into a refusal (amazon_rejected), which this test also rules out."""
    sim, ledger, fba = sim_shop
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5))
    cart, shop = ListCart(), storefront("hostile-sim")
    sim.admin.set_stock({sku: 10_000 for sku in SKUS})
    runs = {"n": 0}

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(batch=batches())
    def run(batch):
        runs["n"] += 1
        good, bad = place_batch(cart, clock, batch, f"S{runs['n']}x")
        ingest_orders(ledger, cart, shop, now=clock)
        submit_ready(ledger, fba, cart, shop, limit=100, now=clock)
        rows = rows_of(ledger, list(good) + list(bad))
        assert_held_and_named(rows, bad)
        assert all(rows[n].state == S.ACCEPTED for n in good), {n: rows[n].last_error for n in good}
        at_amazon = {order["sellerFulfillmentOrderId"] for order in sim.admin.orders()}
        assert {rows[n].seller_fulfillment_order_id for n in good} <= at_amazon
        assert not at_amazon & {rows[n].seller_fulfillment_order_id for n in bad}

    run()
    assert sim.admin.calls("createFulfillmentOrder") == len(sim.admin.orders())
