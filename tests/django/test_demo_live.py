"""The demo's live orders page in a real headless Chromium: orders placed and shipped through the API appear
there as they happen, over the websocket.

The demo's ASGI server (``examples/demo_project/live.py``, uvicorn) runs as a real process on a free port.
Without Chromium and its driver (Debian's ``chromium`` and ``chromium-driver``) the test skips, except under
``CI=true``, where it fails (``.ci/run`` installs them).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_project"
WAIT = 20  # seconds any step may take at most


def chromium() -> tuple[str, str]:
    """The paths of Chromium and chromedriver; skip without them (fail under CI=true)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        reason = "Chromium or chromedriver is not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI=true requires them", pytrace=False)
        pytest.skip(reason)
    return browser, driver


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    """The demo's ASGI server on a fresh SQLite database; its URL. Stopped by its pid at the end."""
    env = {
        **{key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"},
        "DJANGO_SETTINGS_MODULE": "demo.settings",
        "DEMO_DATABASE": str(tmp_path / "demo.sqlite3"),
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=DEMO, env=env, check=True, timeout=120
    )
    process = subprocess.Popen(
        [sys.executable, "live.py"], cwd=DEMO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    output: list[str] = []
    try:
        while True:
            line = lines.get(timeout=WAIT)
            assert line is not None, "the server stopped:\n" + "\n".join(output)
            output.append(line)
            if line.startswith("listening on "):
                break
        yield line.rsplit(" ", 1)[-1]
    finally:
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=WAIT)
        reader.join(timeout=WAIT)
        assert process.stdout is not None
        process.stdout.close()


def post(url: str, body: dict[str, Any] | None = None) -> Any:
    data = b"" if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST"), timeout=WAIT) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_the_live_page_shows_orders_as_they_are_placed_and_shipped(demo_server: str) -> None:
    browser, driver_path = chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        driver.set_page_load_timeout(WAIT)
        driver.get(demo_server + "/live/")
        wait = WebDriverWait(driver, WAIT)
        wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "status"), "live: subscribed to orders"))

        placed = post(demo_server + "/orders/", {"item": "pen", "quantity": 3})
        order = placed["order"]
        row = (By.ID, f"order-{order}")
        wait.until(expected_conditions.text_to_be_present_in_element(row, "placed"))
        assert driver.find_element(*row).text.split()[:4] == [f"#{order}", "pen", "3", "5.70"]

        post(demo_server + f"/orders/{order}/ship/")
        wait.until(expected_conditions.text_to_be_present_in_element(row, "shipped"))
        status = driver.find_element(By.CSS_SELECTOR, f"#order-{order} .status")
        assert "shipped" in (status.get_attribute("class") or "").split()
    finally:
        driver.quit()
