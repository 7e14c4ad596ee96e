"""Concentration and market metrics against hand-computed values and the snapshot's published facts."""

import numpy as np
import pandas as pd
import pytest

from dtaosim.analysis import metrics
from dtaosim.network.initial import load_snapshot


def test_gini_hhi_nakamoto_known_values():
    assert metrics.gini(np.array([1.0, 1.0, 1.0, 1.0])) == 0.0
    assert metrics.gini(np.array([0.0, 0.0, 0.0, 4.0])) == pytest.approx(0.75)
    assert metrics.gini(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(0.25)
    assert metrics.hhi(np.array([1.0, 1.0, 1.0, 1.0])) == pytest.approx(0.25)
    assert metrics.hhi(np.array([0.0, 5.0])) == 1.0
    assert metrics.nakamoto(np.array([40.0, 30.0, 20.0, 10.0])) == 2
    assert metrics.nakamoto(np.array([60.0, 40.0])) == 1
    assert metrics.nakamoto(np.array([25.0, 25.0, 25.0, 25.0])) == 3
    assert metrics.top_share(np.array([5.0, 3.0, 2.0]), 2) == pytest.approx(0.8)
    # rows are independent distributions
    np.testing.assert_allclose(metrics.gini(np.array([[1.0, 1.0], [0.0, 2.0]])), [0.0, 0.5])
    assert metrics.gini(np.zeros(3)) == 0.0 and metrics.nakamoto(np.zeros(3)) == 0


def test_snapshot_cross_section_matches_published_facts():
    recs = [r for r in load_snapshot() if r["netuid"] != 0 and r["moving_price"] is not None]
    price = np.array([r["price_tao"] for r in recs])
    depth = np.array([r["tau_in"] for r in load_snapshot() if r["netuid"] != 0])
    emission = np.array([r["emission_tao_day"] for r in load_snapshot() if r["netuid"] != 0])
    cs = metrics.cross_section(price, depth, emission)
    # empirical-facts.md: fact 22 (prices), 23 (pool depth), 25 (emission value)
    assert cs["price_median"] == pytest.approx(0.0056, abs=0.0003)
    assert cs["log10_price_sd"] == pytest.approx(0.32, abs=0.02)
    assert cs["pool_tao_gini"] == pytest.approx(0.63, abs=0.01)
    assert cs["pool_tao_top10"] == pytest.approx(0.46, abs=0.01)
    assert cs["emission_gini"] == pytest.approx(0.48, abs=0.01)
    assert cs["emission_hhi"] == pytest.approx(0.021, abs=0.002)
    assert cs["emission_top10"] == pytest.approx(0.37, abs=0.01)


def test_frame_metrics():
    idx = pd.Index([0, 360], name="block")
    prices = pd.DataFrame({1: [0.5, 0.6], 2: [0.25, 0.2]}, index=idx)
    assert list(metrics.sum_of_prices(prices)) == [0.75, pytest.approx(0.8)]
    tao_in = pd.DataFrame({1: [0.0, 1.0], 2: [0.0, 1.0]}, index=idx)
    buys = pd.DataFrame({1: [0.0, 3.0], 2: [0.0, 3.0]}, index=idx)
    share = metrics.injection_share(tao_in, buys)
    assert np.isnan(share.iloc[0]) and share.iloc[1] == 0.25
    d = pd.DataFrame({0: [0.0, 2.0]}, index=idx)
    s = pd.DataFrame({0: [1000.0, 1002.0]}, index=idx)
    assert metrics.dividends_per_1000_tao(d, s).iloc[1, 0] == pytest.approx(2.0)
    np.testing.assert_allclose(metrics.root_proportion(0.18, 6e6, np.array([1.08e6, 0.0])), [0.5, 1.0])


def test_report_writes_every_plot_and_an_index(tmp_path, small_config):
    import dtaosim
    from dtaosim.analysis.report import write_report

    res = dtaosim.run(small_config)
    files = write_report(res, tmp_path / "report")
    names = sorted(p.name for p in files)
    assert names == ["concentration.png", "emission_shares.png", "index.html", "prices.png", "reserves.png",
                     "returns_by_strategy.png", "sum_of_prices.png", "validator_dividends.png"]
    for p in files:
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5_000
    page = (tmp_path / "report" / "index.html").read_text()
    assert page.count("<img ") == 7 and "price-burn-2026-06" in page
