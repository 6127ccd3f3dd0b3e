"""Starting bridge's own commands as real child processes for end-to-end tests, and
waiting on conditions with a deadline (never asserting on time itself)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from bridge.demo import write_config
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger

RABBITMQ_HOST, RABBITMQ_PORT = "127.0.0.1", 5672


class Daemons:
    """Child processes of one test, each logging to its own file; all stopped at the end."""

    def __init__(self, workdir: Path, config_dir: Path) -> None:
        self.workdir = workdir
        self.env = {**os.environ, "BRIDGE_CONFIG_DIR": str(config_dir), "PYTHONUNBUFFERED": "1"}
        self.children: list[tuple[str, subprocess.Popen, Path]] = []

    def bridge(self, name: str, *args: str) -> subprocess.Popen:
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "wb") as log_file:
            child = subprocess.Popen(
                [sys.executable, "-m", "bridge.cli", *args], env=self.env,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.children.append((name, child, log_path))
        return child

    def lanes(self, submit: int = 1, flows: int = 2, *extra: str) -> None:
        """The production worker layout: a prefork worker for the submit lane (submit,
        cancel) beside one for every other queue, so submission always has a process."""
        for lane, concurrency in (("submit", submit), ("flows", flows)):
            self.bridge(f"worker-{lane}", "worker", "--lane", lane, "--pool", "prefork",
                        "-c", str(concurrency), "--loglevel", "INFO", *extra)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bridge.cli", *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def logs(self) -> str:
        parts = []
        for name, _child, path in self.children:
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"----- {name} (last 3000 chars) -----\n{text[-3000:]}")
        return "\n".join(parts)

    def check_alive(self) -> None:
        for name, child, _path in self.children:
            if child.poll() is not None:
                raise AssertionError(f"{name} exited with {child.returncode}\n{self.logs()}")

    def stop(self) -> None:
        for _name, child, _path in self.children:
            if child.poll() is None:
                # The main process only: it shuts its pool down warmly, re-queuing work.
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _name, child, _path in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def wait_for(condition: Callable[[], bool], what: str, timeout: float,
             on_timeout: Callable[[], str] = lambda: "", interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}\n{on_timeout()}")


def free_port() -> int:
    """A loopback port free a moment ago: uvicorn cannot be asked for port 0 and tell
    which it took, so one is taken and let go."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rabbitmq_available() -> str:
    """"" when RabbitMQ answers here and `rabbitmqctl` can manage it, else why not."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed"
    try:
        socket.create_connection((RABBITMQ_HOST, RABBITMQ_PORT), timeout=2).close()
    except OSError as exc:
        return f"nothing listens on {RABBITMQ_HOST}:{RABBITMQ_PORT} ({exc})"
    return ""


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr or done.stdout}")
    return done.stdout


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[tuple[str, str]]:
    """A fresh RabbitMQ virtual host for one test, guest allowed in it; deleted with
    everything in it afterwards. Yields (vhost, broker URL)."""
    vhost = "bridge-" + uuid.uuid4().hex[:10]
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield vhost, f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


def rabbitmq_queue_types(vhost: str) -> dict[str, str]:
    """Queue name → type ("quorum", "classic") in a virtual host."""
    listed = json.loads(rabbitmqctl("list_queues", "-p", vhost, "name", "type", "--formatter", "json"))
    return {row["name"]: row["type"] for row in listed}


@contextlib.contextmanager
def production_deployment(workdir: Path, sim_url: str, *, ledger_url: str, store_url: str,
                          broker_url: str, rate_limit_url: str) -> Iterator[tuple[Daemons, Ledger]]:
    """A production deployment's configuration written (orders polled every second, stock
    every two) and its ledger migrated. Yields the daemons, whose processes the test
    starts as it needs, and a Ledger on the same database; every process is stopped and
    the engine closed afterwards."""
    config_dir = write_config(workdir, sim_url, database_url=ledger_url, broker_url=broker_url,
                              store_url=store_url, rate_limit_url=rate_limit_url,
                              poll_seconds=1, stock_seconds=2)
    daemons = Daemons(workdir, config_dir)
    engine = make_engine(ledger_url)
    try:
        migrated = daemons.run("db", "upgrade")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        yield daemons, Ledger(engine)
    finally:
        daemons.stop()
        engine.dispose()
