"""No remote call can hang, lie or flood bridge. A loopback stand-in plays a hostile
Amazon or shop: it drips, floods, answers 200 with something that is not a success,
redirects elsewhere or shows a certificate nobody trusts. Through the real services the
order never reads as accepted on such an answer: it ends `submit_unknown`, and the next
run reads it back from the simulated network before anything else."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import requests
from fakes.raw_http import StandIn, reply
from support import with_fulfillment

from bridge import demo_store, net
from bridge.carts.http import CartHttp
from bridge.config import load_config
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.domain.states import OrderState as S
from bridge.errors import AnswerTooLarge, CertificateError, ConfigError, IndeterminateError, RedirectRefused
from bridge.fba.auth import LwaAuth
from bridge.fba.client import FbaClient
from bridge.fba.ratelimit import NoLimiter
from bridge.services.ingest import ingest_orders
from bridge.services.submit import submit_ready

CREATE_PATH = "/fba/outbound/2020-07-01/fulfillmentOrders"
TOKEN = json.dumps({"access_token": "Atza|stand-in", "token_type": "bearer", "expires_in": 3600})


# -- the stand-in -------------------------------------------------------------------------------

def drip(conn, body: bytes = b"{}" + b" " * 200, every: float = 0.05) -> None:
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    for index in range(len(body)):
        conn.sendall(body[index:index + 1])
        time.sleep(every)


class Flood:
    def __init__(self, total: int) -> None:
        self.total, self.sent = total, 0

    def __call__(self, conn) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        while self.sent < self.total:
            conn.sendall(b" " * 65536)
            self.sent += 65536


class FakeAmazon:
    """Grants tokens, and answers createFulfillmentOrder with `create(conn)`."""

    def __init__(self, create) -> None:
        self.create = create

    def __call__(self, request, conn) -> None:
        if request["path"] == "/auth/o2/token":
            reply(conn, body=TOKEN)
        elif request["method"] == "POST" and request["path"] == CREATE_PATH:
            self.create(conn)
        else:
            reply(conn, 404, json.dumps({"errors": [{"code": "NotFound", "message": "no"}]}))


HOSTILE_CREATES = {
    "html": (lambda conn: reply(conn, body="<html><body>Gateway maintenance</body></html>",
                                headers={"Content-Type": "text/html"}), "HTML"),
    "truncated": (lambda conn: reply(conn, body='{"payload": {"sellerFulfillmentOr'), "cut short"),
    "errors": (lambda conn: reply(conn, body=json.dumps(
        {"errors": [{"code": "InternalFailure", "message": "try later"}]})), "InternalFailure"),
    "list": (lambda conn: reply(conn, body="[]"), "JSON list"),
    "drip": (drip, "did not finish answering within 1 s"),
    "flood": (Flood(60 * 1024 * 1024), "byte limit"),
}


# -- helpers ---------------------------------------------------------------------------------------

def _one_ready_order(shop, number: str = "#H1") -> None:
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    demo_store.insert_order(shop.store_url, number, [DemoLine("MUG-BLUE", 1)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert shop.states() == {number: S.READY}


def _client_for(storefront, url: str, timeout: float) -> FbaClient:
    account = with_fulfillment(storefront, endpoint=url, timeout_seconds=timeout).fulfillment
    return FbaClient.from_account(account, storefront.secret, NoLimiter())


# -- through the services: never `accepted` on an answer that is not one -------------------------

@pytest.mark.parametrize("kind", sorted(HOSTILE_CREATES))
def test_an_answer_that_is_not_a_success_leaves_the_order_unknown(shop, kind):
    create, reason = HOSTILE_CREATES[kind]
    _one_ready_order(shop)
    timeout = 1.0 if kind == "drip" else 10.0
    with StandIn(FakeAmazon(create)) as amazon:
        fba = _client_for(shop.storefront, amazon.base_url, timeout)
        try:
            result = submit_ready(shop.ledger, fba, shop.cart, shop.storefront, 10)
        finally:
            fba.close()
        creates = [r for r in amazon.requests if r["path"] == CREATE_PATH]

    assert (result.accepted, result.unknown) == (0, 1)
    assert len(creates) == 1
    row = shop.row("#H1")
    assert row.state == S.SUBMIT_UNKNOWN and row.accepted_at is None
    assert reason in row.last_error
    if kind == "flood":
        assert HOSTILE_CREATES["flood"][0].sent < HOSTILE_CREATES["flood"][0].total


def test_an_unknown_outcome_is_read_back_before_any_new_create(shop):
    _one_ready_order(shop)
    with StandIn(FakeAmazon(HOSTILE_CREATES["html"][0])) as amazon:
        fba = _client_for(shop.storefront, amazon.base_url, 10.0)
        submit_ready(shop.ledger, fba, shop.cart, shop.storefront, 10)
        fba.close()
    assert shop.states() == {"#H1": S.SUBMIT_UNKNOWN}

    # The real (simulated) network never saw it: read back, not found, created once.
    result = submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, 10)

    assert result.accepted == 1
    assert shop.states() == {"#H1": S.ACCEPTED}
    assert shop.creates() == 1
    assert [e.kind for e in shop.events("#H1")].count("read_back_not_found") == 1


def test_a_create_answered_with_a_flood_is_cut_at_the_cap():
    flood = Flood(40 * 1024 * 1024)
    with StandIn(FakeAmazon(flood)) as amazon:
        session = requests.Session()
        auth = LwaAuth(f"{amazon.base_url}/auth/o2/token", "client", "secret", "refresh", session, 5.0)
        with FbaClient(amazon.base_url, "ATVPDKIKX0DER", auth, NoLimiter(), "stand-in",
                       session=session, max_body=512 * 1024) as fba:
            with pytest.raises(IndeterminateError, match="524288-byte limit"):
                fba.post_fulfillment_order({"sellerFulfillmentOrderId": "DEMO-1"})
    assert flood.sent < flood.total


def test_a_flooded_read_stops_at_the_cap_and_says_how_much_it_read():
    flood = Flood(40 * 1024 * 1024)
    cap = 256 * 1024
    with StandIn(lambda request, conn: flood(conn)) as shop_server:
        http = CartHttp(shop_server.base_url, max_body=cap, max_retries=0)
        with pytest.raises(AnswerTooLarge) as caught:
            http.request("GET", "orders")
    assert caught.value.bytes_read < cap + net.CHUNK
    assert flood.sent < flood.total


def test_a_redirect_to_another_host_is_refused_with_the_host_named(shop):
    elsewhere = "https://collector.example.net/fulfillmentOrders"
    redirect = StandIn(FakeAmazon(lambda conn: reply(conn, 307, b"", {"Location": elsewhere})))
    _one_ready_order(shop)
    with redirect as amazon:
        fba = _client_for(shop.storefront, amazon.base_url, 5.0)
        with pytest.raises(RedirectRefused) as caught:
            fba.post_fulfillment_order({"sellerFulfillmentOrderId": "DEMO-1"})
        fba.close()
    assert caught.value.target_host == "collector.example.net"
    assert "collector.example.net" in str(caught.value)


# -- TLS: a certificate nobody trusts, in words; trusted with ca_bundle --------------------------

def _certificate(folder: Path, name: str, san: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
         "-addext", f"subjectAltName={san}"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("tls")
    return {
        "shop": _certificate(folder, "shop", "DNS:localhost,IP:127.0.0.1"),
        "other": _certificate(folder, "other", "DNS:other.example"),
    }


def _tls(pair: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*pair)
    return context


def _ok(request, conn) -> None:
    reply(conn, body='{"orders": []}')


def test_a_self_signed_shop_is_refused_with_the_reason_and_what_to_set(certificates):
    with StandIn(_ok, tls=_tls(certificates["shop"])) as shop_server:
        with pytest.raises(CertificateError) as caught:
            CartHttp(shop_server.base_url, max_retries=3).request("GET", "orders")
        assert shop_server.requests == []  # the handshake failed: nothing was sent
    message = str(caught.value)
    assert "127.0.0.1" in message and "self-signed" in message
    assert "set cart.ca_bundle to the shop's CA certificate file" in message


def test_the_shops_ca_bundle_makes_it_work(certificates):
    cert, _ = certificates["shop"]
    with StandIn(_ok, tls=_tls(certificates["shop"])) as shop_server:
        http = CartHttp(shop_server.base_url, ca_bundle=str(cert), max_retries=0)
        assert http.read_json(http.request("GET", "orders")) == {"orders": []}


def test_verification_can_be_turned_off(certificates):
    with StandIn(_ok, tls=_tls(certificates["shop"])) as shop_server:
        http = CartHttp(shop_server.base_url, verify=False, max_retries=0)
        with pytest.warns(Warning):
            assert http.request("GET", "orders").status_code == 200


def test_a_certificate_for_another_name_says_so(certificates):
    cert, _ = certificates["other"]
    with StandIn(_ok, tls=_tls(certificates["other"])) as shop_server:
        with pytest.raises(CertificateError) as caught:
            CartHttp(shop_server.base_url, ca_bundle=str(cert), max_retries=0).request("GET", "x")
    assert "another host name" in str(caught.value) and "cart.url" in str(caught.value)


def test_an_untrusted_amazon_endpoint_sends_nothing_and_the_order_waits(shop, certificates):
    _one_ready_order(shop)
    with StandIn(FakeAmazon(lambda conn: reply(conn)), tls=_tls(certificates["shop"])) as amazon:
        fba = _client_for(shop.storefront, amazon.base_url, 5.0)
        result = submit_ready(shop.ledger, fba, shop.cart, shop.storefront, 10)
        with pytest.raises(CertificateError, match="self-signed") as caught:
            fba.post_fulfillment_order({})
        fba.close()
        assert amazon.requests == []
    assert result.deferred == 1
    assert shop.states() == {"#H1": S.READY}  # nothing was sent: no read-back needed
    assert "127.0.0.1" in str(caught.value) and "fulfillment.token_url" in str(caught.value)


# -- Amazon endpoints must be https ------------------------------------------------------------------

def test_an_http_endpoint_to_another_machine_is_refused(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, "http://example.com"))
    assert "endpoint" in str(caught.value) and "https://" in str(caught.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765",
                                 "https://sellingpartnerapi-eu.amazon.com"])
def test_https_or_a_local_simulator_is_accepted(tmp_path, url):
    storefront = load_config(write_config(tmp_path, url)).storefront("demo")
    assert storefront.fulfillment.base_url == url
