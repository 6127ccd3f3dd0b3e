"""The two ways to run bridge that the benchmarks compare, each as a context manager
that yields a running deployment and tears everything down afterwards:

- embedded: `bridge run` (one process: worker threads + scheduler thread), SQLite
  ledger, SQLite store, `sqla+sqlite` broker;
- postgres_redis: `bridge worker --lane submit -c 1` and `bridge worker --lane flows -c 2`
  (prefork) + `bridge beat`, ledger and store in fresh PostgreSQL databases, Redis broker."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from common import (
    LedgerReader,
    bridge_cmd,
    bridge_env,
    configure,
    postgres_databases,
    redis_database,
    spawn,
    stop,
    tree_cpu,
    wait_until,
)

from bridge import demo_store


@dataclass
class Deployment:
    name: str
    store_url: str
    ledger: LedgerReader
    procs: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def cpu(self) -> float:
        return tree_cpu([p.pid for p in self.procs])

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def check_alive(self) -> None:
        for proc, log in zip(self.procs, self.logs, strict=True):
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}:\n{tail}")

    def start(self, name: str, args: tuple[str, ...], env: dict, workdir: Path) -> None:
        """A bridge command as one of the deployment's processes, logging to bridge-NAME.log."""
        log = workdir / f"bridge-{name}.log"
        self.procs.append(spawn(bridge_cmd(*args), env=env, log=log, cwd=workdir))
        self.logs.append(log)


def embedded_daemons(concurrency: int = 4) -> list[tuple[str, tuple[str, ...]]]:
    """(name, arguments) of the embedded topology's processes."""
    return [("run", ("run", "-n", str(concurrency)))]


def postgres_redis_daemons(concurrency: int = 2) -> list[tuple[str, tuple[str, ...]]]:
    """(name, arguments) of the production topology's processes; the workers first, so
    they are stopped first (beat outliving them only queues messages nobody reads)."""
    return [("worker-submit", ("worker", "--lane", "submit", "-c", "1")),
            ("worker-flows", ("worker", "--lane", "flows", "-c", str(concurrency))),
            ("beat", ("beat",))]


@contextlib.contextmanager
def embedded(workdir: Path, sim_url: str, *, orders_seconds: float, concurrency: int = 4,
             **intervals):
    store_url = f"sqlite:///{workdir / 'store.db'}"
    config_dir = configure(workdir, sim_url, orders_seconds=orders_seconds, **intervals)
    demo_store.create_schema(store_url)
    deployment = Deployment("embedded", store_url, LedgerReader(f"sqlite:///{workdir / 'ledger.db'}"))
    try:
        for name, args in embedded_daemons(concurrency):
            deployment.start(name, args, bridge_env(config_dir), workdir)
        _wait_ready(deployment)
        yield deployment
    finally:
        for proc in deployment.procs:
            stop(proc)
        keep_logs(deployment)
        deployment.ledger.close()


@contextlib.contextmanager
def postgres_redis(workdir: Path, sim_url: str, *, orders_seconds: float, concurrency: int = 2,
                   **intervals):
    with postgres_databases("ledger", "store") as (ledger_url, store_url), \
            redis_database() as broker_url:
        config_dir = configure(workdir, sim_url, orders_seconds=orders_seconds,
                               database_url=ledger_url, broker_url=broker_url,
                               store_url=store_url, **intervals)
        env = bridge_env(config_dir)
        subprocess.run(bridge_cmd("db", "upgrade"), env=env, cwd=workdir, check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        demo_store.create_schema(store_url)
        deployment = Deployment("postgres_redis", store_url, LedgerReader(ledger_url))
        try:
            for name, args in postgres_redis_daemons(concurrency):
                deployment.start(name, args, env, workdir)
            _wait_ready(deployment)
            yield deployment
        finally:
            for proc in deployment.procs:
                stop(proc)
            keep_logs(deployment)
            deployment.ledger.close()


def keep_logs(deployment: Deployment) -> None:
    """Copy the daemon logs to $BENCH_LOG_DIR (if set) before the work folder goes."""
    target = os.environ.get("BENCH_LOG_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for log in deployment.logs:
            if log.exists():
                shutil.copy(log, Path(target) / log.name)


def _wait_ready(deployment: Deployment, timeout: float = 90) -> None:
    """Ready once the first order poll has run: from then on only our orders cost work."""
    def ready() -> bool:
        deployment.check_alive()
        return deployment.ledger.ready()

    wait_until(ready, timeout, "the daemon's first order poll", interval=0.3)
