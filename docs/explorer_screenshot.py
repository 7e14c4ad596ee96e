"""Regenerate ``docs/explorer.png``, the README's picture of ``dtaosim explore``, from the current code.

Starts the explorer, opens it in Debian's headless Chromium (``apt-get install chromium chromium-driver``),
lets the first ensemble (the default settings) finish, raises the burning owners' miner burn from 50% to
90%, reruns, and saves the whole page: the numbers then show the default ensemble as "previous run".

    python docs/explorer_screenshot.py [OUT.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.explore import browser  # noqa: E402  (the test suite's browser helpers)


def main(out: Path) -> None:
    missing = browser.chromium_missing()
    if missing:
        raise SystemExit(f"explorer_screenshot: {missing}")
    from dtaosim.runs.warmup import ensure_compiled

    ensure_compiled()
    with browser.explorer_server() as url, browser.chromium(width=1360) as driver:
        driver.get(url)
        first = browser.wait_for_ensemble(driver, timeout=180)
        browser.move_slider(driver, "miner burn", "ARROW_RIGHT", 8)
        browser.wait_for(lambda: browser.slider(driver, "miner burn = 90%") is not None, 10, "the burn at 90%")
        browser.press_run(driver)
        browser.wait_for_ensemble(driver, timeout=180, previous=first)
        driver.execute_script("window.scrollTo(0, 0); document.activeElement.blur();")
        browser.fit_window(driver, 1360)
        driver.save_screenshot(str(out))
    print(f"explorer_screenshot: {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "explorer.png")
