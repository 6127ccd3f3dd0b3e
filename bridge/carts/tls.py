"""The TLS keys every HTTP cart adapter accepts in its `[cart]` table:

    ca_bundle = "/etc/bridge/shop-ca.pem"   # trust this PEM file's CAs instead of the system's
    verify = false                          # only for a shop on this machine

A shop with a private CA is reached with `ca_bundle`; turning certificate checks off
would let anyone on the way read the shop's credentials, so `verify = false` is
refused unless the shop's URL is on the loopback."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bridge.net import is_loopback_host

KEYS = frozenset({"ca_bundle", "verify"})


def check_tls(settings: Mapping[str, Any], url: Any) -> list[tuple[str, str]]:
    """Problems with `ca_bundle` and `verify`, as (key, what); `url` is where the
    adapter sends its calls (it may itself be invalid: its own check reports that)."""
    problems = _check_ca_bundle(settings.get("ca_bundle"))
    verify = settings.get("verify", True)
    if not isinstance(verify, bool):
        problems.append(("verify", "must be true or false"))
    elif not verify and not _on_loopback(url):
        problems.append(("verify", "false is only allowed for a shop on this machine (a loopback "
                         "URL): without certificate checks anyone on the way can read the "
                         "shop's credentials; use ca_bundle instead"))
    return problems


def tls_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """`CartHttp` keyword arguments for a table `check_tls` found no problem with."""
    bundle = settings.get("ca_bundle")
    return {"verify": settings.get("verify", True),
            "ca_bundle": os.path.expanduser(bundle) if bundle else None}


def _check_ca_bundle(bundle: Any) -> list[tuple[str, str]]:
    if bundle is None:
        return []
    if not isinstance(bundle, str) or not bundle.strip():
        return [("ca_bundle", "must be the path of a PEM file of CA certificates")]
    path = os.path.expanduser(bundle)
    # The worker, the scheduler and `bridge check` start in different directories.
    if not os.path.isabs(path):
        return [("ca_bundle", f"{bundle} is a relative path; give the PEM file's absolute path")]
    if not os.path.isfile(path):
        return [("ca_bundle", f"{bundle} does not exist or is not a file; give the path of "
                 "the shop's CA certificate file (PEM)")]
    if not os.access(path, os.R_OK):
        return [("ca_bundle", f"{bundle} cannot be read by this user; make it readable "
                 "(e.g. chmod o+r, or add bridge's user to the file's group)")]
    return []


def _on_loopback(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    return is_loopback_host(urlsplit(url.strip()).hostname)
