"""A run's frames as a pandas user reads them: a day (and date) index beside the block, a short repr, xarray."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dtaosim
from dtaosim.runs.results import TimeAxis, load_run


@pytest.fixture(scope="module")
def result():
    from tests.conftest import SMALL

    return dtaosim.run(SMALL)


@pytest.fixture(scope="module")
def dated():
    from tests.conftest import SMALL

    return dtaosim.run({**SMALL, "name": "dated", "start_date": "2026-07-01"})


def test_frames_carry_day_beside_block(result):
    p = result.prices
    assert list(p.index.names) == ["block", "day"]
    blocks = p.index.get_level_values("block").to_numpy()
    days = p.index.get_level_values("day").to_numpy()
    bpd = result.time.blocks_per_day
    assert bpd == 7200
    np.testing.assert_allclose(days, (blocks - result.time.start_block) / bpd)
    assert days[-1] == pytest.approx(2160 / 7200)  # the horizon's last row is day 0.3
    for frame in (result.ema_prices, result.network, result.series("pool_tao")):
        assert list(frame.index.names) == ["block", "day"]
    # the block level still selects as before
    assert p.xs(int(blocks[0]), level="block").shape[1] == p.shape[1]
    assert list(p.droplevel("block").index) == list(days)


def test_long_frames_carry_a_day_column(result):
    tidy = result.tidy()
    assert list(tidy.columns) == ["run", "block", "day", "netuid", "variable", "value"]
    row = tidy.iloc[-1]
    assert row["day"] == pytest.approx((row["block"] - result.time.start_block) / 7200)


def test_a_dated_run_has_dates(dated):
    p = dated.prices
    assert list(p.index.names) == ["block", "day", "date"]
    dates = p.index.get_level_values("date")
    assert dates[0] >= pd.Timestamp("2026-07-01") and dates[-1] <= pd.Timestamp("2026-07-02")
    # 360 blocks of 12 s between rows: 72 minutes
    assert (dates[1] - dates[0]) == pd.Timedelta(minutes=72)
    assert "date" in dated.tidy().columns


def test_undated_axis_refuses_dates():
    axis = TimeAxis(start_block=100, blocks_per_day=7200)
    assert not axis.dated
    np.testing.assert_allclose(axis.days([100, 7300]), [0.0, 1.0])
    with pytest.raises(ValueError, match="undated"):
        axis.dates([100])


def test_saved_run_loads_back_with_the_same_index(result, tmp_path):
    result.save(tmp_path / "r")
    back = load_run(tmp_path / "r")
    pd.testing.assert_frame_equal(back.prices, result.prices, check_names=False, check_column_type=False)
    assert list(back.prices.index.names) == ["block", "day"]


def test_plot_prices_uses_days(result):
    fig = dtaosim.plot_prices(result)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "day"
    x = ax.lines[0].get_xdata()
    assert x[-1] == pytest.approx(0.3)


def test_repr_is_short_and_html_is_a_table(result):
    text = repr(result)
    assert text.startswith("RunResult('small'") and len(text) < 400
    page = result._repr_html_()
    assert "<table>" in page and "small" in page and "price-burn-2026-06" in page
    assert len(page) < 3000  # not the raw frames (tens of kB)
    assert "7,200 a day" in page


def test_xarray_round_trip(result):
    pytest.importorskip("xarray")
    ds = result.to_xarray()
    assert ds["price"].dims == ("block", "netuid")
    assert "day" in ds.coords and float(ds["day"][-1]) == pytest.approx(0.3)
    back = type(result).from_xarray(ds)
    pd.testing.assert_frame_equal(back.prices, result.prices, check_names=False, check_column_type=False)
    assert back.metadata["name"] == "small"


def test_xarray_missing_says_how_to_install(result, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_xarray(name, *args, **kwargs):
        if name == "xarray":
            raise ImportError("no xarray")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_xarray)
    with pytest.raises(ImportError, match="pip install"):
        result.to_xarray()


@pytest.fixture(scope="module")
def with_accounts():
    from tests.conftest import SMALL

    cfg = {**SMALL, "name": "accounts", "record": {"accounts": True},
           "validators": [{"strategy": "honest", "count": 2}, {"strategy": "copier", "count": 1}]}
    return dtaosim.run(cfg)


def test_accounts_are_not_recorded_by_default(result):
    assert result.accounts.empty and result.accounts_frame is None
    with pytest.raises(KeyError, match=r"record\.accounts"):
        result.account_series()


def test_account_series_sum_to_the_group_totals(with_accounts):
    res = with_accounts
    table = res.accounts
    assert list(table.columns) == ["kind", "group", "strategy", "config_group"]
    assert list(table.loc[table["kind"] == "staker", "config_group"].unique()) == ["agents[0]", "agents[1]",
                                                                                  "agents[2]"]
    assert list(table.loc[table["kind"] == "validator", "strategy"]) == ["honest", "honest", "copier"]
    s = res.account_series()
    assert {"block", "day", "account", "kind", "group", "strategy", "free_tao", "root_tao", "alpha_tao", "value",
            "pnl_trading", "pnl_emissions", "pnl_revaluation", "pnl"} <= set(s.columns)
    net = res.frames["network"]
    for group in ("passive", "momentum", "validators"):
        sums = s[s["group"] == group].groupby("block")[["value", "pnl_trading", "pnl_emissions"]].sum()
        np.testing.assert_allclose(sums["value"].to_numpy(), net[f"value:{group}"].to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(sums["pnl_trading"].to_numpy(), net[f"pnl_trading:{group}"].to_numpy(),
                                   rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(sums["pnl_emissions"].to_numpy(), net[f"pnl_emissions:{group}"].to_numpy(),
                                   rtol=1e-9, atol=1e-9)
    only = res.account_series(groups="momentum")
    assert set(only["group"].astype(str)) == {"momentum"}
    who = res.account_pnl()
    assert who["pnl"].is_monotonic_decreasing and len(who) == len(table)


def test_accounts_are_saved_loaded_and_exported(with_accounts, tmp_path):
    res = with_accounts
    res.save(tmp_path / "r")
    assert (tmp_path / "r" / "accounts.parquet").is_file()
    back = load_run(tmp_path / "r")
    pd.testing.assert_frame_equal(back.account_series(), res.account_series(), check_categorical=False)
    pytest.importorskip("xarray")
    ds = res.to_xarray()
    assert ds["account_free_tao"].dims == ("block", "account")
    again = type(res).from_xarray(ds)
    pd.testing.assert_frame_equal(again.account_series(), res.account_series(), check_categorical=False,
                                  check_dtype=False)
