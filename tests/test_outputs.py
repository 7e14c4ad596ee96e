"""Output files: every file dtaosim writes gets the mode the user's umask gives, and is written atomically."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import dtaosim
from dtaosim import files
from dtaosim.cli import main

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
