"""Regenerate the README's and the docs' figures from the current code.

    python docs/make_figures.py                      # docs/baseline-prices.png (the baseline, about a minute)
    python docs/make_figures.py --gate-study DIR     # also docs/gate-root-reborn.png from a finished
                                                     # `dtaosim study gate-and-root-reborn --out DIR`

``docs/explorer.png`` has its own script (``docs/explorer_screenshot.py``: it needs headless Chromium).
The baseline figure is the ``prices.png`` of ``dtaosim run baseline``'s report (its subject: the live subnets
with the highest final price, time in days); the gate figure is the study's fan charts of six metrics.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GATE_METRICS = ("top8_share", "effective_n", "outside_top32", "sum_price", "depth:2023-24", "depth:2025 H2-2026")


def baseline_prices(out: Path) -> None:
    """Run the packaged baseline experiment and copy its report's ``prices.png`` to ``out``."""
    import dtaosim
    from dtaosim.analysis.report import write_report

    result = dtaosim.run(dtaosim.load_config("baseline"))
    with tempfile.TemporaryDirectory(prefix="dtaosim-figures-") as tmp:
        paths = {p.name: p for p in write_report(result, tmp)}
        shutil.copyfile(paths["prices.png"], out)


def gate_study(folder: Path, out: Path) -> None:
    """The fan charts of a finished gate-and-Root-Reborn study (its ``paths.parquet``) to ``out``."""
    import pandas as pd

    from dtaosim.studies import gate_root_reborn as grr

    paths = pd.read_parquet(folder / "paths.parquet")
    study = grr.StudyResult(paths=paths, arms=grr.arm_configs(grr.EXPERIMENT))
    study.plot(list(GATE_METRICS)).savefig(out, dpi=80)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gate-study", type=Path, default=None, help="a finished gate-and-root-reborn study folder")
    args = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    docs = ROOT / "docs"
    baseline_prices(docs / "baseline-prices.png")
    print(f"wrote {docs / 'baseline-prices.png'}")
    if args.gate_study is not None:
        gate_study(args.gate_study, docs / "gate-root-reborn.png")
        print(f"wrote {docs / 'gate-root-reborn.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
