"""Output files: every file dtaosim writes gets the mode the user's umask gives, and is written atomically."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import dtaosim
from dtaosim.cli import main
from dtaosim.runs import files
from dtaosim.runs.sweep import SweepResult

SMALL_TOML = ('name = "out-small"\nseed = 3\n[horizon]\nblocks = 1080\n[network]\nn_subnets = 4\n'
              'external_tao = 10000.0\n[[agents]]\nstrategy = "passive"\ncount = 3\nbudget = 20.0\n')
# 2 points x 2 runs; point 1's agents want more TAO than there is, so its runs fail (failed/*.json)
SWEEP = {
    "name": "out-sweep", "seed": 3,
    "horizon": {"blocks": 720, "blocks_per_tick": 360},
    "network": {"n_subnets": 3, "root_stake": 100000.0, "external_tao": 50000.0},
    "agents": [{"strategy": "passive", "count": 2, "budget": 20.0}],
    "sweep": {"runs": 2, "seed": 5, "parameters": {"network.external_tao": [50000.0, 10.0]}},
}
STUDY_TOML = ('variants = ["yuma"]\n[design]\ns_h = [0.6]\nw_h = [0.5, 1.0]\nw_c = [0.0, 1.0]\n'
              "n_nodes = 32\nn_validators = 8\n[sweeps]\nxi = [0.0, 0.5]\n")


@pytest.fixture(params=[0o022, 0o027], ids=["umask022", "umask027"])
def umask(request):
    """Run the test under this umask; the old one is put back afterwards."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _wrong_modes(root: Path, mask: int) -> list[str]:
    """Files and folders under ``root`` (and ``root``) whose mode is not what ``mask`` gives."""
    wrong = []
    for p in [root, *sorted(root.rglob("*"))]:
        want = (0o777 if p.is_dir() else 0o666) & ~mask
        got = stat.S_IMODE(p.stat().st_mode)
        if got != want:
            wrong.append(f"{p.relative_to(root.parent)}: {oct(got)} (expected {oct(want)})")
    return wrong


def test_umask_is_read_without_changing_it(umask):
    assert files.current_umask() == umask
    assert os.umask(umask) == umask  # unchanged by the read
    assert files.file_mode() == 0o666 & ~umask and files.dir_mode() == 0o777 & ~umask


def test_umask_without_proc_is_read_once(monkeypatch, umask):
    monkeypatch.setattr(files, "_PROC_STATUS", "/nonexistent/status")
    monkeypatch.setattr(files, "_cached_umask", None)
    assert files.current_umask() == umask
    os.umask(0o077)  # not seen: read once
    assert files.current_umask() == umask


def test_every_file_of_a_run_a_report_a_sweep_and_a_study_follows_the_umask(tmp_path, umask):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL_TOML)
    assert main(["run", str(cfg), "--out", str(tmp_path / "run" / "nested"), "--quiet"]) == 0
    assert main(["plot", str(tmp_path / "run" / "nested"), "--out", str(tmp_path / "report"), "--quiet"]) == 0
    result = dtaosim.sweep(SWEEP, out=tmp_path / "sweep", executor="serial", quiet=True)
    assert result.n_ok == 2 and result.n_failed == 2
    study = tmp_path / "study.toml"
    study.write_text(STUDY_TOML)
    from dtaosim.studies.consensus_guarantees import main as study_main

    assert study_main([str(study), "--out", str(tmp_path / "study"), "--quiet"]) == 0
    names = set()
    for folder in ("run", "report", "sweep", "study"):
        assert _wrong_modes(tmp_path / folder, umask) == []
        names |= {p.name for p in (tmp_path / folder).rglob("*")}
    assert {"prices.png", "metadata.json", "series.parquet", "index.html", "manifest.parquet", "sweep.json",
            "record.json", "p0001-r0000.json", "table.md", "frame.parquet"} <= names
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]


def test_a_sweep_into_a_temporary_folder_follows_the_umask(umask):
    import shutil

    cfg = {k: v for k, v in SWEEP.items() if k != "sweep"}
    result = dtaosim.sweep(cfg, executor="serial", quiet=True)
    try:
        assert result.n_ok == 1
        assert _wrong_modes(result.out, umask) == []
    finally:
        shutil.rmtree(result.out)


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path, umask):
    target = tmp_path / "out" / "data.bin"
    files.write_bytes(target, b"old")
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask

    def half(p):
        p.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        files.atomic_write_bytes(target, half)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["data.bin"]


# ----------------------------------------------------------------------------------------------
# same config and seed, same bytes


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path, except the timings files."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "timings.json"}


def _assert_same_bytes(a: Path, b: Path) -> None:
    fa, fb = _files(a), _files(b)
    assert sorted(fa) == sorted(fb)
    differ = [name for name in fa if fa[name] != fb[name]]
    assert differ == [], f"differ between {a.name} and {b.name}: {differ}"


