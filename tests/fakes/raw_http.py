"""A loopback HTTP(S) server for hostile-remote tests: each request goes to a handler
that writes whatever it likes to the socket (a drip, a flood, a lie, a redirect)."""

from __future__ import annotations

import socket
import ssl
import threading


class StandIn:
    """A loopback HTTP(S) server that hands each request to `handler(request, conn)`,
    which writes whatever it likes to the socket."""

    def __init__(self, handler, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.handler, self.tls = handler, tls
        self.listener = socket.create_server((host, 0))
        scheme = "https" if tls else "http"
        self.base_url = f"{scheme}://{host}:{self.listener.getsockname()[1]}"
        self.requests: list[dict] = []
        self.stopped = threading.Event()

    def __enter__(self) -> StandIn:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            with conn:
                request = read_request(conn)
                self.requests.append(request)
                self.handler(request, conn)
        except OSError:
            pass  # a refused handshake, or a client that gave up: both are the point


def read_request(conn) -> dict:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    while len(body) < int(headers.get("content-length", 0)):
        body += conn.recv(65536)
    return {"method": method, "path": path, "headers": headers, "body": body}


def reply(conn, status: int = 200, body: bytes | str = b"{}", headers: dict | None = None) -> None:
    body = body.encode() if isinstance(body, str) else body
    fields = {"Content-Type": "application/json", "Content-Length": str(len(body)),
              "Connection": "close", **(headers or {})}
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    conn.sendall(head.encode() + b"\r\n" + body)
