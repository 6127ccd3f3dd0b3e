"""How to tell a person to run this bridge again. Debian ships a `bridge` of its own
(iproute2's, in /usr/sbin): a hint saying `bridge …` runs that one unless bridge's
virtual environment is active, so hints name the executable running now unless the
`bridge` on PATH is that very file."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def bridge_command(executable: str | None = None, path: str | None = None,
                   cwd: Path | None = None) -> str:
    """`bridge` when PATH finds this one, else its path (relative to `cwd` when under
    it, e.g. `.venv/bin/bridge`)."""
    mine = Path(executable or sys.executable).parent / "bridge"
    found = shutil.which("bridge", path=path if path is not None else os.environ.get("PATH"))
    if found and os.path.abspath(found) == os.path.abspath(mine):
        return "bridge"
    here = (cwd or Path.cwd()).absolute()
    try:
        return str(mine.absolute().relative_to(here))
    except ValueError:
        return str(mine)
