"""Cheap re-measurements of the machine's cost floors, measured beside the other figures
(the machine is shared and noisy): a JSON POST on loopback to a one-route Starlette app
under uvicorn, and INSERT + COMMIT on SQLite (WAL, synchronous=NORMAL) and PostgreSQL.

    python bench/floors.py
    python bench/floors.py --serve-echo   (the echo server child; not for direct use)"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time

import requests
import sqlalchemy as sa
from common import BENCH_DIR, REPO_DIR, percentile, postgres_databases, stop, tree_cpu, workdir


def serve_echo() -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def echo(request):
        return JSONResponse(await request.json())

    # IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted sockets (as SimServer does).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/", echo, methods=["POST"])]),
                                           log_level="warning", access_log=False))
    server.run(sockets=[sock])


def loopback_post(count: int = 2000) -> dict:
    child = subprocess.Popen([sys.executable, str(BENCH_DIR / "floors.py"), "--serve-echo"],
                             stdout=subprocess.PIPE, text=True, start_new_session=True,
                             cwd=REPO_DIR)
    try:
        url = child.stdout.readline().strip()
        session, body, latencies = requests.Session(), {"order": "#1001", "qty": 3}, []
        for _ in range(100):  # the port is printed before uvicorn listens on it
            try:
                session.post(url, json=body, timeout=5)  # connect and warm up
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        cpu0, server0, wall0 = time.process_time(), tree_cpu([child.pid]), time.monotonic()
        for _ in range(count):
            start = time.perf_counter()
            session.post(url, json=body, timeout=5).raise_for_status()
            latencies.append(time.perf_counter() - start)
        wall = time.monotonic() - wall0
        client = time.process_time() - cpu0
        server = tree_cpu([child.pid]) - server0
    finally:
        stop(child)
    return {"what": "JSON POST on loopback, requests.Session -> uvicorn + starlette",
            "rate_per_s": round(count / wall), "p50_ms": round(1000 * percentile(latencies, 50), 2),
            "p99_ms": round(1000 * percentile(latencies, 99), 2),
            "cpu_ms_per_op": round(1000 * (client + server) / count, 2),
            "client_cpu_ms_per_op": round(1000 * client / count, 2)}


def insert_commit(url: str, what: str, count: int, pragmas: tuple[str, ...] = ()) -> dict:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for pragma in pragmas:
                conn.exec_driver_sql(pragma)
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
            conn.commit()
            cpu0, wall0 = time.process_time(), time.monotonic()
            for i in range(count):
                conn.execute(sa.text("INSERT INTO t (id, body) VALUES (:i, 'x')"), {"i": i})
                conn.commit()
            wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    finally:
        engine.dispose()
    # Client CPU only: the PostgreSQL server's share is not visible from here.
    return {"what": what, "rate_per_s": round(count / wall),
            "client_cpu_ms_per_op": round(1000 * cpu / count, 3)}


def run() -> list[dict]:
    results = [loopback_post()]
    with workdir("floors") as path:
        results.append(insert_commit(
            f"sqlite:///{path / 'floor.db'}", "SQLite INSERT + COMMIT, WAL, synchronous=NORMAL",
            10000, ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")))
    with postgres_databases("floor") as (url,):
        results.append(insert_commit(url, "PostgreSQL INSERT + COMMIT, 1 connection", 3000))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        serve_echo()
        return
    print(json.dumps(run(), indent=2))


if __name__ == "__main__":
    main()
