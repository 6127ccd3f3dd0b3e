"""Mechanics every HTTP edge (SP-API, LWA, carts) shares:

- one deadline for a whole call (connect, send, every byte of the answer), enforced by a
  watchdog that shuts the socket down when it passes, so no drip can hold a worker;
- the answer read streamed and capped, never whole before its size is known;
- strict JSON parsing with the reason in words;
- redirects inspected, never followed blindly (credentials stay with the host they are for);
- transport failures (TLS, refused, DNS) described in words, with what to do.

The edges decide what an outcome means for their protocol (read or write, retry or not)."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from bridge.errors import (
    AnswerTooLarge,
    CertificateError,
    DeadlineExceeded,
    MalformedAnswer,
    RedirectRefused,
    RemoteUnreachable,
)

# Far above any answer bridge expects (an inventory page is ~100 KB), far below harm.
DEFAULT_MAX_BODY = 10 * 1024 * 1024
CHUNK = 64 * 1024
# A connection that takes longer than this to open is not going to be useful.
MAX_CONNECT_SECONDS = 10.0
REDIRECTS = (301, 302, 303, 307, 308)


def nothing_sent(exc: BaseException) -> bool:
    """True when the connection was never made, so the request cannot have reached the
    remote: retrying it can never act twice."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    # A certificate is verified during the handshake, before any byte of the request.
    if _find(exc, ssl.SSLCertVerificationError) is not None:
        return True
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, urllib3.exceptions.MaxRetryError):
        inner = inner.reason
    # NewConnectionError (refused, unreachable, DNS) is a kind of ConnectTimeoutError.
    return isinstance(inner, urllib3.exceptions.ConnectTimeoutError)


# -- the deadline ---------------------------------------------------------------------------

class Deadline:
    """The moment a call must be finished by, on an injectable monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def left(self) -> float:
        return max(0.0, self._ends - self._clock())

    def expired(self) -> bool:
        return self._clock() >= self._ends

    def timeouts(self) -> tuple[float, float]:
        """(connect, read) for requests: never beyond what is left of the deadline."""
        left = max(self.left(), 0.001)
        return min(MAX_CONNECT_SECONDS, left), left


class _Watch:
    """Shuts down every socket of the current call once the deadline passes: a socket
    timeout bounds each read, not the sum of a thousand slow ones."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watch:
        _current.watch = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        _current.watch = None

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if not self.fired:
                self._sockets.append(sock)
                return
        _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)


_current = threading.local()


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown: it wakes a blocked read in another thread, and unlike
    # SSLSocket.shutdown it leaves the TLS object to the thread that is using it.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _watch_socket(sock: socket.socket | None) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(sock)


