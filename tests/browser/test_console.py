"""The web console in headless Chromium against a real `bridge serve`, on a ledger the
real daemon fills from the SQL demo store and the simulator: a rule holds the mug
orders, orders for SKUs Amazon has no record of need attention, and a plain order goes
through to shipped. Every page is opened and photographed; a held order is approved
and a needs-attention order retried through their buttons; a POST without the CSRF
token is refused."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_support import element_after_navigation, screenshot, serve_console
from processes import Daemons, wait_for
from selenium.webdriver.common.by import By
from sqlalchemy import select

from bridge import demo_store
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Event, Order, StockLevel
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

AMAZON = {"MUG-BLUE": 10, "TEE-M": 10}
THROUGH_TO_SHIPPED = 30 + 60 + 120 + 1
RULES = """
[[rules]]
name = "mugs-need-a-look"
action = "hold"
skus = ["MUG-BLUE"]
"""


@dataclass
class Site:
    base: str
    ledger: Ledger
    sim: SimServer
    daemons: Daemons
    ids: dict[str, int]  # order number → ledger id

    def state(self, number: str) -> str:
        with self.ledger.transaction() as session:
            return session.scalar(select(Order.state).where(Order.id == self.ids[number])) or ""

    def events(self, number: str) -> list[tuple[str, str]]:
        with self.ledger.transaction() as session:
            return [(e.kind, e.message) for e in session.scalars(
                select(Event).where(Event.order_id == self.ids[number]).order_by(Event.id))]

    def seller_skus(self) -> set[str]:
        with self.ledger.transaction() as session:
            return set(session.scalars(select(StockLevel.seller_sku)))


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("console")
    ledger_url = f"sqlite:///{work / 'ledger.db'}"
    store_url = f"sqlite:///{work / 'store.db'}"
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        sim.admin.set_stock(AMAZON)
        config_dir = write_config(work, sim.base_url, database_url=ledger_url, store_url=store_url,
                                  poll_seconds=1, stock_seconds=1)
        storefront_file = config_dir / "storefronts" / "demo.toml"
        storefront_file.write_text(storefront_file.read_text() + RULES)
        demo_store.create_schema(store_url)
        daemons = Daemons(work, config_dir)
        engine = make_engine(ledger_url)
        ledger = Ledger(engine)
        site = Site("", ledger, sim, daemons, {})
        try:
            migrated = daemons.run("db", "upgrade")
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            daemons.bridge("run", "run")
            # Unknown SKUs need attention only once Amazon's inventory has been read.
            wait_for(lambda: set(AMAZON) <= site.seller_skus(), "Amazon's stock read", 90,
                     daemons.logs)
            placed = {
                "#H1": demo_store.insert_order(store_url, "#H1", [DemoLine("MUG-BLUE", 2)]),
                "#H2": demo_store.insert_order(store_url, "#H2", [DemoLine("MUG-BLUE", 1)]),
                "#A1": demo_store.insert_order(store_url, "#A1", [DemoLine("LAMP-X", 1)]),
                "#A2": demo_store.insert_order(store_url, "#A2", [DemoLine("LAMP-Y", 1)]),
                "#N1": demo_store.insert_order(store_url, "#N1", [DemoLine("TEE-M", 1)]),
            }

            def recorded() -> bool:
                daemons.check_alive()
                with ledger.transaction() as session:
                    rows = session.execute(select(Order.cart_order_id, Order.id)).all()
                by_cart = dict(rows)
                site.ids = {number: by_cart[cart_id] for number, cart_id in placed.items()
                            if cart_id in by_cart}
                return len(site.ids) == len(placed)

            wait_for(recorded, "the five orders recorded", 90, daemons.logs)
            expected = {"#H1": "on_hold", "#H2": "on_hold", "#A1": "needs_attention",
                        "#A2": "needs_attention", "#N1": "accepted"}
            wait_for(lambda: {n: site.state(n) for n in expected} == expected,
                     f"orders in {expected}", 90,
                     lambda: f"{ {n: site.state(n) for n in expected} }\n{daemons.logs()}")
            sim.admin.advance(THROUGH_TO_SHIPPED)
            wait_for(lambda: site.state("#N1") == "complete", "#N1 shipped, tracking in the shop",
                     90, daemons.logs)
            site.base = serve_console(daemons)
            yield site
        finally:
            daemons.stop()
            engine.dispose()


def open_page(browser, site: Site, path: str) -> None:
    browser.get(site.base + path)
    assert "bridge" in browser.title, browser.page_source[:2000]


def text_of(browser, css: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, css).text


def test_every_page_shows_the_ledger(browser, site: Site, tmp_path: Path):
    open_page(browser, site, "/")
    assert browser.current_url == f"{site.base}/console/"
    card = text_of(browser, "#storefront-demo")
    assert "polling" in card and "Last order poll" in card and "never" not in card.split("Lag")[0]
    assert "on_hold 2" in card
    screenshot(browser, tmp_path, "overview")

    open_page(browser, site, "/console/orders")
    listed = text_of(browser, "#orders")
    for number in ("#H1", "#H2", "#A1", "#A2", "#N1"):
        assert number in listed
    screenshot(browser, tmp_path, "orders")

    # Search by the shop's number, then by the fulfillment order id, through the form.
    search = browser.find_element(By.NAME, "q")
    search.clear()
    search.send_keys("#N1")
    browser.find_element(By.CSS_SELECTOR, "#order-search button").click()
    element_after_navigation(browser, "#orders[data-search='#N1']")
    rows = browser.find_elements(By.CSS_SELECTOR, "#orders tbody tr")
    assert [row.text.split()[2] for row in rows] == ["#N1"]
    sfo_id = rows[0].find_elements(By.TAG_NAME, "td")[5].text
    assert sfo_id.startswith("DEMO")
    open_page(browser, site, f"/console/orders?q={sfo_id}")
    assert [row.text.split()[2] for row in browser.find_elements(By.CSS_SELECTOR, "#orders tbody tr")] \
        == ["#N1"]
    screenshot(browser, tmp_path, "orders-search")

    # Paging, two at a time: each older page follows on, and together they hold all.
    seen: list[str] = []
    page: str | None = f"{site.base}/console/orders?size=2"
    while page and len(seen) < 10:
        browser.get(page)
        seen += [row.text.split()[2] for row in browser.find_elements(By.CSS_SELECTOR, "#orders tbody tr")]
        older = browser.find_elements(By.ID, "older")
        page = older[0].get_attribute("href") if older else None
    assert sorted(seen) == ["#A1", "#A2", "#H1", "#H2", "#N1"]

    browser.find_element(By.LINK_TEXT, "Orders").click()
    browser.find_element(By.LINK_TEXT, "#N1").click()
    assert text_of(browser, "#order-state") == "complete"
    events = text_of(browser, "#events")
    assert "accepted" in events and "shipped" in events
    packages = text_of(browser, "#packages")
    assert "No package" not in packages
    screenshot(browser, tmp_path, "order")

    open_page(browser, site, "/console/attention")
    assert "#A2" in text_of(browser, "#waiting") and "unknown_sku" in text_of(browser, "#waiting")
    screenshot(browser, tmp_path, "attention")

    open_page(browser, site, "/console/held")
    assert "#H2" in text_of(browser, "#waiting") and "mugs-need-a-look" in text_of(browser, "#waiting")
    screenshot(browser, tmp_path, "held")

    open_page(browser, site, "/console/stock")
    stock = text_of(browser, "#stock-demo")
    assert "2 shop SKU(s) kept; Amazon's counts for 2 seller SKU(s), last read 20" in stock
    assert "The shop agreed with every target" in stock
    screenshot(browser, tmp_path, "stock")

    open_page(browser, site, "/console/inbound")
    assert "No inbound plan" in text_of(browser, "#plans")
    screenshot(browser, tmp_path, "inbound")

    open_page(browser, site, "/console/activity")
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 3
    # Five orders in, one accepted and shipped, drawn as bars and a latency line.
    summary = text_of(browser, "main p.quiet")
    assert "5 order(s) in, 1 accepted by Amazon, 1 shipped" in summary
    assert charts[0].find_elements(By.CSS_SELECTOR, "rect.series-0")
    assert charts[1].find_elements(By.CSS_SELECTOR, "circle")
    screenshot(browser, tmp_path, "activity")


def test_a_held_order_is_approved_through_its_button(browser, site: Site, tmp_path: Path):
    open_page(browser, site, "/console/held")
    assert "#H1" in text_of(browser, f"#order-{site.ids['#H1']}")
    browser.find_element(By.ID, f"approve-{site.ids['#H1']}").click()
    notice = element_after_navigation(browser, "#notice").text
    assert notice == "order #H1 is now ready", notice
    screenshot(browser, tmp_path, "held-after-approve")
    # The daemon goes on with it; the approval and who gave it are in the event log.
    assert site.state("#H1") in {"ready", "submitting", "accepted"}
    assert ("approved", "approved by the web console: mugs-need-a-look") in site.events("#H1")
    assert not browser.find_elements(By.ID, f"order-{site.ids['#H1']}")
    open_page(browser, site, f"/console/orders/{site.ids['#H1']}")
    assert "approved by the web console" in text_of(browser, "#events")
    wait_for(lambda: site.state("#H1") == "accepted", "#H1 accepted by Amazon", 90, site.daemons.logs)


def test_a_needs_attention_order_is_retried_through_its_button(browser, site: Site, tmp_path: Path):
    # Retried while the cause remains, it stays and the page says so.
    open_page(browser, site, "/console/attention")
    browser.find_element(By.ID, f"retry-{site.ids['#A1']}").click()
    notice = element_after_navigation(browser, "#notice")
    assert notice.text.startswith("order #A1 still needs attention (unknown_sku)"), notice.text
    assert "refused" in notice.get_attribute("class")
    # Amazon gets stock of the SKU; once bridge has read it, the retry sends the order.
    site.sim.admin.set_stock({"LAMP-X": 5})
    wait_for(lambda: "LAMP-X" in site.seller_skus(), "LAMP-X in Amazon's inventory", 90,
             site.daemons.logs)
    open_page(browser, site, "/console/attention")
    browser.find_element(By.ID, f"retry-{site.ids['#A1']}").click()
    assert element_after_navigation(browser, "#notice").text == "order #A1 is now ready"
    screenshot(browser, tmp_path, "attention-after-retry")
    assert ("retry", "retried by hand: mapping again") in site.events("#A1")
    wait_for(lambda: site.state("#A1") == "accepted", "#A1 accepted by Amazon", 90, site.daemons.logs)


def test_a_post_without_the_csrf_token_is_refused(browser, site: Site, tmp_path: Path):
    held = site.ids["#H2"]
    request = urllib.request.Request(f"{site.base}/console/orders/{held}/approve", method="POST",
                                     data=b"back=%2Fconsole%2Fheld",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403
    # The browser's own form with the token taken out: refused the same way.
    open_page(browser, site, "/console/held")
    browser.execute_script(
        "document.querySelector(arguments[0]).value = 'forged.token'",
        f"form[action='/console/orders/{held}/approve'] input[name='csrf_token']")
    browser.find_element(By.ID, f"approve-{held}").click()
    assert "CSRF" in element_after_navigation(browser, "#error").text
    screenshot(browser, tmp_path, "csrf-refused")
    assert site.state("#H2") == "on_hold"
    assert not [kind for kind, _ in site.events("#H2") if kind == "approved"]
