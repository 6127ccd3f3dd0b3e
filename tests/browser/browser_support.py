"""Helpers of the browser tests: `bridge serve` on a free port, and screenshots saved
under a test's output."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from processes import Daemons, free_port, wait_for


def serve_console(daemons: Daemons) -> str:
    """`bridge serve` as a child process on a free port; its base URL once it answers."""
    port = free_port()
    daemons.bridge("serve", "serve", "--host", "127.0.0.1", "--port", str(port))
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        daemons.check_alive()
        try:
            with urllib.request.urlopen(f"{base}/console/", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    wait_for(answers, "bridge serve to answer", 60, daemons.logs)
    return base


def screenshot(driver, tmp_path: Path, page: str) -> Path:
    """The page as the browser shows it, saved under the test's output."""
    folder = tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{page}.png"
    # The content's height (the body does not stretch to the window), plus the window's frame.
    height = driver.execute_script("return Math.ceil(document.body.getBoundingClientRect().bottom)")
    driver.set_window_size(1280, max(600, min(int(height) + 160, 4000)))
    assert driver.save_screenshot(str(path)), f"no screenshot of {page}"
    print(f"screenshot of {page}: {path}")
    return path


def element_after_navigation(driver, css: str, timeout: float = 30):
    """An element of the page a click leads to (a form's POST and its redirect)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)),
        f"no {css} on {driver.current_url}: {driver.page_source[-3000:]}")
