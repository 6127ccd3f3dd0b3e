"""The submit side neither ships an order the shop has just cancelled nor retries a
failing submission silently for ever: a batch polls the shop first when the last order
poll is old, and a submission failing past its retry budget is flagged stalled (the
ledger, the log, a note in the shop, `bridge status`) while retries go on."""

from __future__ import annotations

from datetime import datetime, timedelta

from click.testing import CliRunner
from support import both_ledgers, with_fulfillment

from bridge import demo_store
from bridge.cli import main
from bridge.config import BridgeSettings
from bridge.demo_store import DemoLine
from bridge.domain.states import OrderState as S
from bridge.fba.client import FbaClient
from bridge.fba.ratelimit import NoLimiter
from bridge.ledger import repo
from bridge.ledger.tables import utcnow
from bridge.services import ingest
from bridge.services.cancel import process_cancellations
from bridge.services.ingest import ingest_orders
from bridge.services.orders import storefront_status
from bridge.services.submit import submit_ready

SETTINGS = BridgeSettings(recheck_seconds=15, stall_after_seconds=3600, stall_after_attempts=20)
STALLED_NOTE = "has not been able to send this order to Amazon since"


class Clock:
    """bridge's clock, moved by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class CountingCart:
    """The real adapter, counting the order polls made through it (first pages)."""

    def __init__(self, inner) -> None:
        self.inner, self.polls = inner, 0
        self.capabilities = inner.capabilities

    def fetch_orders(self, since, until, page, limit):
        if page is None:
            self.polls += 1
        return self.inner.fetch_orders(since, until, page, limit)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def ready_orders(shop, *numbers: str) -> list[str]:
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    ids = [demo_store.insert_order(shop.store_url, number, [DemoLine("MUG-BLUE", 1)])
           for number in numbers]
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert set(shop.states().values()) == {S.READY}
    return ids


def submit(shop, *, fba=None, cart=None, settings=SETTINGS, now=utcnow, storefront=None):
    return submit_ready(shop.ledger, fba or shop.fba, cart or shop.cart,
                        storefront or shop.storefront, 10, settings=settings, now=now)


def poll_started(shop) -> datetime:
    with shop.ledger.transaction() as session:
        return repo.get_cursor(session, shop.storefront.name, ingest.FLOW).last_run_at


def past_the_bound() -> Clock:
    return Clock(utcnow() + timedelta(seconds=SETTINGS.recheck_seconds + 5))


# -- the poll before the creates ------------------------------------------------------------------

@both_ledgers
def test_an_order_cancelled_since_the_last_poll_is_not_sent(shop):
    cancelled, kept = ready_orders(shop, "#K1", "#K2")
    demo_store.cancel_order(shop.store_url, cancelled)
    cart = CountingCart(shop.cart)

    result = submit(shop, cart=cart, now=past_the_bound())

    assert shop.sim.admin.calls("createFulfillmentOrder") == 1
    assert shop.states() == {"#K1": S.CANCELLED, "#K2": S.ACCEPTED}
    assert (result.cancelled, result.accepted) == (1, 1)
    assert cart.polls == 1, "one poll for the batch, not one per order"
    assert list(shop.sim_orders()) == [shop.row("#K2").seller_fulfillment_order_id]


def test_with_a_fresh_poll_no_extra_poll_is_made(shop):
    cancelled, _ = ready_orders(shop, "#F1", "#F2")
    last_poll = poll_started(shop)
    cart = CountingCart(shop.cart)
    demo_store.cancel_order(shop.store_url, cancelled)  # too recent for the bound to see

    result = submit(shop, cart=cart)

    assert cart.polls == 0
    assert poll_started(shop) == last_poll
    assert result.accepted == 2


def test_nothing_waiting_means_no_poll(shop):
    ready_orders(shop, "#N1")
    submit(shop)
    cart = CountingCart(shop.cart)

    submit(shop, cart=cart, now=past_the_bound())

    assert cart.polls == 0


def test_a_poll_already_running_lets_the_batch_go_on_and_the_cancel_follows(shop):
    (order_id,) = ready_orders(shop, "#P1")
    demo_store.cancel_order(shop.store_url, order_id)
    cart = CountingCart(shop.cart)

    with repo.lease(shop.ledger, f"{shop.storefront.name}:{ingest.FLOW}") as held:
        assert held
        result = submit(shop, cart=cart, now=past_the_bound())

    assert cart.polls == 0 and result.accepted == 1
    # Sent after all: the next poll records the cancel and it is cancelled at Amazon.
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert shop.states() == {"#P1": S.CANCEL_REQUESTED}
    assert process_cancellations(shop.ledger, shop.fba, shop.cart, shop.storefront).cancelled == 1
    assert shop.states() == {"#P1": S.CANCELLED}
    sfo_id = shop.row("#P1").seller_fulfillment_order_id
    assert shop.sim_orders()[sfo_id]["status"] == "Cancelled"


# -- the retry budget -----------------------------------------------------------------------------

def stalled_notes(shop, order_id: str) -> list[str]:
    return [note for note in shop.notes_by_order().get(order_id, []) if STALLED_NOTE in note]


@both_ledgers
def test_a_create_that_keeps_failing_is_flagged_stalled_then_cleared_when_it_goes_through(
        shop, tmp_path):
    (order_id,) = ready_orders(shop, "#S1")
    shop.sim.admin.add_fault("createFulfillmentOrder", status=503)
    clock = Clock()

    assert submit(shop, now=clock).unknown == 1
    first = shop.row("#S1")
    assert first.first_failed_at == clock.now and first.stalled_since is None
    clock.advance(1800)
    submit(shop, now=clock)
    assert shop.row("#S1").stalled_since is None, "within the budget"

    clock.advance(1801)
    assert submit(shop, now=clock).unknown == 1

    row = shop.row("#S1")
    assert row.state == S.SUBMIT_UNKNOWN
    assert row.stalled_since == clock.now
    assert "503" in row.stalled_reason
    assert "stalled" in [event.kind for event in shop.events("#S1")]
    (note,) = stalled_notes(shop, order_id)
    assert "it keeps trying" in note and first.first_failed_at.strftime("%Y-%m-%d %H:%M") in note
    (listed,) = storefront_status(shop.ledger, shop.storefront.name).stalled
    assert listed["number"] == "#S1" and "503" in listed["reason"]
    assert listed["since"] == clock.now and listed["failing_since"] == first.first_failed_at
    shown = CliRunner().invoke(main, ["-c", str(tmp_path / "config"), "status"],
                               catch_exceptions=False, terminal_width=200)
    assert shown.exit_code == 0
    assert "stalled (still retrying)" in shown.output and "#S1" in shown.output

    # Retries go on, and the shop is told once.
    clock.advance(60)
    submit(shop, now=clock)
    assert len(stalled_notes(shop, order_id)) == 1

    shop.sim.admin.clear_faults()
    clock.advance(60)
    assert submit(shop, now=clock).accepted == 1

    row = shop.row("#S1")
    assert row.state == S.ACCEPTED
    assert (row.stalled_since, row.stalled_reason, row.first_failed_at) == (None, None, None)
    assert "stall_cleared" in [event.kind for event in shop.events("#S1")]
    assert storefront_status(shop.ledger, shop.storefront.name).stalled == []
    assert list(shop.sim_orders()) == [row.seller_fulfillment_order_id]


def test_throttled_past_the_attempt_budget_is_stalled_and_cleared_by_a_cancel(shop):
    (order_id,) = ready_orders(shop, "#T1")
    settings = SETTINGS.model_copy(update={"stall_after_attempts": 2})
    impatient = with_fulfillment(shop.storefront, max_retries=0)
    shop.sim.admin.add_fault("createFulfillmentOrder", status=429)

    with FbaClient.from_account(impatient.fulfillment, impatient.secret, NoLimiter()) as fba:
        for attempt in (1, 2, 3):
            result = submit(shop, fba=fba, settings=settings, storefront=impatient)
            assert result.deferred == 1
            assert (shop.row("#T1").stalled_since is not None) == (attempt == 3)

    row = shop.row("#T1")
    assert row.state == S.READY, "nothing was sent: no read-back needed"
    assert row.attempts == 3 and "throttled" in row.stalled_reason
    assert len(stalled_notes(shop, order_id)) == 1

    demo_store.cancel_order(shop.store_url, order_id)
    submit(shop, now=past_the_bound())

    row = shop.row("#T1")
    assert row.state == S.CANCELLED
    assert (row.stalled_since, row.stalled_reason, row.first_failed_at) == (None, None, None)
    assert "stall_cleared" in [event.kind for event in shop.events("#T1")]
    assert storefront_status(shop.ledger, shop.storefront.name).stalled == []


def test_orders_left_waiting_behind_a_throttled_one_keep_their_attempts(shop):
    ready_orders(shop, "#W1", "#W2")
    impatient = with_fulfillment(shop.storefront, max_retries=0)
    shop.sim.admin.add_fault("createFulfillmentOrder", status=429)

    with FbaClient.from_account(impatient.fulfillment, impatient.secret, NoLimiter()) as fba:
        assert submit(shop, fba=fba, storefront=impatient).deferred == 2

    first, second = shop.rows()
    assert (first.attempts, second.attempts) == (1, 0)
    assert first.first_failed_at is not None and second.first_failed_at is None
