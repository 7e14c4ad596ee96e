"""Sweeps: designs, seeds (common random numbers), executors, resume after a kill, failure isolation, load."""

import copy
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import dtaosim
from dtaosim.cli import main
from dtaosim.errors import ConfigError
from dtaosim.model import spawn_streams
from dtaosim.runs.sweep import SweepResult, load, plan_sweep, run_metrics

sweep_mod = importlib.import_module("dtaosim.runs.sweep")  # ``dtaosim.runs.sweep`` is the function

TINY = {
    "name": "tiny",
    "seed": 3,
    "horizon": {"blocks": 720, "blocks_per_tick": 360},
    "network": {"n_subnets": 3, "root_stake": 100000.0, "external_tao": 50000.0},
    "agents": [
        {"strategy": "passive", "count": 2, "budget": 20.0},
        {"strategy": "momentum", "count": 1, "budget": 20.0, "params": {"lookback": 2, "threshold": 0.0}},
    ],
}
# 2 points x 6 runs: the sweep every executor and the kill tests run
SWEEP = {**TINY, "sweep": {"design": "grid", "runs": 6, "seed": 11,
                           "parameters": {"regime_overrides.fee_rate": [0.0, 0.01]}}}
N_RUNS = 12
RUN_FILES = {"events.parquet", "metadata.json", "prices.parquet", "record.json", "timings.json"}


def _complete(run_dir):
    """A run folder holds RunResult.save's files (listed in its record) and the record, nothing else."""
    names = {f.name for f in run_dir.iterdir()}
    record = json.loads((run_dir / "record.json").read_text())
    return names >= RUN_FILES and names == {*record["files"], "record.json"}


def _with_sweep(**sweep):
    cfg = copy.deepcopy(TINY)
    cfg["sweep"] = sweep
    return cfg


def _visible_runs(out):
    runs = out / "runs"
    return sorted(d for d in runs.iterdir() if not d.name.startswith(".")) if runs.is_dir() else []


