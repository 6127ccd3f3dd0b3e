"""The simulated fulfillment network in its own process, so its CPU can be told apart
from bridge's. Prints its base URL on the first line of stdout, then serves until
stdin closes or SIGTERM arrives.

    python bench/sim_process.py [--rate-limits] [--clock-factor F]"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate-limits", action="store_true")
    parser.add_argument("--clock-factor", type=float, default=1.0)
    args = parser.parse_args()
    config = SimConfig(rate_limits=args.rate_limits, clock_factor=args.clock_factor)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The parent holding our stdin open is our lease: when it dies, we stop too.
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    with SimServer(config) as sim:
        print(sim.base_url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
