"""Packages: everything under bridge/, plus the top-level migrations/ folder, which is
installed as `bridge.migrations` so an installed bridge can upgrade its own ledger."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["bridge", "bridge.*"])
    + ["bridge.migrations", "bridge.migrations.versions"],
    package_dir={"bridge.migrations": "migrations"},
)
