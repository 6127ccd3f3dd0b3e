"""Run every benchmark, print a table, and with --write rewrite docs/benchmarks.md.

    python bench/run.py            # full: 2,000 orders per throughput run, ~14 minutes
    python bench/run.py --quick    # 300 orders, short latency runs, ~5 minutes
    python bench/run.py --write    # also rewrite docs/benchmarks.md

Each part is bounded in time and cleans up its own processes, files and databases;
a part that fails is reported as such and the others still run."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from importlib import metadata

import breakdown
import floors
import latency
import sim_alone
import throughput
from common import REPO_DIR

PACKAGES = ("celery", "kombu", "redis", "psycopg", "SQLAlchemy", "requests", "uvicorn",
            "starlette", "psutil")


def attempt(name: str, fn, *args, **kwargs):
    load = os.getloadavg()[0]
    print(f"-- {name} (load average {load:.1f})", flush=True)
    started = time.monotonic()
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # one broken part must not hide the others
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    if isinstance(result, dict):
        result["load_before"] = round(load, 1)
    print(f"   done in {time.monotonic() - started:.0f}s", flush=True)
    return result


def machine_facts() -> dict:
    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "-"

    def server(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "-"

    commit = server(["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"])
    dirty = server(["git", "-C", str(REPO_DIR), "status", "--porcelain", "--", "bridge"])
    import sqlite3

    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgres": server(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-At",
                            "-c", "SHOW server_version"]).split(" ")[0],
        "redis": next((line.split(":", 1)[1] for line in server(
            ["redis-cli", "-h", "127.0.0.1", "info", "server"]).splitlines()
            if line.startswith("redis_version:")), "-"),
        "packages": {pkg: version(pkg) for pkg in PACKAGES},
        "commit": commit + (" (bridge/ with uncommitted changes)" if dirty else ""),
        "date": time.strftime("%Y-%m-%d"),
    }


def run_adapters(orders: int, skus: int) -> dict:
    # Imported here: it needs the test suite's fakes (and their packages), which the
    # other parts do not.
    import adapters

    result = adapters.run(orders, skus)
    # The same over loopback HTTP, for the HTTP client's share of the adapters' cost.
    result["http"] = adapters.run(orders, skus, over_http=True)
    return result


def run_all(quick: bool) -> dict:
    orders = 300 if quick else 2000
    results: dict = {"facts": machine_facts(), "quick": quick, "orders": orders}
    results["floors"] = attempt("floors", floors.run)
    results["embedded"] = attempt("throughput, embedded", throughput.run, "embedded", orders)
    results["embedded_parked"] = attempt("throughput, embedded, status/stock/sweep parked",
                                         throughput.run, "embedded", orders, park_status=True)
    results["postgres_redis"] = attempt("throughput, Postgres + Redis", throughput.run,
                                        "postgres_redis", orders)
    results["breakdown"] = attempt("breakdown without Celery (SQLite ledger)", breakdown.measure,
                                   orders, False)
    results["latency_2"] = attempt("latency, 2 s poll", latency.run, 2.0, 10 if quick else 20,
                                   20 if quick else 40)
    results["latency_30"] = attempt("latency, 30 s poll", latency.run, 30.0, 6 if quick else 20,
                                    60 if quick else 180)
    results["sim_load_before"] = round(os.getloadavg()[0], 1)  # sim_alone returns a list
    results["sim"] = attempt("simulator alone", sim_alone.run, 3.0 if quick else 5.0)
    results["adapters"] = attempt("cart adapters against their fakes", run_adapters,
                                  300 if quick else 2000, 10_000)
    return results


def print_table(results: dict) -> None:
    for row in table_rows(results):
        print(" | ".join(str(cell) for cell in row))


def table_rows(results: dict) -> list[list]:
    rows = [["run", "orders/s (end to end)", "orders/s (steady)", "bridge CPU ms/order",
             "simulator CPU ms/order", "bridge cores busy"]]
    for key, label in (("embedded", "embedded, default flows"),
                       ("embedded_parked", "embedded, status/stock/sweep parked"),
                       ("postgres_redis", "Postgres + Redis, worker -c 2 + beat")):
        r = results[key]
        if "error" in r:
            rows.append([label, r["error"], "", "", "", ""])
        else:
            rows.append([label, r["orders_per_s"], r["steady_orders_per_s"],
                         r["bridge_cpu_ms_per_order"], r["sim_cpu_ms_per_order"],
                         r["bridge_cpu_cores"]])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, shorter runs")
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md")
    parser.add_argument("--json", metavar="FILE", help="also save the raw results here")
    parser.add_argument("--render", metavar="FILE",
                        help="do not measure: rewrite docs/benchmarks.md from saved results")
    args = parser.parse_args()
    if args.render:
        results, args.write = json.loads(open(args.render).read()), True
    else:
        results = run_all(args.quick)
        if args.json:
            with open(args.json, "w") as out:
                json.dump(results, out, indent=2, default=str)
    print_table(results)
    if args.write:
        import report

        path = REPO_DIR / "docs" / "benchmarks.md"
        existing = path.read_text() if path.exists() else ""
        path.write_text(report.keep_other_sections(existing, report.render(results)))
        print(f"wrote {path.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    sys.exit(main())
