"""Sweeps read as a pandas user expects: plain parameter names, a warning for thin quantiles, comparisons."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

import dtaosim
from dtaosim.errors import ConfigError
from dtaosim.runs.compare import compare_runs, paired_differences
from dtaosim.runs.sweep import plain_names, run_metrics


def _sweep_config() -> dict:
    from tests.conftest import SMALL

    cfg = copy.deepcopy(SMALL)
    cfg["horizon"] = {"blocks": 1080, "blocks_per_tick": 360}
    cfg["sweep"] = {"runs": 3, "seed": 4, "parameters": {"regime_overrides.fee_rate": [0.0, 0.02],
                                                         "agents[0].count": [8]}}
    return cfg


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    return dtaosim.sweep(_sweep_config(), out=out, executor="serial", quiet=True)


def test_plain_names():
    assert plain_names(["regime_overrides.fee_rate", "network.n_subnets"]) == {
        "regime_overrides.fee_rate": "fee_rate", "network.n_subnets": "n_subnets"}
    # two parameters ending alike keep their whole path
    assert plain_names(["agents[0].count", "agents[1].count"]) == {
        "agents[0].count": "agents_0_count", "agents[1].count": "agents_1_count"}
    # a name the frames use themselves (``seed``, ``point``) is never taken
    assert plain_names(["network.seed"]) == {"network.seed": "network_seed"}


def test_sweep_frames_use_plain_names(swept):
    assert swept.parameters == ["fee_rate", "count"]
    assert swept.parameter_paths == {"fee_rate": "regime_overrides.fee_rate", "count": "agents[0].count"}
    runs = swept.runs
    assert set(runs.query("fee_rate > 0.01")["point"]) == {1}  # no backticks needed
    tidy = swept.tidy
    assert {"fee_rate", "count"} <= set(tidy.columns) and "regime_overrides.fee_rate" not in tidy.columns


def test_summary_warns_with_too_few_runs(swept):
    with pytest.warns(UserWarning, match=r"a 5-95% band from 3 runs: at least 20 are needed"):
        s = swept.summary()
    assert set(s.columns) >= {"point", "fee_rate", "metric", "n", "q05", "q95"}
    with pytest.warns(UserWarning, match="at least 4 are needed"):
        swept.summary(quantiles=(0.25, 0.75))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        swept.summary(quantiles=(0.0, 1.0))  # min and max: any number of runs will do


def test_paired_differences_pair_runs_by_number(swept):
    d = paired_differences(swept, baseline=0, metrics=["final_sum_price", "final_tao_issuance"])
    assert list(d["point"]) == [1, 1] and (d["n"] == 3).all()
    assert d["fee_rate"].tolist() == [0.02, 0.02]
    runs = swept.runs.set_index(["point", "run"])
    diff = runs.loc[1, "final_sum_price"] - runs.loc[0, "final_sum_price"]
    row = d[d["metric"] == "final_sum_price"].iloc[0]
    assert row["mean_difference"] == pytest.approx(diff.mean())
    from scipy import stats

    half = stats.t.ppf(0.975, 2) * diff.std(ddof=1) / np.sqrt(3)
    assert row["low"] == pytest.approx(diff.mean() - half) and row["high"] == pytest.approx(diff.mean() + half)
    assert 0.0 <= row["p_value"] <= 1.0
    with pytest.raises(ConfigError, match="baseline: 7"):
        paired_differences(swept, baseline=7)
    with pytest.raises(ConfigError, match="metrics: 'nope'"):
        paired_differences(swept, metrics=["nope"])


def test_compare_runs_side_by_side():
    from tests.conftest import SMALL

    a = dtaosim.run({**SMALL, "horizon": {"blocks": 720, "blocks_per_tick": 360}})
    b = dtaosim.run({**SMALL, "horizon": {"blocks": 720, "blocks_per_tick": 360},
                     "regime_overrides": {"fee_rate": 0.05}})
    t = compare_runs({"base": a, "fee": b})
    assert list(t.columns) == ["base", "fee", "fee - base"]
    assert t.loc["final_sum_price", "base"] == run_metrics(a)["final_sum_price"]
    pd.testing.assert_series_equal(t["fee - base"], t["fee"] - t["base"], check_names=False)
    with pytest.raises(ConfigError, match="at least 2"):
        compare_runs({"a": a})


def test_sweep_dataset_is_lazy_partitioned_and_filtered(swept):
    import pyarrow.dataset as pds

    data = swept.dataset()
    assert isinstance(data, pds.FileSystemDataset)
    assert sorted({f.split("/")[-2] for f in data.files}) == ["point=0", "point=1"]
    assert {"run_id", "run", "block", "day", "netuid", "variable", "value", "fee_rate", "count", "point"} \
        <= set(data.schema.names)
    t = data.to_table(columns=["run_id", "value", "fee_rate"],
                      filter=(pds.field("variable") == "price") & (pds.field("fee_rate") > 0.01)).to_pandas()
    assert set(t["fee_rate"]) == {0.02} and t["run_id"].str.startswith("p0001-").all()
    tidy = swept.tidy
    price = tidy[(tidy["variable"] == "price") & (tidy["fee_rate"] > 0.01)]
    assert len(t) == len(price)
    # a run read on its own agrees with the dataset
    one = dtaosim.load_run(swept.out / "runs" / "p0001-r0002")
    sub = price[price["run_id"] == "p0001-r0002"].pivot(index="block", columns="netuid", values="value")
    np.testing.assert_array_equal(sub.to_numpy(), one.prices.to_numpy())


def test_a_sweep_folder_of_the_old_layout_still_loads(swept, tmp_path):
    import shutil

    import pyarrow.parquet as pq

    old = tmp_path / "old"
    shutil.copytree(swept.out, old)
    for f in sorted((old / "series").glob("point=*/*.parquet")):  # back to runs/<id>/series.parquet
        t = pq.read_table(f).select(["run", "block", "netuid", "variable", "value"])
        pq.write_table(t, old / "runs" / f.stem / "series.parquet")
    shutil.rmtree(old / "series")
    shutil.rmtree(old / "validators", ignore_errors=True)
    with pytest.raises(FileNotFoundError):
        dtaosim.SweepResult.open(old).dataset()
    back = dtaosim.load(old)
    new = swept.tidy
    assert list(back.columns) == ["run_id", "point", "run", "block", "netuid", "variable", "value", "fee_rate",
                                  "count"]
    pd.testing.assert_frame_equal(back, new.drop(columns=["day"]), check_dtype=False)
    assert dtaosim.load_run(old / "runs" / "p0000-r0001").prices.shape[0] == 4  # the start and 3 ticks


def test_compare_regimes_runs_one_seed_under_each_regime(tmp_path):
    from dtaosim.runs.compare import compare_regimes
    from tests.conftest import SMALL

    cfg = {**SMALL, "horizon": {"blocks": 720, "blocks_per_tick": 360}}
    table, results = compare_regimes(cfg, ["launch-2025-02", "price-burn-2026-06"], seed=5, out=tmp_path)
    assert list(results) == ["launch-2025-02", "price-burn-2026-06"]
    assert [r.metadata["regime"] for r in results.values()] == ["launch-2025-02", "price-burn-2026-06"]
    assert {r.metadata["seed"] for r in results.values()} == {5}
    assert list(table.columns) == ["launch-2025-02", "price-burn-2026-06", "price-burn-2026-06 - launch-2025-02"]
    assert (tmp_path / "launch-2025-02" / "metadata.json").is_file()
    with pytest.raises(ConfigError, match="at least 2 regimes"):
        compare_regimes(cfg, ["launch-2025-02"])
