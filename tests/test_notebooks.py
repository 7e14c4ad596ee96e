"""Every numbered notebook executes top to bottom at its small size (DTAOSIM_SMALL=1)."""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebooks extra (nbformat) is not installed")
nbclient = pytest.importorskip("nbclient", reason="the notebooks extra (nbclient) is not installed")
pytest.importorskip("ipykernel", reason="the notebooks extra (ipykernel) is not installed")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch, tmp_path):
    monkeypatch.setenv("DTAOSIM_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    tmp = tmp_path / "tmp"  # the kernel's temporary folder: a notebook leaves nothing there
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(book, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert os.environ["DTAOSIM_SMALL"] == "1"
    left = sorted(p.name for p in tmp.iterdir())
    assert left == [], f"{path.name} left files outside its folder: {left}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_a_visible_size_switch_and_plots_days(path):
    book = nbformat.read(path, as_version=4)
    code = [c.source for c in book.cells if c.cell_type == "code"]
    switch = "SMALL = True" if path.name.startswith("08") else "FULL = False"
    assert any(switch in line for line in code[0].splitlines()), f"{path.name}: no {switch} in its first cell"
    text = "\n".join(code)
    assert "7200" not in text and "blocks_per_day=" not in text  # time in days from the results, not by hand
    assert "tempfile" not in text and "../experiments" not in text


def test_there_are_numbered_notebooks():
    names = [p.name[:2] for p in NOTEBOOKS]
    assert {"01", "02", "04", "05"} <= set(names)
