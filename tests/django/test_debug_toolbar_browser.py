"""The events panel in a real headless Chromium, against a running gevent server: the docs'
screenshot is taken here.

The screenshot goes to the test's temporary folder; with ``UPDATE_SCREENSHOTS=1`` (what
``scripts/screenshots`` sets) it also replaces ``docs/images/events-panel.png``. Nothing is
compared pixel by pixel: the test checks what the page says. Without Chromium and chromedriver
(Debian's ``chromium`` and ``chromium-driver``) the test is skipped, and fails under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "images" / "events-panel.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TIMEOUT = 30

pytestmark = pytest.mark.slow


@pytest.fixture
def browser_binaries() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        reason = f"{' and '.join(missing)} missing: apt-get install chromium chromium-driver"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def server() -> Iterator[str]:
    """The toolbar's test server, serving the demo's page; yields its base URL."""
    environment = {**os.environ}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.django.toolbarapp.serve"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            _, errors = process.communicate(timeout=TIMEOUT)
            pytest.fail(f"the toolbar's test server did not start: {errors}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=TIMEOUT)


@pytest.mark.usefixtures("browser_binaries")
def test_the_panel_in_chromium_and_its_screenshot(server: str, tmp_path: Path) -> None:
    """Open the page, open the Events panel in the toolbar, check what it shows, take the screenshot."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for a browser to download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1050")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.set_page_load_timeout(TIMEOUT)
        driver.get(server + "/")
        wait = WebDriverWait(driver, TIMEOUT)
        # The toolbar lives in a shadow root (django-debug-toolbar 6 and later), searched by CSS selectors.
        root = wait.until(expected_conditions.presence_of_element_located((By.ID, "djDebugRoot"))).shadow_root
        wait.until(lambda _: root.find_element(By.CSS_SELECTOR, "#djdt-EventsPanel a").is_displayed())
        button = root.find_element(By.CSS_SELECTOR, "#djdt-EventsPanel a")
        assert "3 events" in button.text
        assert "1 failed" in button.text
        button.click()
        wait.until(lambda _: root.find_elements(By.CSS_SELECTOR, "#EventsPanel table"))
        wait.until(lambda _: root.find_element(By.CSS_SELECTOR, "#EventsPanel table").is_displayed())
        panel = root.find_element(By.CSS_SELECTOR, "#EventsPanel").text
        driver.save_screenshot(str(tmp_path / "events-panel.png"))
    finally:
        driver.quit()
    for shown in (
        "shop::order_placed",
        "tests.django.toolbarapp.demo:charge_card",
        "ConnectionError: warehouse.example:443 refused the connection",
        "payments::captured",
        "dispatched by a handler of #1",
        "analytics::page_viewed",
        "no handler received it",
        "committed",
    ):
        assert shown in panel, f"{shown!r} is not in the panel:\n{panel}"
    assert "pending" not in panel.lower()
    image = (tmp_path / "events-panel.png").read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image) > 20_000  # a page with the panel open, not a blank one
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "events-panel.png", SCREENSHOT)
