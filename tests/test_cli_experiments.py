"""`dtaosim experiments`, `dtaosim study NAME`, packaged experiments by name, `dtaosim plot --netuids`."""

from __future__ import annotations

import importlib

import pytest

from dtaosim.cli import main
from dtaosim.config import packaged_experiments


def test_experiments_lists_every_packaged_experiment_with_its_question(capsys):
    assert main(["experiments"]) == 0
    out = capsys.readouterr().out
    for name in packaged_experiments():
        assert f"\n{name} " in f"\n{out}"
    assert "How far does sn33's price fall" in out
    assert "dtaosim study consensus-guarantees" in out
    assert "dtaosim run baseline" in out and "dtaosim sweep owner-dump" in out
    assert main(["experiments", "--paths"]) == 0
    paths = capsys.readouterr().out.split()
    assert len(paths) == len(packaged_experiments()) and all(p.endswith(".toml") for p in paths)


def test_study_runs_the_packaged_study_with_its_options(monkeypatch, capsys, tmp_path):
    module = importlib.import_module("dtaosim.studies.consensus_guarantees")
    seen = []
    monkeypatch.setattr(module, "main", lambda argv: seen.append(list(argv)) or 0)
    assert main(["study", "consensus-guarantees", "--out", str(tmp_path / "cg"), "--small", "--s-h", "0.6"]) == 0
    config, *rest = seen[0]
    assert config.endswith("dtaosim/experiments/consensus-guarantees.toml")
    assert rest == ["--out", str(tmp_path / "cg"), "--small", "--s-h", "0.6"]
    copy = tmp_path / "my-cg.toml"
    copy.write_text('study = "consensus-guarantees"\nname = "mine"\n')
    assert main(["study", str(copy), "--out", "x"]) == 0
    assert seen[1] == [str(copy), "--out", "x"]


def test_study_refuses_an_unknown_study(capsys):
    assert main(["study", "no-such-study", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "study: 'no-such-study' is not allowed; studies: consensus-guarantees" in err


def test_running_a_study_as_an_experiment_points_to_the_study(capsys, tmp_path):
    assert main(["run", "consensus-guarantees", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "a study config, not an experiment; run it with `dtaosim study consensus-guarantees`" in err
    assert not (tmp_path / "o").exists()


def test_other_commands_refuse_extra_arguments(capsys):
    assert main(["experiments", "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["0", "x", "-3"])
def test_plot_netuids_refuses_bad_items(bad, capsys, tmp_path):
    from dtaosim.cli import _netuids
    from dtaosim.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"--netuids: '{bad}' is not allowed"):
        _netuids([bad])
    assert _netuids(["33,5", "dissolved"]) == [33, 5, "dissolved"]
