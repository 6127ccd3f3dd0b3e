"""Helpers shared by the benchmark scripts: child processes that are always cleaned up,
CPU accounting per process tree, throw-away PostgreSQL databases and Redis databases,
a configuration folder per run, and reading `accepted_at` back from the ledger.

Everything talks to 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil
import sqlalchemy as sa

from bridge.demo import write_config
from bridge.ledger.db import normalise_url
from bridge.ledger.tables import Order

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
SKUS = ("MUG-BLUE", "MUG-RED", "TEE-M", "TEE-L", "CAP-01")
# FillOrKill orders need stock; this never runs out, even for 20k orders of 9 units.
STOCK_PER_SKU = 1_000_000


# ---------------------------------------------------------------- processes

def spawn(args: list[str], *, env: dict | None = None, log: Path | None = None,
          cwd: Path | None = None) -> subprocess.Popen:
    """A child in its own session, so `stop` can end it and everything it forked."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                cwd=cwd or REPO_DIR)
    finally:
        if log:
            out.close()


def stop(proc: subprocess.Popen | None, grace: float = 20.0) -> None:
    """SIGTERM the child's process group (it is the group leader), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def tree_cpu(pids: list[int]) -> float:
    """User+system CPU seconds of these processes and all their live descendants."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
    return total


@dataclass
class SimProcess:
    url: str
    proc: subprocess.Popen

    def cpu(self) -> float:
        return tree_cpu([self.proc.pid])


@contextlib.contextmanager
def simulator(rate_limits: bool = False, clock_factor: float = 1.0, log: Path | None = None):
    """The simulator in its own process (see sim_process.py), stock set for every SKU."""
    from bridge.sim.client import SimAdmin

    args = [sys.executable, str(BENCH_DIR / "sim_process.py"), "--clock-factor", str(clock_factor)]
    if rate_limits:
        args.append("--rate-limits")
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=open(log, "ab") if log else subprocess.DEVNULL,
                            start_new_session=True, cwd=REPO_DIR, text=True)
    try:
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the simulator did not start (got {url!r})")
        SimAdmin(url).set_stock({sku: STOCK_PER_SKU for sku in SKUS})
        yield SimProcess(url, proc)
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        stop(proc)


@contextlib.contextmanager
def workdir(prefix: str):
    with tempfile.TemporaryDirectory(prefix=f"bridge-bench-{prefix}-") as path:
        yield Path(path)


# ---------------------------------------------------------------- PostgreSQL and Redis

@contextlib.contextmanager
def postgres_databases(*names: str):
    """Fresh databases named bridge_bench_<random>_<name>; dropped afterwards, even on
    failure (FORCE ends connections a killed child left behind)."""
    tag = uuid.uuid4().hex[:8]
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    created: list[str] = []
    try:
        urls = []
        for name in names:
            db = f"bridge_bench_{tag}_{name}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
            created.append(db)
            urls.append(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{db}")
        yield urls
    finally:
        with admin.connect() as conn:
            for db in created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def redis_database():
    """An empty Redis database number (others may share this server), flushed after."""
    import redis

    for number in range(15, 0, -1):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number)
        if client.dbsize() == 0:
            break
    else:
        raise RuntimeError("no empty Redis database to borrow")
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}"
    finally:
        client.flushdb()
        client.close()


# ---------------------------------------------------------------- configuration

def configure(workdir: Path, sim_url: str, *, orders_seconds: float,
              status_seconds: float = 60, stock_seconds: float = 120,
              sweep_seconds: int = 60, overlap_seconds: float = 30, **urls) -> Path:
    """`write_config`'s folder with the client-side limiter off and the poll intervals
    set one by one (write_config uses one interval for orders and status; a real
    deployment, config/storefronts/demo.toml, polls status and stock less often).
    The sweep gets bridge's defaults back too: write_config's 5 s sweep nudges the
    status flow every 5 s while any order is open at Amazon."""
    config_dir = write_config(workdir, sim_url, rate_limit_url="off",
                              poll_seconds=orders_seconds, **urls)
    main_file = config_dir / "bridge.toml"
    text = main_file.read_text()
    text = re.sub(r"(?m)^sweep_seconds = .*$", f"sweep_seconds = {sweep_seconds}", text)
    text = re.sub(r"(?m)^stale_after_seconds = .*$", "stale_after_seconds = 300", text)
    main_file.write_text(text)
    storefront = config_dir / "storefronts" / "demo.toml"
    text = storefront.read_text()
    text = re.sub(r"(?m)^status_seconds = .*$", f"status_seconds = {status_seconds}", text)
    text = re.sub(r"(?m)^stock_seconds = .*$", f"stock_seconds = {stock_seconds}", text)
    text = re.sub(r"(?m)^overlap_seconds = .*$", f"overlap_seconds = {overlap_seconds}", text)
    storefront.write_text(text)
    return config_dir


def bridge_env(config_dir: Path) -> dict:
    return {**os.environ, "BRIDGE_CONFIG_DIR": str(config_dir), "PYTHONUNBUFFERED": "1"}


def bridge_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "bridge.cli", *args]


# ---------------------------------------------------------------- reading the ledger

class LedgerReader:
    """Read-only view of the ledger. A plain engine on purpose: bridge's SQLite engine
    opens every transaction with BEGIN IMMEDIATE, which would contend for the write lock."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(normalise_url(url))

    def accepted_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(sa.select(sa.func.count()).where(Order.accepted_at.is_not(None)))

    def states(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(Order.state, sa.func.count())
                                     .group_by(Order.state)).all())

    def accepted(self) -> dict[str, object]:
        """cart order id -> accepted_at (aware UTC)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(Order.cart_order_id, Order.accepted_at)
                                .where(Order.accepted_at.is_not(None))).all()
        return dict(rows)

    def recorded_times(self) -> list:
        """When bridge recorded each order (ledger created_at), aware UTC."""
        with self.engine.connect() as conn:
            return list(conn.scalars(sa.select(Order.created_at)))

    def ready(self) -> bool:
        """True once the daemon has finished its first order poll."""
        try:
            with self.engine.connect() as conn:
                return bool(conn.exec_driver_sql(
                    "SELECT count(*) FROM cursors WHERE flow = 'orders'").scalar())
        except sa.exc.DBAPIError:
            return False  # tables not created yet

    def close(self) -> None:
        self.engine.dispose()


def wait_until(condition, timeout: float, what: str, interval: float = 0.2,
               alive: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"a child exited (code {alive.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(interval)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
