"""Secrets are given by reference, never inline: ``env:NAME`` reads an environment
variable, ``file:PATH`` reads a file (relative paths are taken from the config file's
folder). Every resolved value is registered so the log redactor can hide it."""

from __future__ import annotations

import os
from pathlib import Path

_known_secrets: set[str] = set()


def is_reference(value: str) -> bool:
    return isinstance(value, str) and (value.startswith("env:") or value.startswith("file:"))


def resolve(reference: str, base_dir: Path | None = None) -> str:
    """Return the secret a reference points at; raise ValueError with a sentence if it cannot."""
    if reference.startswith("env:"):
        name = reference[4:]
        if not name:
            raise ValueError("env: reference names no variable")
        value = os.environ.get(name)
        if value is None:
            raise ValueError(f"environment variable {name} is not set")
    elif reference.startswith("file:"):
        path = Path(reference[5:]).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from None
    else:
        raise ValueError("secrets must be given as env:NAME or file:PATH, not inline")
    if not value:
        raise ValueError(f"secret {reference} is empty")
    remember(value)
    return value


def remember(value: str) -> None:
    """Register a secret value so that logs never show it."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def known_secrets() -> frozenset[str]:
    return frozenset(_known_secrets)
