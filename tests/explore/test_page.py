"""The explorer in a real browser: ``dtaosim explore`` on a free port, Debian's headless Chromium opens it, the
first ensemble renders its three charts, a slider moves, "Run ensemble" reruns, the charts render again and
the headline numbers change.  Fails when the page does not render its charts (no image, an empty or blank
one).  The screenshot is saved under the test's tmp path.

Skipped only where Chromium is not installed (``.ci/run`` installs it, so CI runs it).
"""

from __future__ import annotations

import time

import pytest

from tests.explore import browser

pytestmark = pytest.mark.skipif(browser.chromium_missing() is not None,
                                reason=str(browser.chromium_missing()))


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    """The kernels compiled before the clock starts (the first run after an install compiles them)."""
    from dtaosim.runs.warmup import ensure_compiled

    ensure_compiled()


def _check_charts(driver) -> list[tuple]:
    stats = []
    for img in browser.charts(driver):
        natural = driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", img)
        assert natural[0] >= 600 and natural[1] >= 250, f"chart image too small: {natural}"
        assert img.size["width"] >= 600 and img.size["height"] >= 150, f"chart shown too small: {img.size}"
        size, std, colours = browser.image_stats(img.screenshot_as_png)
        assert std > 15 and colours > 50, f"chart looks blank: pixel sd {std:.1f}, {colours} colours"
        stats.append((size, std, colours))
    return stats


def test_the_page_renders_its_charts_and_reruns_with_a_moved_slider(tmp_path):
    t0 = time.monotonic()
    with browser.explorer_server() as url, browser.chromium() as driver:
        driver.get(url)
        first = browser.wait_for_ensemble(driver, timeout=120)  # the page runs one ensemble when it opens
        assert len(_check_charts(driver)) == 3
        before = browser.summary(driver)
        images = [img.get_attribute("src") for img in browser.charts(driver)]
        assert "effective number of subnets, last day" in before, before
        assert len(before["effective number of subnets, last day"]) == 2  # median, band: no previous run yet

        # the gate's exponent h from 3 down to 1: a softer gate
        browser.move_slider(driver, "gate exponent h", "ARROW_LEFT", 4)
        browser.wait_for(lambda: browser.slider(driver, "gate exponent h = 1") is not None, 10,
                         "the slider's label to show h = 1")
        browser.wait_for(lambda: "settings changed" in driver.page_source, 10, "the 'settings changed' note")
        browser.press_run(driver)
        second = browser.wait_for_ensemble(driver, timeout=120, previous=first)
        assert first.startswith("ensemble 1: 8 runs in") and second.startswith("ensemble 2: 8 runs in"), second
        stats = _check_charts(driver)
        after = browser.summary(driver)
        images_after = [img.get_attribute("src") for img in browser.charts(driver)]
        browser.fit_window(driver, 1440)
        driver.save_screenshot(str(tmp_path / "explorer.png"))

    assert len(stats) == 3
    assert all(a != b for a, b in zip(images, images_after, strict=True)), "a chart did not change"
    assert list(after) == list(before)
    for label, row in after.items():
        assert len(row) == 4, row  # median, band, the previous ensemble's median, the change
        assert row[2] == before[label][0], (label, before[label], row)  # the previous column: the first ensemble
    medians = {label: (before[label][0], row[0]) for label, row in after.items()}
    assert any(a != b for a, b in medians.values()), f"no headline number changed: {medians}"
    assert after["effective number of subnets, last day"][3] not in ("", "–")
    assert (tmp_path / "explorer.png").stat().st_size > 50_000
    print(f"explorer page test: {time.monotonic() - t0:.1f} s; screenshot {tmp_path / 'explorer.png'}")