class _Watched:
    """Tells the current call's watch about the socket as soon as there is one."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _watch_socket(self.sock)  # type: ignore[attr-defined]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_socket(self.sock)  # type: ignore[attr-defined]  # a kept-alive connection
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        _watch_socket(self.sock)  # type: ignore[attr-defined]
        return super().getresponse()  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections report their sockets to the call's watch."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any):
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def watch_session(session: requests.Session) -> requests.Session:
    """Mount the watched adapter for http and https, unless the session's owner mounted
    an adapter of their own."""
    for prefix in ("https://", "http://"):
        if type(session.adapters.get(prefix)) is HTTPAdapter:
            session.mount(prefix, WatchedAdapter())
    return session


# -- one call ---------------------------------------------------------------------------------

def send(session: requests.Session, method: str, url: str, *, deadline: Deadline,
         max_body: int = DEFAULT_MAX_BODY, **kwargs: Any) -> requests.Response:
    """Send one request and read its whole answer within `deadline` and `max_body`.
    Redirects are returned, not followed. The response comes back read: `.content`,
    `.text` and `.json()` work as usual.

    Raises DeadlineExceeded, AnswerTooLarge, or the requests exception of a transport
    failure (a connect timeout stays one: nothing was sent)."""
    host = host_of(url)
    if deadline.expired():
        raise DeadlineExceeded(f"no time left to call {host} ({_seconds(deadline)} deadline)")
    with _Watch(deadline.left()) as watch:
        try:
            response = session.request(method, url, stream=True, allow_redirects=False,
                                        timeout=deadline.timeouts(), **kwargs)
            read_body(response, deadline, max_body)
        except requests.RequestException as exc:
            if (watch.fired or deadline.expired()) and not nothing_sent(exc):
                raise _late(host, deadline) from None
            raise
    if watch.fired:  # the shutdown may read as a clean end of a body without a length
        response.close()
        raise _late(host, deadline)
    return response


def read_body(response: requests.Response, deadline: Deadline, max_body: int) -> bytes:
    """Read a streamed answer into `response` in chunks, checking the cap and the
    deadline after each; a declared length over the cap is refused unread."""
    declared = _declared_length(response)
    if declared is not None and declared > max_body:
        response.close()
        raise _too_large(response, max_body, 0, f"declares {declared} bytes")
    body = bytearray()
    try:
        # Never ask for more than one byte past the cap: that byte proves it is over.
        for chunk in _chunks(response, lambda: min(CHUNK, max_body + 1 - len(body))):
            body.extend(chunk)  # in place: the size callback reads this same buffer
            if len(body) > max_body:
                raise _too_large(response, max_body, len(body), "goes on")
            if deadline.expired():
                raise _late(host_of(response.url or ""), deadline)
    except BaseException:
        response.close()  # the rest of the answer is not wanted: do not reuse the connection
        raise
    response._content = bytes(body)
    response._content_consumed = True  # type: ignore[attr-defined]  # requests' private flag, absent from its stubs
    return response._content


def _chunks(response: requests.Response, size: Callable[[], int]) -> Iterator[bytes]:
    """Decoded chunks of at most `size()` bytes each, with the transport's errors
    mapped to requests' exceptions as `Response.iter_content` maps them."""
    try:
        while True:
            chunk = response.raw.read(size(), decode_content=True)
            if not chunk:
                return
            yield chunk
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from None
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from None
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from None
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from None


def _declared_length(response: requests.Response) -> int | None:
    try:
        return int(response.headers.get("content-length", ""))
    except ValueError:
        return None


def _too_large(response: requests.Response, limit: int, read: int, how: str) -> AnswerTooLarge:
    return AnswerTooLarge(
        f"the answer of {host_of(response.url or '')} (HTTP {response.status_code}) {how} "
        f"past the {limit}-byte limit; it was not read",
        None, limit, read,
    )


def _late(host: str, deadline: Deadline) -> DeadlineExceeded:
    return DeadlineExceeded(
        f"{host or 'the remote'} did not finish answering within {_seconds(deadline)} "
        "(connect, send and the whole answer)"
    )


def _seconds(deadline: Deadline) -> str:
    return f"{deadline.seconds:g} s"


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.hostname or url


# -- answers ---------------------------------------------------------------------------------

def parse_json(body: bytes, what: str) -> Any:
    """The body as JSON, or a MalformedAnswer: "<what> <why it is not JSON>"."""
    if not body.strip():
        raise MalformedAnswer(f"{what} with an empty body, not JSON")
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise MalformedAnswer(f"{what} with a body that is not text") from None
    except json.JSONDecodeError as exc:
        raise MalformedAnswer(f"{what} {_not_json(body, exc)}") from None


def _not_json(body: bytes, exc: json.JSONDecodeError) -> str:
    head = body.lstrip()[:15].lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return "with an HTML or XML page, not JSON"
    if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string"):
        return f"with JSON cut short after {len(body)} bytes"
    return f"with a body that is not JSON ({exc.msg} at byte {exc.pos})"


def redirect_target(response: requests.Response) -> str | None:
    """The absolute URL a redirect points to, or None if this is no redirect."""
    if response.status_code not in REDIRECTS:
        return None
    location = response.headers.get("location")
    return urljoin(response.url, location) if location else None


def same_host(url: str, target: str) -> bool:
    """Same host and port, and never from https down to http."""
    a, b = urlsplit(url), urlsplit(target)
    if a.hostname != b.hostname or (a.scheme, b.scheme) == ("https", "http"):
        return False
    return _port(a) == _port(b) or (a.scheme, b.scheme) == ("http", "https")


