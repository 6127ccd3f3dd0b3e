"""Hints name the bridge that is running, not whichever `bridge` PATH finds first."""

import os
import stat
from pathlib import Path

from bridge.invocation import bridge_command


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_venv_path_when_another_bridge_is_on_path(tmp_path):
    venv_python = _executable(tmp_path / "project" / ".venv" / "bin" / "python")
    _executable(tmp_path / "project" / ".venv" / "bin" / "bridge")
    iproute = _executable(tmp_path / "usr" / "sbin" / "bridge")
    command = bridge_command(str(venv_python), path=str(iproute.parent),
                             cwd=tmp_path / "project")
    assert command == os.path.join(".venv", "bin", "bridge")


def test_an_absolute_path_from_elsewhere(tmp_path):
    venv_python = _executable(tmp_path / "project" / ".venv" / "bin" / "python")
    command = bridge_command(str(venv_python), path="", cwd=tmp_path / "elsewhere")
    assert command == str(tmp_path / "project" / ".venv" / "bin" / "bridge")


def test_plain_bridge_when_path_finds_this_one(tmp_path):
    venv_python = _executable(tmp_path / ".venv" / "bin" / "python")
    _executable(tmp_path / ".venv" / "bin" / "bridge")
    assert bridge_command(str(venv_python), path=str(venv_python.parent), cwd=tmp_path) == "bridge"
