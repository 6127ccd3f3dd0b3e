"""Serve an ASGI app (a platform fake) with uvicorn in a background thread on a free
loopback port, so adapters talk real HTTP to it in contract and end-to-end tests."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class FakeServer:
    def __init__(self, app, host: str = "127.0.0.1") -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it each small reply waits ~40 ms
        # for Nagle's algorithm and the client's delayed ACK.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind((host, 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                                     lifespan="off"))
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeServer:
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=10)
        self._socket.close()
