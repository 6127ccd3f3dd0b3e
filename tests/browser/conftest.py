"""The console in a real browser: Debian's headless Chromium driven by Selenium through
chromium-driver, against a real `bridge serve` on a free port. Without the browser the
tests skip, or fail when BRIDGE_REQUIRE_SERVICES=1 (as in CI), like every test that
needs a service."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("BRIDGE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("BRIDGE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRE_SERVICES = os.environ.get("BRIDGE_REQUIRE_SERVICES") == "1"


def _missing(what: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required but missing (apt-get install chromium chromium-driver)",
                    pytrace=False)
    pytest.skip(f"{what} is missing; set BRIDGE_REQUIRE_SERVICES=1 to make this fail")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the session (a fresh profile: no cookie carried in)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (shutil.which(path) or Path(path).is_file()):
            _missing(path)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1400", "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


