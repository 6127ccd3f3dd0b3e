"""The cart edge against a hostile shop on a loopback port: an answer that drips,
floods, lies about being JSON or redirects elsewhere ends in a typed error, never a
hung worker, a full memory or credentials sent to another host."""

from __future__ import annotations

import socket
import ssl
import time

import pytest
import requests
from fakes.raw_http import StandIn, reply

from bridge import net
from bridge.carts.http import CartHttp, read_json
from bridge.errors import (
    AnswerTooLarge,
    CertificateError,
    DeadlineExceeded,
    IndeterminateError,
    MalformedAnswer,
    RedirectRefused,
    RemoteUnreachable,
)

DEADLINE = 0.5


class Drip:
    """Sends an answer one byte at a time; `finished` says whether it got to the end."""

    def __init__(self, body: bytes = b'{"orders": []}' * 20, every: float = 0.05,
                 headers_too: bool = False) -> None:
        self.body, self.every, self.headers_too = body, every, headers_too
        self.finished = False

    def __call__(self, request, conn) -> None:
        head = (f"HTTP/1.1 200 OK\r\nContent-Length: {len(self.body)}\r\n"
                "Connection: close\r\n\r\n").encode()
        if not self.headers_too:
            conn.sendall(head)
            head = b""
        for index in range(len(head + self.body)):
            conn.sendall((head + self.body)[index:index + 1])
            time.sleep(self.every)
        self.finished = True


class Flood:
    """Streams `total` bytes without a length, counting what the socket took."""

    def __init__(self, total: int = 200 * 1024 * 1024, declare: bool = False) -> None:
        self.total, self.declare, self.sent = total, declare, 0

    def __call__(self, request, conn) -> None:
        length = f"Content-Length: {self.total}\r\n" if self.declare else ""
        conn.sendall(f"HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n".encode())
        block = b"[" * 65536
        while self.sent < self.total:
            conn.sendall(block)
            self.sent += len(block)


def _http(server: StandIn, **options) -> CartHttp:
    options = {"timeout": 5.0, "deadline": DEADLINE, "max_retries": 0, "sleep": lambda s: None,
               **options}
    return CartHttp(server.base_url, **options)


# -- the deadline -----------------------------------------------------------------------------

def test_a_dripping_read_ends_in_a_typed_timeout_not_a_hang():
    drip = Drip()
    with StandIn(drip) as server:
        with pytest.raises(DeadlineExceeded) as caught:
            _http(server).request("GET", "orders")
    assert "within 0.5 s" in caught.value.message
    assert not drip.finished


def test_dripping_headers_are_bound_by_the_deadline_too():
    drip = Drip(headers_too=True)
    with StandIn(drip) as server:
        with pytest.raises(DeadlineExceeded):
            _http(server).request("GET", "orders")
    assert not drip.finished


def test_a_dripping_write_is_indeterminate_and_sent_once():
    with StandIn(Drip()) as server:
        with pytest.raises(IndeterminateError) as caught:
            _http(server, max_retries=3).request("POST", "orders/1/notes", json={"note": "x"})
        assert len(server.requests) == 1
    assert "within 0.5 s" in caught.value.message


def test_a_read_past_its_deadline_is_tried_again():
    answers = iter([Drip(), lambda request, conn: reply(conn, body=b'{"ok": true}')])
    with StandIn(lambda request, conn: next(answers)(request, conn)) as server:
        response = _http(server, max_retries=1).request("GET", "orders")
    assert response.json() == {"ok": True}