def _hidden(out):
    return sorted(p.name for p in out.rglob(".*"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted serial sweep every other executor and resume is compared with."""
    out = tmp_path_factory.mktemp("reference")
    result = dtaosim.sweep(SWEEP, out=out, executor="serial", quiet=True)
    return out, result


# ----------------------------------------------------------------------------------------------
# designs


def test_grid_size_and_order():
    plan = plan_sweep(_with_sweep(runs=2, parameters={
        "regime_overrides.fee_rate": [0.0, 0.01],
        "network.n_subnets": {"start": 3, "stop": 7, "step": 2},
    }))
    assert len(plan.points) == 6 and plan.n_runs == 12
    assert plan.points[0] == {"regime_overrides.fee_rate": 0.0, "network.n_subnets": 3}
    assert [p["network.n_subnets"] for p in plan.points] == [3, 5, 7, 3, 5, 7]  # first parameter slowest
    assert [c.network.n_subnets for c in plan.configs] == [3, 5, 7, 3, 5, 7]
    assert plan.configs[4].build_regime().fee_rate == 0.01
    assert all(c.sweep is None for c in plan.configs)


def test_ranges_num_step_log():
    plan = plan_sweep(_with_sweep(design="zip", parameters={
        "network.price_median": {"start": 0.01, "stop": 0.04, "num": 4},
        "network.pool_tao_median": {"start": 100.0, "stop": 100000.0, "num": 4, "log": True},
        "network.n_subnets": {"start": 2, "stop": 9, "step": 2},
    }))
    assert [p["network.price_median"] for p in plan.points] == [0.01, 0.02, 0.03, 0.04]
    assert [p["network.pool_tao_median"] for p in plan.points] == [100.0, 1000.0, 10000.0, 100000.0]
    assert [p["network.n_subnets"] for p in plan.points] == [2, 4, 6, 8]


def test_zip_pairs_values_and_refuses_mismatch():
    plan = plan_sweep(_with_sweep(design="zip", parameters={"network.n_subnets": [3, 4, 5],
                                                            "regime_overrides.fee_rate": [0.0, 0.001, 0.002]}))
    assert [(p["network.n_subnets"], p["regime_overrides.fee_rate"]) for p in plan.points] == [
        (3, 0.0), (4, 0.001), (5, 0.002)]
    with pytest.raises(ConfigError, match=r"^sweep\.parameters: .*same number of values"):
        plan_sweep(_with_sweep(design="zip", parameters={"network.n_subnets": [3, 4, 5],
                                                         "regime_overrides.fee_rate": [0.0, 0.001]}))


def test_lhs_within_bounds_stratified_and_reproducible():
    sweep_table = {"design": "lhs", "samples": 20, "seed": 5, "parameters": {
        "network.price_median": {"start": 0.01, "stop": 0.05},
        "network.pool_tao_median": {"start": 100.0, "stop": 10000.0, "log": True},
        "network.n_subnets": {"start": 2, "stop": 5},
        "regime": ["v3-2025-07", "price-burn-2026-06"],
    }}
    a, b = plan_sweep(_with_sweep(**sweep_table)), plan_sweep(_with_sweep(**sweep_table))
    assert a.points == b.points and len(a.points) == 20
    c = plan_sweep(_with_sweep(**{**sweep_table, "seed": 6}))
    assert c.points != a.points
    price = np.array([p["network.price_median"] for p in a.points])
    assert ((price >= 0.01) & (price <= 0.05)).all()
    # Latin hypercube: exactly one sample in each of the 20 equal strata
    assert sorted(np.floor((price - 0.01) / 0.04 * 20).astype(int)) == list(range(20))
    pool = np.array([p["network.pool_tao_median"] for p in a.points])
    assert ((pool >= 100.0) & (pool <= 10000.0)).all()
    subnets = [p["network.n_subnets"] for p in a.points]
    assert all(isinstance(n, int) and 2 <= n <= 5 for n in subnets) and sorted(set(subnets)) == [2, 3, 4, 5]
    assert {p["regime"] for p in a.points} == {"v3-2025-07", "price-burn-2026-06"}


def test_path_syntaxes_agree():
    cfg = copy.deepcopy(TINY)
    forms = [{"agents[1].count": [1, 4]}, {"agents.1.count": [1, 4]}, {"agents": {"1": {"count": [1, 4]}}}]
    plans = []
    for params in forms:
        cfg["sweep"] = {"parameters": params}
        plans.append(plan_sweep(cfg))
    assert all(p.parameter_names == ["agents[1].count"] for p in plans)
    assert [[c.agents[1].count for c in p.configs] for p in plans] == [[1, 4]] * 3


def test_horizon_days_replaces_blocks():
    plan = plan_sweep(_with_sweep(parameters={"horizon.days": [0.1]}))
    assert plan.configs[0].horizon.days == 0.1 and plan.configs[0].horizon.blocks is None


def test_no_sweep_table_is_one_run():
    plan = plan_sweep(TINY)
    assert plan.points == [{}] and plan.n_runs == 1 and plan.seed == TINY["seed"]


# ----------------------------------------------------------------------------------------------
# seeds


def test_common_random_numbers_across_points():
    plan = plan_sweep(SWEEP)
    tasks = list(plan.tasks())
    root = np.random.SeedSequence(11)
    exo_parent, runs_parent = root.spawn(2)
    exo_children = exo_parent.spawn(6)
    run_children = [point.spawn(6) for point in runs_parent.spawn(2)]
    for t in tasks:
        same_run = [u for u in tasks if u.run == t.run]
        # the exogenous stream is the same for every point of a run index ...
        assert all(u.exogenous_seed.generate_state(4).tolist() == t.exogenous_seed.generate_state(4).tolist()
                   for u in same_run)
        # ... while each (point, run) has its own streams
        assert len({tuple(u.seed.generate_state(4)) for u in same_run}) == len(same_run)
        # documented equivalence with spawning
        assert (t.exogenous_seed.generate_state(4) == exo_children[t.run].generate_state(4)).all()
        assert (t.seed.generate_state(4) == run_children[t.point][t.run].generate_state(4)).all()
    a = spawn_streams(tasks[0].seed, tasks[0].exogenous_seed)
    b = spawn_streams(tasks[6].seed, tasks[6].exogenous_seed)  # point 1, run 0
    assert tasks[6].point == 1 and tasks[6].run == 0
    assert a["exogenous"].random() == b["exogenous"].random()
    assert a["agents"].random() != b["agents"].random()


def test_manifest_records_shared_exogenous_seeds(reference):
    _, result = reference
    m = result.manifest
    assert (m.groupby("run")["exogenous_seed"].nunique() == 1).all()
    assert m["seed"].nunique() == N_RUNS


# ----------------------------------------------------------------------------------------------
# executors, output, resume


def test_reference_output_layout_and_load_round_trip(reference):
    out, result = reference
    assert isinstance(result, SweepResult) and result.n_ok == N_RUNS and result.n_failed == 0
    assert {p.name for p in out.iterdir()} == {"failed", "manifest.parquet", "runs", "series", "sweep.json",
                                               "timings.json", "validators"}
    assert sorted(p.name for p in (out / "series").iterdir()) == ["point=0", "point=1"]
    assert len(list((out / "series").glob("point=1/p0001-r*.parquet"))) == 6
    assert all(_complete(d) for d in _visible_runs(out))
    assert _hidden(out) == []
    m = pd.read_parquet(out / "manifest.parquet")
    for col in ("run_id", "point", "run", "status", "config_hash", "parameters", "seed", "regime", "version",
                "error", "metric:final_sum_price"):
        assert col in m.columns
    assert not {"wall_seconds", "host", "finished_at"} & set(m.columns)  # they vary: in timings.json
    assert list(result.timings["run_id"]) == list(m["run_id"]) and (result.timings["wall_seconds"] > 0).all()
    assert (m["status"] == "ok").all() and m["config_hash"].nunique() == 2
    assert json.loads(m["parameters"][7]) == {"regime_overrides.fee_rate": 0.01}
    tidy = load(out)
    assert list(tidy.columns) == ["run_id", "point", "run", "block", "day", "netuid", "variable", "value", "fee_rate"]
    assert tidy["run_id"].nunique() == N_RUNS and set(tidy["run"]) == set(range(6))
    pd.testing.assert_frame_equal(result.tidy, tidy)
    one = dtaosim.load_run(out / "runs" / "p0001-r0002")
    sub = tidy[(tidy["run_id"] == "p0001-r0002") & (tidy["variable"] == "price")]
    assert np.array_equal(sub.pivot(index="block", columns="netuid", values="value").to_numpy(),
                          one.prices.to_numpy())
    assert run_metrics(one)["final_sum_price"] == m.loc[8, "metric:final_sum_price"]
    prices_only = load(out, variables=["price"])
    assert set(prices_only["variable"]) == {"price"}
    with pytest.warns(UserWarning, match="at least 20 are needed"):
        s = result.summary()
    assert set(s.columns) >= {"point", "fee_rate", "metric", "n", "median", "q05", "q95"}
    row = s[(s["point"] == 1) & (s["metric"] == "final_sum_price")].iloc[0]
    assert row["n"] == 6 and row["q05"] <= row["median"] <= row["q95"]
    assert row["fee_rate"] == 0.01


def test_same_seeds_same_results_on_every_executor(reference, tmp_path):
    pytest.importorskip("dask.distributed", reason="the distributed extra (dask) is not installed")
    ref_out, _ = reference
    expected = load(ref_out)
    for executor in ("processes", "dask"):
        out = tmp_path / executor
        result = dtaosim.sweep(SWEEP, out=out, executor=executor, workers=2, quiet=True)
        assert result.n_ok == N_RUNS, result.failed["error"].tolist()
        pd.testing.assert_frame_equal(load(out), expected, check_exact=True)
        assert _hidden(out) == []

def test_the_local_dask_cluster_keeps_glibcs_malloc_and_no_profiler(monkeypatch):
    # dask's nannies would set MALLOC_TRIM_THRESHOLD_=65536 in each worker (and in this process's environ),
    # which makes a run 14-20% slower; the cluster executor="dask" starts leaves it unset
    pytest.importorskip("dask.distributed", reason="the distributed extra (dask) is not installed")
    import dask.config

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 65536}):  # dask's default,
        ex, close, slots = sweep_mod._dask_executor(1, None)  # whatever this machine's dask config says
    try:
        assert slots == 1
        assert ex.submit(os.getenv, "MALLOC_TRIM_THRESHOLD_").result() is None
        assert ex.submit(os.getenv, "OMP_NUM_THREADS").result() == "1"  # dask's other settings stay
        assert ex.submit(dask.config.get, "distributed.worker.profile.enabled").result() is False
    finally:
        close(False)
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ


def test_workers_of_a_scheduler_that_trim_malloc_are_warned_about(monkeypatch):
    pytest.importorskip("dask.distributed", reason="the distributed extra (dask) is not installed")
    import logging

    import dask.config
    from dask.distributed import LocalCluster

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "0")  # restored to absent afterwards: dask's nanny sets it here
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 65536}), \
            LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,  # dask's defaults, as a
                         silence_logs=logging.ERROR) as cluster:                    # user's own workers start
        with pytest.warns(RuntimeWarning, match=r"1 of 1 dask workers run with MALLOC_TRIM_THRESHOLD_=65536"):
            _, close, _ = sweep_mod._dask_executor(1, cluster.scheduler_address)
        close(False)



def test_a_run_on_a_dask_cluster_shares_its_nodes_cores_among_all_the_workers_there(monkeypatch):
    # `dask worker --nworkers N --nthreads 1` on an N-core node (the README's cluster): each worker sees every core,
    # and runs taking them all would put N threads on each core; each run gets cores // the node's worker threads
    pytest.importorskip("dask.distributed", reason="the distributed extra (dask) is not installed")
    monkeypatch.setattr(sweep_mod, "available_cores", lambda: 32)  # a 32-core node, whatever this machine has
    import logging

    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        addresses = list(client.scheduler_info()["workers"])
        assert len(addresses) == 2
        got = [client.submit(sweep_mod._threads_here, workers=[a], pure=False).result() for a in addresses]
    assert got == [16, 16]  # the worker's own threads alone would give 32 each


def test_second_run_skips_finished_runs(reference):
    out, _ = reference
    before = {d.name: (d / "record.json").stat().st_mtime_ns for d in _visible_runs(out)}
    again = dtaosim.sweep(SWEEP, out=out, executor="serial", quiet=True)
    assert again.skipped == N_RUNS and again.n_ok == N_RUNS
    assert {d.name: (d / "record.json").stat().st_mtime_ns for d in _visible_runs(out)} == before


def test_a_different_sweep_in_the_same_folder_is_refused(reference):
    out, _ = reference
    other = copy.deepcopy(SWEEP)
    other["sweep"]["runs"] = 7
    with pytest.raises(ConfigError, match="holds a different sweep"):
        dtaosim.sweep(other, out=out, executor="serial", quiet=True)


@pytest.mark.parametrize("how", ["sigkill-group", "sigterm-parent"])
def test_killed_sweep_resumes_to_the_uninterrupted_result(reference, tmp_path, how):
    out = tmp_path / "killed"
    code = f"import dtaosim; dtaosim.sweep({SWEEP!r}, out={str(out)!r}, executor='processes', workers=2, quiet=True)"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_visible_runs(out)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    if how == "sigkill-group":
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        os.kill(proc.pid, signal.SIGTERM)
    rc = proc.wait(timeout=60)
    done = _visible_runs(out)
    assert rc != 0 and 2 <= len(done) < N_RUNS, (rc, len(done))
    assert all(_complete(d) for d in done)  # no partial run folder
    if how == "sigterm-parent":
        assert _hidden(out) == []  # the sweep removed its temporary folders
        for _ in range(100):  # and its worker processes end with it
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("worker processes outlived the sweep")
    resumed = dtaosim.sweep(SWEEP, out=out, executor="serial", quiet=True)
    assert resumed.skipped == len(done) and resumed.n_ok == N_RUNS
    assert _hidden(out) == []
    pd.testing.assert_frame_equal(load(out), load(reference[0]), check_exact=True)


def test_a_resumed_sweep_removes_the_dataset_files_a_killed_one_was_writing(reference, tmp_path):
    # what SIGKILL leaves between mkstemp and the rename of a run's dataset file; a live writer's file stays
    out = tmp_path / "copy"
    shutil.copytree(reference[0], out)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    folder = out / "series" / "point=0"
    stale = folder / f".p0000-r0002.parquet.{dead}.k2j4x9.tmp"
    live = folder / f".p0000-r0003.parquet.{os.getppid()}.q8w1z0.tmp"
    for f in (stale, live):
        f.write_bytes(b"half a parquet file")
    again = dtaosim.sweep(SWEEP, out=out, executor="serial", quiet=True)
    assert again.skipped == N_RUNS
    assert not stale.exists() and live.exists()


def test_a_failing_run_is_recorded_and_the_others_finish(tmp_path):
    # point 1 is a valid config whose agents' budgets exceed the free TAO: the model raises
    cfg = _with_sweep(runs=2, parameters={"network.external_tao": [50000.0, 10.0]})
    out = tmp_path / "fail"
    result = dtaosim.sweep(cfg, out=out, executor="serial", quiet=True)
    assert result.n_ok == 2 and result.n_failed == 2
    failed = result.failed
    assert list(failed["run_id"]) == ["p0001-r0000", "p0001-r0001"]
    assert failed["error"].str.contains("Traceback").all() and failed["error"].str.contains("total budget").all()
    assert {d.name for d in _visible_runs(out)} == {"p0000-r0000", "p0000-r0001"}
    assert json.loads((out / "failed" / "p0001-r0000.json").read_text())["status"] == "failed"
    assert set(load(out)["point"]) == {0}
    again = dtaosim.sweep(cfg, out=out, executor="serial", quiet=True)  # failed runs are retried
    assert again.skipped == 2 and again.n_failed == 2


def test_failure_in_a_worker_process_is_isolated_too(tmp_path, monkeypatch):
    calls = []
    real = sweep_mod.run_task

    def flaky(task):
        calls.append(task.run_id)
        if task.run_id == "p0000-r0001":
            raise RuntimeError("boom")  # outside run_task's own guard: the pool path records it
        return real(task)

    class Inline:
        def submit(self, fn, *args):
            from concurrent.futures import Future

            f = Future()
            try:
                f.set_result(flaky(*args))
            except Exception as e:
                f.set_exception(e)
            return f

    monkeypatch.setattr(sweep_mod, "_process_executor", lambda workers: (Inline(), lambda interrupted: None))
    result = dtaosim.sweep(_with_sweep(runs=3), out=tmp_path / "o", executor="processes", workers=1, quiet=True)
    assert result.n_ok == 2 and result.n_failed == 1 and "boom" in result.failed["error"][0]


# ----------------------------------------------------------------------------------------------
# optional extras, CLI


def test_dask_missing_names_the_extra(tmp_path, monkeypatch):
    for name in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"pip install 'dtaosim\[distributed\]'"):
        dtaosim.sweep(TINY, out=tmp_path / "o", executor="dask", quiet=True)


def test_cli_sweep(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text('name = "cli-sweep"\n[horizon]\nblocks = 720\n[network]\nn_subnets = 3\nexternal_tao = 10000.0\n'
                 '[[agents]]\nstrategy = "passive"\ncount = 2\nbudget = 20.0\n'
                 '[sweep]\nruns = 2\n[sweep.parameters]\n"regime_overrides.fee_rate" = [0.0, 0.003]\n')
    assert main(["sweep", str(p), "--out", str(tmp_path / "o"), "--executor", "serial"]) == 0
    assert "4 runs: 4 ok" in capsys.readouterr().out
    assert len(_visible_runs(tmp_path / "o")) == 4
    p.write_text(p.read_text().replace("[0.0, 0.003]", "[0.0, 3.0]"))
    assert main(["sweep", str(p), "--out", str(tmp_path / "o2"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "dtaosim: error: s.toml: sweep.parameters.regime_overrides.fee_rate: 3.0 is not allowed; ")
    assert not (tmp_path / "o2").exists()


def test_example_config_is_valid():
    plan = plan_sweep(os.path.join(os.path.dirname(__file__), "..", "..", "experiments", "sweep-fee.toml"))
    assert plan.n_runs == 9 and plan.parameter_names == ["regime_overrides.fee_rate"]


# ----------------------------------------------------------------------------------------------
# sensitivity


def test_morris_ranks_the_dominant_parameter_first(tmp_path):
    pytest.importorskip("SALib")
    from dtaosim.analysis.sensitivity import morris

    params = {"regime_overrides.fee_rate": (0.0, 0.01), "network.price_median": (0.005, 0.05)}
    res = morris(TINY, params, metric="final_sum_price", trajectories=4, num_resamples=200, seed=1,
                 out=tmp_path / "m", executor="serial", quiet=True)
    assert res.X.shape == (12, 2) and res.Y.shape == (12,)
    assert res.ranking[0] == "network.price_median"
    idx = res.indices
    assert idx.loc["network.price_median", "mu_star"] > 2 * idx.loc["regime_overrides.fee_rate", "mu_star"]
    assert (idx["mu_star_conf"] >= 0).all()


def test_sobol_indices_with_confidence_intervals():
    pytest.importorskip("SALib")
    from dtaosim.analysis.sensitivity import sobol_analyze, sobol_sample

    params = {"a": (0.0, 1.0), "b": (0.0, 1.0), "c": (0.0, 1.0)}
    X = sobol_sample(params, n=256, seed=3)
    Y = 10.0 * X[:, 1] + 1.0 * X[:, 0] + 0.1 * X[:, 2]
    idx = sobol_analyze(params, Y, num_resamples=200, seed=3)
    assert list(idx.index) == ["b", "a", "c"]
    assert idx.loc["b", "ST"] > 0.9 and (idx["ST_conf"] > 0).all()


def test_salib_missing_names_the_extra(monkeypatch):
    from dtaosim.analysis import sensitivity

    monkeypatch.setitem(sys.modules, "SALib", None)
    with pytest.raises(ImportError, match=r"pip install 'dtaosim\[sensitivity\]'"):
        sensitivity.morris_sample({"a": (0.0, 1.0)})


def test_common_random_numbers_share_the_initial_network():
    import numpy as np

    from dtaosim.model import DTaoModel
    from tests.conftest import SMALL

    ex = np.random.SeedSequence(99)
    a = DTaoModel(SMALL, seed=np.random.SeedSequence(1), exogenous_seed=ex)
    b = DTaoModel({**SMALL, "regime_overrides": {"fee_rate": 0.01}}, seed=np.random.SeedSequence(2), exogenous_seed=ex)
    c = DTaoModel(SMALL, seed=np.random.SeedSequence(3), exogenous_seed=np.random.SeedSequence(100))
    np.testing.assert_array_equal(a.state.pool_tao, b.state.pool_tao)
    np.testing.assert_array_equal(a.neurons.quality, b.neurons.quality)
    assert not np.array_equal(a.state.pool_tao, c.state.pool_tao)


@pytest.mark.parametrize("design", ["sobol", "halton"])
def test_qmc_designs_within_bounds_balanced_and_reproducible(design):
    from scipy.stats import qmc

    sweep_table = {"design": design, "samples": 16, "seed": 5, "parameters": {
        "network.price_median": {"start": 0.01, "stop": 0.05},
        "network.pool_tao_median": {"start": 100.0, "stop": 10000.0, "log": True},
    }}
    a, b = plan_sweep(_with_sweep(**sweep_table)), plan_sweep(_with_sweep(**sweep_table))
    assert a.points == b.points and len(a.points) == 16
    assert plan_sweep(_with_sweep(**{**sweep_table, "seed": 6})).points != a.points
    price = np.array([p["network.price_median"] for p in a.points])
    pool = np.array([p["network.pool_tao_median"] for p in a.points])
    assert ((price >= 0.01) & (price <= 0.05)).all() and ((pool >= 100.0) & (pool <= 10000.0)).all()
    u = np.column_stack([(price - 0.01) / 0.04, np.log(pool / 100.0) / np.log(100.0)])
    # low discrepancy: far more even than independent uniform draws of the same size
    rng = np.random.default_rng(0)
    random_cd = np.median([qmc.discrepancy(rng.random((16, 2))) for _ in range(50)])
    assert qmc.discrepancy(u) < random_cd / 2
    # each half of each axis holds half the points (Sobol: exactly, by construction)
    if design == "sobol":
        assert ((u < 0.5).sum(axis=0) == 8).all()


def test_sampled_designs_come_from_scipy_qmc():
    from scipy.stats import qmc

    from dtaosim.runs.sweep import unit_sample

    lhs = unit_sample("lhs", 10, 3, seed=1)
    assert lhs.shape == (10, 3)
    for j in range(3):  # one point in each tenth of each axis
        assert sorted(np.floor(lhs[:, j] * 10).astype(int)) == list(range(10))
    expected = qmc.Halton(2, scramble=True, seed=np.random.default_rng(np.random.SeedSequence(1, spawn_key=(2,))))
    np.testing.assert_array_equal(unit_sample("halton", 5, 2, seed=1), expected.random(5))
    assert not hasattr(sweep_mod, "_lhs")


def test_sobol_needs_a_power_of_two():
    with pytest.raises(ConfigError, match=r"sweep\.samples: 12 is not allowed; design = 'sobol' needs a power of 2"):
        plan_sweep(_with_sweep(design="sobol", samples=12,
                               parameters={"network.price_median": {"start": 0.01, "stop": 0.05}}))
