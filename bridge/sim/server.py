"""Running the simulator: `serve` in the foreground (the `bridge sim serve` command), or
`SimServer` in a background thread on a free port (tests, `bridge demo`)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

import uvicorn

from bridge.sim.app import build_app
from bridge.sim.client import SimAdmin
from bridge.sim.config import DEFAULT_PORT, SimConfig
from bridge.sim.simulator import Simulator


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, db_path: str | None = None,
          clock_factor: float = 1.0, config: SimConfig | None = None,
          log_level: str = "info") -> None:
    """Run the simulator until interrupted. Keyword arguments override `config`."""
    config = replace(config or SimConfig(), db_path=db_path, clock_factor=clock_factor)
    app = build_app(Simulator(config))
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


class SimServer:
    """A simulator served by uvicorn in a daemon thread, on a free port of `host`.

        with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
            token = sim.access_token()
            requests.get(sim.base_url + "/fba/outbound/2020-07-01/fulfillmentOrders",
                         headers={"x-amz-access-token": token})
            sim.admin.advance(300)
    """

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1",
                 port: int = 0, start_timeout: float = 10.0) -> None:
        self.config = config or SimConfig()
        self.host = host
        self.simulator = Simulator(self.config)
        self.app = build_app(self.simulator)
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only
        # then, and without it every keep-alive answer waits ~40 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self.admin = SimAdmin(self.base_url)
        self._server = uvicorn.Server(uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on",
            timeout_graceful_shutdown=1))
        self._thread: threading.Thread | None = None
        self._start_timeout = start_timeout

    def start(self) -> SimServer:
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]},
                                        name=f"bridge-sim-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._thread = None
        self._socket.close()

    def access_token(self) -> str:
        """A valid LWA access token, without a round trip to /auth/o2/token."""
        return self.simulator.lwa.issue_access_token()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
