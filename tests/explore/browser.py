"""Drive the explorer in Debian's headless Chromium (selenium + chromedriver): start ``dtaosim explore`` on a free
port, open the page, move sliders, press "Run ensemble", wait for the charts, read the numbers, take
screenshots.  Used by ``tests/explore/test_page.py`` and ``docs/explorer_screenshot.py``.

Why selenium and not Playwright: selenium is the lighter (a 10 MB wheel, 35 MB installed, against Playwright's
54 MB wheel and 170 MB with its bundled Node.js driver), and it drives Chromium through Debian's
``chromium-driver``, packaged in lockstep with ``chromium`` (same version, same protocol), given by path (so
selenium-manager never looks for a driver online).  Playwright's driver is built for the Chromium builds it
downloads itself, which the closed network here cannot fetch: it would drive Debian's Chromium off its
tested pairing.

The machine's network is closed: without the flags below Chromium waits on refused connections (component
updates, sync, QUIC probes) and a fresh ``--user-data-dir`` keeps runs apart.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars")
ROOT = Path(__file__).resolve().parents[2]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here (None when Chromium and its driver are installed)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return (f"{path} is not installed (apt-get install -y chromium chromium-driver; .ci/run installs "
                    "them)")
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def explorer_server(port: int | None = None, timeout: float = 60.0) -> Iterator[str]:
    """``dtaosim explore --no-browser`` in a subprocess on a free port; yields its URL, stops it after."""
    port = port or free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).strip(
        os.pathsep)}
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "dtaosim", "explore", "--port", str(port), "--no-browser"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"dtaosim explore exited ({proc.returncode}): {log.read().decode()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("dtaosim explore did not listen within the timeout")
            time.sleep(0.1)
        yield f"http://localhost:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


@contextlib.contextmanager
def chromium(width: int = 1440, height: int = 2300) -> Iterator[object]:
    """A headless Chromium (selenium WebDriver) with a fresh profile; quit after."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    profile = tempfile.mkdtemp(prefix="dtaosim-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(condition, timeout: float, what: str, poll: float = 0.2):
    """Poll ``condition()`` until it is truthy (returned) or ``timeout`` seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as e:  # the page re-renders under us: try again
            last_error = e
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" +
                         (f" (last error: {last_error!r})" if last_error else ""))


def status(driver) -> str:
    """The status line under the run button; "" while an ensemble runs."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, ".dtaosim-status.dtaosim-idle")
    return found[0].text if found else ""


def charts(driver) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "img.dtaosim-chart")


def wait_for_ensemble(driver, timeout: float = 90.0, previous: str | None = None) -> str:
    """Wait until an ensemble has finished (status "N runs in S s", different from ``previous``) and its three
    charts are loaded; returns the status line."""
    def done() -> str | None:
        text = status(driver)
        imgs = charts(driver)
        loaded = len(imgs) == 3 and all(driver.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", i) for i in imgs)
        return text if " runs in " in text and text != previous and loaded else None

    return wait_for(done, timeout, "the ensemble to finish and its charts to load")


def summary(driver) -> dict[str, list[str]]:
    """The headline table: label -> the row's other cells."""
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "table.dtaosim-summary tr")
    out = {}
    for row in rows[1:]:
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        if cells:
            out[cells[0]] = cells[1:]
    return out


def slider(driver, label_start: str):
    """The thumb (role=slider) of the slider whose label starts with ``label_start``."""
    from selenium.webdriver.common.by import By

    xpath = (f"//div[contains(@class,'v-input') and .//label[starts-with(normalize-space(.), '{label_start}')]]"
             "//*[@role='slider']")
    return driver.find_element(By.XPATH, xpath)


def move_slider(driver, label_start: str, key: str, times: int) -> None:
    """Focus a slider and press an arrow key ``times`` times (each press moves it one step)."""
    from selenium.webdriver.common.keys import Keys

    thumb = slider(driver, label_start)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", thumb)
    for _ in range(times):
        thumb.send_keys(getattr(Keys, key))
        time.sleep(0.05)


def press_run(driver) -> None:
    from selenium.webdriver.common.by import By

    button = driver.find_element(By.CSS_SELECTOR, ".dtaosim-run")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()


def image_stats(png: bytes) -> tuple[tuple[int, int], float, int]:
    """(width, height), the standard deviation of the pixel values (0-255) and the number of distinct colours."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    colours = np.unique(img.reshape(-1, 3), axis=0).shape[0]
    return (img.shape[1], img.shape[0]), float(img.std()), int(colours)


def fit_window(driver, width: int) -> None:
    """Resize the window so that its viewport holds the whole page (the app layout scrolls inside its own
    container, so a full-page screenshot is a viewport as tall as the content)."""
    bottom, chrome = driver.execute_script(
        "const m = document.querySelector('.dtaosim-main');"
        "const b = m ? m.getBoundingClientRect().bottom + window.scrollY : document.body.scrollHeight;"
        "return [Math.ceil(b) + 24, window.outerHeight - window.innerHeight];")
    driver.set_window_size(width, int(bottom) + int(chrome))
    time.sleep(0.5)
