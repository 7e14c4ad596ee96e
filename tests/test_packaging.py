"""What a wheel holds: every package and every data file under dtaosim/ is declared in pyproject.toml."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "dtaosim"


def _shipped_files() -> list[Path]:
    """Files under dtaosim/ a wheel must carry: everything but caches and hidden files."""
    out = []
    for p in sorted(PKG.rglob("*")):
        rel = p.relative_to(PKG)
        if p.is_file() and "__pycache__" not in rel.parts and not any(s.startswith(".") for s in rel.parts):
            out.append(p)
    return out


def test_package_data_covers_every_data_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["dtaosim"]
    declared = {p for pattern in patterns for p in PKG.glob(pattern)}  # setuptools' glob: * stays in one folder
    data = [p for p in _shipped_files() if p.suffix not in (".py",)]
    missing = [str(p.relative_to(PKG)) for p in data if p not in declared]
    assert missing == [], f"files under dtaosim/ no package-data pattern ships: {missing}"
    # the folders the packaged experiments and the studies read from are all there
    for folder in ("experiments", "data"):
        files = sorted(p.name for p in (PKG / folder).iterdir() if p.is_file())
        assert files and all((PKG / folder / f) in declared for f in files)
    assert {"subnets_snapshot_2026-04-11.json", "facts.toml"} <= {p.name for p in (PKG / "data").iterdir()}


def test_every_folder_of_modules_is_a_package():
    """setuptools' find (not find_namespace) ships only folders with an __init__.py."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["dtaosim*"]
    folders = {p.parent for p in _shipped_files() if p.suffix == ".py"}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").is_file())
    assert missing == []
    assert len(folders) >= 10