def _port(parts) -> int | None:
    return parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def refused_redirect(response: requests.Response, target: str, advice: str) -> RedirectRefused:
    host = host_of(target)
    return RedirectRefused(
        f"{host_of(response.url)} redirects (HTTP {response.status_code}) to {host}; bridge "
        f"does not follow it, so credentials are not sent there: {advice}",
        None, host,
    )


# -- transport failures ------------------------------------------------------------------------

# OpenSSL's verification codes, as the words and the default advice.
_CERT_REASONS = {
    18: ("untrusted", "the certificate is self-signed"),
    19: ("untrusted", "the certificate chain ends in a private (self-signed) CA"),
    20: ("untrusted", "the certificate is issued by a CA this machine does not trust"),
    21: ("chain", "the server does not send the intermediate certificates of its chain"),
    10: ("expired", "the certificate has expired"),
    9: ("expired", "the certificate is not valid yet"),
    62: ("hostname", "the certificate is for another host name"),
    64: ("hostname", "the certificate is for another host name or address"),
}

DEFAULT_ADVICE = {
    "untrusted": "give bridge the CA certificate that signed it",
    "chain": "the server must send its full certificate chain",
    "expired": "the certificate must be renewed (or this machine's clock is wrong)",
    "hostname": "use the host name the certificate names",
    "tls": "check that the URL is https on a port that speaks TLS",
    "refused": "check the URL's host and port, and that the server is running",
    "dns": "check the host name in the URL",
    "unreachable": "check the network and any proxy between bridge and the host",
}


def unreachable(exc: BaseException, url: str, advice: dict[str, str] | None = None) -> RemoteUnreachable:
    """A transport failure as a typed error naming the host, the reason in words and
    what to do. Certificate problems become CertificateError."""
    host = host_of(url)
    kind, words = describe(exc)
    todo = {**DEFAULT_ADVICE, **(advice or {})}.get(kind, DEFAULT_ADVICE["unreachable"])
    if kind in ("untrusted", "chain", "expired", "hostname"):
        return CertificateError(
            f"cannot trust {host}: TLS certificate verification failed: {words}; {todo}",
            None, host, words,
        )
    return RemoteUnreachable(f"cannot reach {host}: {words}; {todo}", None, host, words)


def describe(exc: BaseException) -> tuple[str, str]:
    """(kind, the reason in words) of a transport failure."""
    cert = _find(exc, ssl.SSLCertVerificationError)
    if cert is not None:
        kind, words = _CERT_REASONS.get(cert.verify_code, ("untrusted", ""))
        return kind, words or (cert.verify_message or str(cert))
    tls = _find(exc, ssl.SSLError) or _find(exc, urllib3.exceptions.SSLError)
    if tls is not None:
        return "tls", f"the TLS handshake failed ({_first_line(tls)})"
    if _find(exc, urllib3.exceptions.NameResolutionError) or _find(exc, socket.gaierror):
        return "dns", "the host name does not resolve"
    if _find(exc, ConnectionRefusedError):
        return "refused", "the connection was refused (nothing listens on that port)"
    if isinstance(exc, requests.ConnectTimeout):
        return "unreachable", "no connection within the timeout"
    if isinstance(exc, requests.Timeout):
        return "timeout", "no answer within the timeout"
    if _find(exc, ConnectionResetError):
        return "reset", "the connection was reset"
    opening = _find(exc, urllib3.exceptions.NewConnectionError)
    if opening is not None:
        return "unreachable", f"no connection ({_first_line(opening.__cause__ or opening)})"
    return "unreachable", f"the connection failed ({type(exc).__name__})"


def _find(exc: BaseException, kind: type) -> Any:
    """The first exception of `kind` in exc's chain (arguments, reasons, causes)."""
    for candidate in _chain(exc):
        if isinstance(candidate, kind):
            return candidate
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [getattr(current, "reason", None), current.__cause__, current.__context__,
                  *current.args]
        todo.extend(item for item in nested if isinstance(item, BaseException))


def _first_line(exc: BaseException | None) -> str:
    text = str(exc or "").strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and loopback addresses: the only hosts plain http may reach
    when credentials travel (a local simulator or a shop on this machine)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