def test_same_config_and_seed_give_byte_identical_files(tmp_path):
    import json
    import time

    import pyarrow.parquet as pq

    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL_TOML)
    study = tmp_path / "study.toml"
    study.write_text(STUDY_TOML)
    from dtaosim.studies.consensus_guarantees import main as study_main

    for name, executor in (("a", "serial"), ("b", "processes")):
        assert main(["run", str(cfg), "--out", str(tmp_path / name / "run"), "--quiet"]) == 0
        assert main(["plot", str(tmp_path / name / "run"), "--out", str(tmp_path / name / "report"), "--quiet"]) == 0
        result = dtaosim.sweep(SWEEP, out=tmp_path / name / "sweep", executor=executor, workers=2, quiet=True)
        assert result.n_ok == 2 and result.n_failed == 2
        assert study_main([str(study), "--out", str(tmp_path / name / "study"), "--quiet"]) == 0
        time.sleep(1.1)  # the two runs start in different seconds (started_at, finished_at differ)
    a, b = tmp_path / "a", tmp_path / "b"
    _assert_same_bytes(a, b)
    assert len(_files(a)) > 30

    # what varies is in the timings files, and nowhere else
    timings = json.loads((a / "run" / "timings.json").read_text())
    assert set(timings) == {"wall_seconds", "started_at", "finished_at", "host"} and timings["wall_seconds"] > 0
    assert timings != json.loads((b / "run" / "timings.json").read_text())
    assert "wall_seconds" not in json.loads((a / "run" / "metadata.json").read_text())
    assert b"wall_seconds" not in pq.read_schema(a / "run" / "series.parquet").metadata[b"dtaosim"]
    assert dtaosim.load_run(a / "run").timings == timings
    from PIL import Image

    with Image.open(a / "run" / "prices.png") as img:
        assert "Software" not in img.info
    sweep_t = json.loads((a / "sweep" / "timings.json").read_text())
    assert sweep_t["sweep"]["executor"] == "serial" and sweep_t["sweep"]["runs"] == 4
    assert sorted(sweep_t["runs"]) == ["p0000-r0000", "p0000-r0001", "p0001-r0000", "p0001-r0001"]
    assert (a / "sweep" / "runs" / "p0000-r0000" / "timings.json").is_file()
    assert json.loads((a / "study" / "timings.json").read_text())["wall_seconds"] > 0


def test_timings_are_readable_from_the_api(tmp_path):
    result = dtaosim.run(_small_dict(), out=tmp_path / "run")
    assert result.timings["wall_seconds"] > 0 and result.timings["host"]
    assert "wall_seconds" not in result.metadata
    sweep = dtaosim.sweep(SWEEP, out=tmp_path / "sweep", executor="serial", quiet=True)
    t = sweep.timings
    assert list(t.columns) == ["run_id", "point", "run", "status", "wall_seconds", "started_at", "finished_at",
                               "host"]
    assert list(t["run_id"]) == ["p0000-r0000", "p0000-r0001", "p0001-r0000", "p0001-r0001"]
    assert list(t["status"]) == ["ok", "ok", "failed", "failed"]
    assert (t["wall_seconds"] > 0).all() and t["finished_at"].notna().all()
    assert "wall_seconds" not in sweep.manifest.columns and "host" not in sweep.manifest.columns
    assert sweep.sweep_timings["executor"] == "serial" and sweep.sweep_timings["finished_at"]
    again = dtaosim.sweep(SWEEP, out=tmp_path / "sweep", executor="serial", quiet=True)  # resumed: ok runs kept
    assert again.skipped == 2
    assert list(again.timings["wall_seconds"][:2]) == list(t["wall_seconds"][:2])


def _small_dict() -> dict:
    return {"name": "out-small", "seed": 3, "horizon": {"blocks": 1080}, "network": {"n_subnets": 4,
            "external_tao": 10000.0}, "agents": [{"strategy": "passive", "count": 3, "budget": 20.0}]}


def test_folders_of_older_versions_still_load(tmp_path):
    import json

    run = tmp_path / "run"
    dtaosim.run(_small_dict(), out=run)
    meta = json.loads((run / "metadata.json").read_text())
    meta["wall_seconds"] = 1.25  # written by versions before timings.json
    (run / "metadata.json").write_text(json.dumps(meta))
    (run / "timings.json").unlink()
    old = dtaosim.load_run(run)
    assert old.timings == {"wall_seconds": 1.25} and "wall_seconds" not in old.metadata
    assert old.prices.shape == (4, 4)

    out = tmp_path / "sweep"
    dtaosim.sweep(SWEEP, out=out, executor="serial", quiet=True)
    (out / "timings.json").unlink()
    for i, rec_path in enumerate(sorted(out.glob("runs/*/record.json")) + sorted(out.glob("failed/*.json"))):
        rec = json.loads(rec_path.read_text())
        rec.update(host="old-host", wall_seconds=float(i + 1), finished_at="2026-01-01T00:00:00+00:00")
        rec_path.write_text(json.dumps(rec))
        (rec_path.parent / "timings.json").unlink(missing_ok=True)
    res = SweepResult.open(out)
    assert res.n_ok == 2 and res.n_failed == 2
    assert list(res.timings["wall_seconds"]) == [1.0, 2.0, 3.0, 4.0]
    assert set(res.timings["host"]) == {"old-host"}
    assert "wall_seconds" not in res.manifest.columns


def test_temporary_files_of_worker_processes_stay_in_the_chosen_folder(tmp_path):
    """A notebook's sweep workers need multiprocessing's pymp-* folder; keep_temporary_files_in puts it (and every
    other tempfile default) under the folder given, made if missing (run in a fresh interpreter: it is per
    process)."""
    import subprocess
    import sys

    folder = tmp_path / "results" / "tmp"
    code = ("import multiprocessing.util, tempfile, sys\n"
            "from dtaosim.runs.files import keep_temporary_files_in\n"
            "p = keep_temporary_files_in(sys.argv[1])\n"
            "print(p); print(multiprocessing.util.get_temp_dir()); print(tempfile.mkdtemp())\n")
    out = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=True)
    made, pymp, other = out.stdout.split()
    assert made == str(folder.resolve()) and folder.is_dir()
    assert pymp.startswith(str(folder.resolve()) + "/pymp-")
    assert other.startswith(str(folder.resolve()) + "/")