class ServerClock:
    """The injected clock: it moves only when the stand-in says time passed."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_streamed_read_checks_the_deadline_on_the_injected_clock():
    clock = ServerClock()

    def slow_but_steady(request, conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for _ in range(400):  # each block "takes" a second
            clock.now += 1.0
            conn.sendall(b" " * 65536)

    with StandIn(slow_but_steady) as server:
        with pytest.raises(DeadlineExceeded):
            _http(server, deadline=30.0, clock=clock).request("GET", "orders")


# -- the size cap -------------------------------------------------------------------------------

def test_a_flood_is_cut_at_the_cap_without_reading_it_all():
    flood = Flood()
    cap = 256 * 1024
    with StandIn(flood) as server:
        with pytest.raises(AnswerTooLarge) as caught:
            _http(server, deadline=10.0, max_body=cap).request("GET", "products")
    assert cap < caught.value.bytes_read <= cap + net.CHUNK
    assert flood.sent < flood.total


def test_a_declared_length_over_the_cap_is_refused_before_reading():
    with StandIn(Flood(total=50 * 1024 * 1024, declare=True)) as server:
        with pytest.raises(AnswerTooLarge) as caught:
            _http(server, deadline=10.0, max_body=1024 * 1024).request("GET", "products")
    assert caught.value.bytes_read == 0
    assert "declares 52428800 bytes" in caught.value.message


def test_a_write_whose_answer_is_over_the_cap_is_indeterminate():
    with StandIn(Flood(total=4 * 1024 * 1024)) as server:
        with pytest.raises(IndeterminateError):
            _http(server, deadline=10.0, max_body=64 * 1024).request("PUT", "stock", json={})


def test_the_default_cap_is_ten_megabytes():
    assert net.DEFAULT_MAX_BODY == 10 * 1024 * 1024
    assert CartHttp("https://shop.example").max_body == net.DEFAULT_MAX_BODY


# -- answers that are not JSON ----------------------------------------------------------------

@pytest.mark.parametrize("body, reason", [
    (b"<!DOCTYPE html><html><title>Login</title></html>", "HTML"),
    (b'{"orders": [{"id": 1', "cut short"),
    (b"orders=1", "not JSON"),
])
def test_a_2xx_that_is_not_json_is_a_typed_transient_error(body, reason):
    with StandIn(lambda request, conn: reply(conn, body=body)) as server:
        http = _http(server)
        response = http.request("GET", "orders")
        with pytest.raises(MalformedAnswer) as caught:
            http.read_json(response)
    assert reason in caught.value.message
    assert "GET /orders answered HTTP 200" in caught.value.message


def test_an_empty_answer_reads_as_none():
    with StandIn(lambda request, conn: reply(conn, status=204, body=b"")) as server:
        assert read_json(_http(server).request("DELETE", "orders/1")) is None


# -- redirects ------------------------------------------------------------------------------------

def test_a_redirect_to_another_host_is_refused_and_nothing_reaches_it():
    with StandIn(lambda request, conn: reply(conn)) as elsewhere:
        target = elsewhere.base_url.replace("127.0.0.1", "localhost") + "/collect"
        moved = StandIn(lambda request, conn: reply(conn, 301, b"", {"Location": target}))
        with moved as server:
            http = _http(server)
            http.auth_headers = lambda: {"X-Shop-Token": "secret-token"}
            with pytest.raises(RedirectRefused) as caught:
                http.request("GET", "orders")
        assert elsewhere.requests == []
    assert caught.value.target_host == "localhost"
    assert "localhost" in caught.value.message and "cart.url" in caught.value.message


def test_a_read_follows_a_redirect_on_the_same_host():
    def handler(request, conn):
        if request["path"].startswith("/old"):
            reply(conn, 302, b"", {"Location": "/new?page=2"})
        else:
            reply(conn, body=b'{"page": 2}')

    with StandIn(handler) as server:
        response = _http(server).request("GET", "old", params={"page": 1})
        assert response.json() == {"page": 2}
        assert [r["path"] for r in server.requests] == ["/old?page=1", "/new?page=2"]


def test_a_write_is_never_redirected():
    with StandIn(lambda request, conn: reply(conn, 307, b"", {"Location": "/elsewhere"})) as server:
        with pytest.raises(RedirectRefused):
            _http(server).request("POST", "orders/1/notes", json={"note": "x"})
        assert len(server.requests) == 1


# -- reachability and certificates, in words ---------------------------------------------------

def test_a_refused_connection_says_so_and_what_to_check():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    http = CartHttp(f"http://127.0.0.1:{port}", max_retries=0, sleep=lambda s: None)
    with pytest.raises(RemoteUnreachable) as caught:
        http.request("GET", "orders")
    assert "127.0.0.1" in caught.value.message
    assert "refused" in caught.value.message and "cart.url" in caught.value.message


def _verify_failure(code: int, message: str) -> requests.exceptions.SSLError:
    cause = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    cause.verify_code, cause.verify_message = code, message
    return requests.exceptions.SSLError(cause)


@pytest.mark.parametrize("code, words, todo", [
    (18, "self-signed", "set cart.ca_bundle"),
    (19, "private (self-signed) CA", "set cart.ca_bundle"),
    (20, "CA this machine does not trust", "set cart.ca_bundle"),
    (10, "expired", "renew"),
    (62, "another host name", "cart.url"),
])
def test_certificate_failures_are_named_in_words_with_what_to_do(code, words, todo):
    from bridge.carts.http import ADVICE

    error = _verify_failure(code, "whatever OpenSSL said")
    failure = net.unreachable(error, "https://shop.example:8443/wp-json", ADVICE)

    assert isinstance(failure, CertificateError)
    assert failure.host == "shop.example"
    assert "shop.example" in failure.message and words in failure.message and todo in failure.message
    assert net.nothing_sent(error)  # the handshake failed: the request never left


def test_tls_settings_reach_requests():
    assert CartHttp("https://shop.example").verify is True
    assert CartHttp("https://shop.example", ca_bundle="/etc/shop-ca.pem").verify == "/etc/shop-ca.pem"
    assert CartHttp("https://shop.example", verify=False, ca_bundle="/x.pem").verify is False
