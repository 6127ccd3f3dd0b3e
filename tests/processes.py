"""Starting bridge's own commands as real child processes for end-to-end tests, and
waiting on conditions with a deadline (never asserting on time itself)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


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
