"""The market's behaviour against the facts: the configs, the moments and the ensembles that measure it.

Two studies, each an ensemble of seeds (the model is chaotic: one path means little):

* **April 2026 onwards** (:func:`april_config`): the calibrated April study (``dtaosim validate``'s), the bundled
  snapshot of 2026-04-11 along the chain's timeline (``regime = "chain"``), with staker strategies, holder
  populations, validators in a validator market, miners as economic agents, owners choosing their miner burn
  and subnet registrations;
  :func:`april_moments` reads the facts' quantities off a run;
* **the launch** (:func:`launch_config`): ``experiments/launch-2025.toml``'s 64 subnets at 1 TAO : 1 alpha under
  the launch rules, with a holder population buying in; :func:`launch_moments`.

:data:`TARGETS` holds the facts' numbers (``/work/shared/spec/empirical-facts.md``, by fact number) that the
moments are compared with.  :func:`ensemble` runs seeds (in processes) and :func:`summary` gives each moment's
median and 5-95% band.  ``python -m dtaosim.analysis.behaviour april --seeds 8 --days 150`` prints the table.

Units: TAO, alpha, TAO per alpha, days, fractions.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.analysis.metrics import hhi, top_share
from dtaosim.protocol.regimes import get_regime
from dtaosim.runs.results import block_values

BLOCKS_PER_DAY = get_regime("launch-2025-02").blocks_per_day
"""Blocks a day (for runs whose metadata does not say)."""

TARGETS: dict[str, dict[str, Any]] = {
    "registration_burn_at_floor": {"fact": 21, "value": 0.516, "note": "share of subnets at the 0.0005 TAO floor"},
    "registration_burn_max": {"fact": 21, "value": 1.63, "note": "largest neuron registration burn, TAO"},
    "log10_price_sd": {"fact": 22, "value": 0.32, "note": "cross-section of log10 prices (Apr 2026)"},
    "price_min": {"fact": 22, "value": 0.0023, "note": "lowest started subnet's price, TAO"},
    "below_0.001": {"fact": 22, "value": 0.0, "note": "share of subnets below 0.001 TAO (none in Apr 2026)"},
    "burn_full": {"fact": 26, "value": 35 / 128, "note": "share of subnets burning 100% of miner emission"},
    "burn_partial": {"fact": 26, "value": 32 / 128, "note": "share of subnets burning part of it"},
    "burn_mean": {"fact": 26, "value": 0.43, "note": "mean miner burn (2026-07-27)"},
    "validator_top5": {"fact": 35, "value": 0.65, "note": "top-5 validators' share of delegated stake (> 65%)"},
    "validator_top10": {"fact": 35, "value": 0.85, "note": "top-10 validators' share (~85%; 64 validators)"},
    "miner_uids_paid": {"fact": "4.5", "value": 0.01, "note": "share of miner uids earning (over 99% earn 0)"},
    "paid_miners_per_subnet": {"fact": "4.5", "value": 2.56, "note": "1% of 256 uids"},
    "launch_sum_price_day1": {"fact": 15, "value": 1.0, "note": "sum of prices stayed above 1 until Oct 2025"},
    "launch_max_price": {"fact": 14, "value": 5.0, "note": "some alphas spiked to 5-10 TAO within days"},
    "launch_low_day7": {"fact": 14, "value": 0.2, "note": "others fell to 0.1-0.2 TAO"},
    "launch_days_above_1": {"fact": 15, "value": 245.0,
                            "note": "days from the launch (13 Feb 2025) to the sum first below 1 (16 Oct 2025)"},
}
"""The facts' numbers the moments are compared with (empirical-facts.md, fact number)."""

SMALL_VALIDATORS = 12
"""Validators of a ``small`` April run (the top 12 of the study's 64 ranks, its three groups in proportion)."""


def april_config(days: float = 150.0, seed: int = 1, small: bool = False, behaviour: bool = True,
                 experiment: str | Path | None = None) -> dict[str, Any]:
    """The April-2026 study as ``dtaosim validate`` runs it (``experiments/april-2026-calibrated.toml``, or
    ``experiment``: the 2026-04-11 snapshot along the chain's timeline with the calibrated behaviour) for
    ``days`` at seed ``seed``.

    ``behaviour`` False gives the same network and agents without the behaviours of issue 17 (no holder
    populations: outside holders are one passive lump; validators weight miners in proportion to quality and
    start from equal stakes; miners know their quality and enter at once; owners burn a fixed 0): the "before"
    of the comparison.  ``small``: a tenth of the stakers and holders, :data:`SMALL_VALIDATORS` validators and
    12 miner uids per subnet (tests)."""
    from dtaosim.config import experiment_path, load_config

    path = Path(experiment) if experiment is not None else experiment_path("april-2026-calibrated")
    cfg = load_config(path).model_dump(mode="json")
    cfg.pop("sweep", None)
    cfg.update(seed=seed, horizon={"days": days, "blocks_per_tick": 360})
    cfg["record"].update(check_invariants=False, events=False)
    if small:
        for g in cfg["agents"] + cfg["holders"]:
            g["count"] = max(2, round(g["count"] / 10))
        total = sum(g["count"] for g in cfg["validators"])
        for g in cfg["validators"]:
            g["count"] = max(1, round(g["count"] * SMALL_VALIDATORS / total))
        cfg["consensus"]["miners_per_subnet"] = 12
    if not behaviour:
        cfg["consensus"].update(stake_concentration=1.0, stake_offset=0.0, weight_sharpness=1.0,
                                weight_sharpness_sigma=0.0, quality_decay_per_day=0.0)
        cfg["miners"].update(entry_rate_per_day=20.0, know_quality=True)
        cfg["holders"] = []
        for params in [o["params"] for o in cfg["owners"]] + [cfg["lifecycle"]["entrant_params"]]:
            params.update(burn_policy="fixed", burn_fraction=0.0)
    return cfg


def launch_config(days: float = 60.0, seed: int = 1, small: bool = False, behaviour: bool = True,
                  experiment: str | Path | None = None) -> dict[str, Any]:
    """The launch study: ``experiments/launch-2025.toml`` (or ``experiment``) for ``days`` at seed ``seed``;
    ``behaviour`` False drops its holder population (the "before"); ``small`` keeps a tenth of the staker
    agents."""
    from dtaosim.config import experiment_path, load_config

    path = Path(experiment) if experiment is not None else experiment_path("launch-2025")
    cfg = load_config(path).model_dump(mode="json")
    cfg.pop("sweep", None)
    cfg.update(seed=seed, horizon={"days": days, "blocks_per_tick": 360},
               record={"check_invariants": False, "events": False, "every_ticks": 1})
    if small:  # the holder population is kept whole: its buying is what the launch facts are about
        for g in cfg["agents"]:
            g["count"] = max(5, g["count"] // 10)
    if not behaviour:
        cfg["holders"] = []
    return cfg


def _last(frame: pd.DataFrame) -> pd.Series:
    return frame.iloc[-1]


def _started(result: Any, row: int = -1) -> np.ndarray:
    """Netuids that exist and emit at a row (a positive price and EMA price)."""
    price = result.series("price").iloc[row]
    return price.index[(price > 0).to_numpy() & (result.series("ema_price").iloc[row] > 0).to_numpy()].to_numpy()


def april_moments(result: Any, miners_per_subnet: int | None = None) -> dict[str, float]:
    """The facts' quantities at the end of an April run (and a few at its start, suffix ``_start``)."""
    out: dict[str, float] = {}
    live = _started(result)
    price = _last(result.series("price"))[live].to_numpy()
    out["log10_price_sd"] = float(np.std(np.log10(price), ddof=1))
    out["log10_price_sd_start"] = float(np.std(np.log10(result.series("price").iloc[0][_started(result, 0)]), ddof=1))
    out["price_min"] = float(price.min())
    out["below_0.001"] = float((price < 1e-3).mean())
    out["sum_price"] = float(price.sum())
    for name in ("holder_top10", "holder_gini", "outside_alpha_share"):
        if name in result.frames:
            frame = result.series(name)
            out[name] = float(np.median(_last(frame)[live]))
            out[name + "_start"] = float(np.median(frame.iloc[0][_started(result, 0)]))
            moved = np.abs(_last(frame)[live] - frame.iloc[0].reindex(live).fillna(0))
            out[name + "_moved"] = float(np.median(moved))
            out[name + "_moved_mean"] = float(np.mean(moved))
    if "owner_alpha" in result.frames:
        issued = _last(result.series("pool_alpha"))[live] + _last(result.series("alpha_out"))[live]
        out["owner_share_issued"] = float(_last(result.series("owner_alpha"))[live].sum() / issued.sum())
    if "paid_miners" in result.frames:
        paid = _last(result.series("paid_miners"))[live].to_numpy()
        out["paid_miners_per_subnet"] = float(np.median(paid))
        out["paid_miners_mean"] = float(paid.mean())
        m = miners_per_subnet or int(result.metadata.get("config", {}).get("consensus", {}).get("miners_per_subnet", 0))
        if m:
            out["miner_uids_paid"] = float(paid.sum() / (m * live.size))
    if "registration_burn" in result.frames:
        burn = _last(result.series("registration_burn"))[live].to_numpy()
        out["registration_burn_at_floor"] = float((burn <= 5e-4 * 1.001).mean())
        out["registration_burn_max"] = float(burn.max())
        out["registration_burn_median"] = float(np.median(burn))
    if "owner_burn" in result.frames:
        burn = _last(result.series("miner_burn"))[live].to_numpy()
        out["burn_mean"] = float(burn.mean())
        out["burn_full"] = float((burn >= 0.999).mean())
        out["burn_partial"] = float(((burn > 0.001) & (burn < 0.999)).mean())
        chosen = _last(result.series("owner_burn"))[live].to_numpy()
        out["owner_burn_mean"] = float(chosen.mean())
    if "validator_stake_tao" in result.frames:
        stake = result.frames["validator_stake_tao"]
        out["validator_hhi"] = float(hhi(stake.iloc[-1].to_numpy()))
        out["validator_hhi_start"] = float(hhi(stake.iloc[0].to_numpy()))
        out["validator_top5"] = float(top_share(stake.iloc[-1].to_numpy(), 5))
        out["validator_top5_start"] = float(top_share(stake.iloc[0].to_numpy(), 5))
        out["validator_top10"] = float(top_share(stake.iloc[-1].to_numpy(), 10))
    if "validator_hhi" in result.frames:
        out["validator_hhi_subnet_median"] = float(np.median(_last(result.series("validator_hhi"))[live]))
    return out


def launch_moments(result: Any) -> dict[str, float]:
    """The launch facts' quantities: the sum of prices after 1, 3, 7, 14, 30 and 60 days, the highest price
    from day 1 to 14, how many subnets went above 2 TAO then, the share below 0.2 TAO at day 7, the
    cross-sectional sd of log10 prices at days 1, 7 and 30, the lowest sum of prices from day 1 on
    (``sum_price_min_after_day1``) and the first day from day 1 on when the sum is below 1
    (``days_above_1``; the run's length in days, a lower bound, when it never is).

    The sum of prices is that of the emitting subnets (the network series ``sum_price``, as fact 15 leaves out
    an unstarted subnet; the sum of ``result.prices`` when the run has no network frame); the cross-section
    is over the subnets with a price."""
    prices = result.prices
    blocks = block_values(prices.index)
    blocks = blocks - blocks[0]
    per_day = int(result.metadata.get("regime_fields", {}).get("blocks_per_day", BLOCKS_PER_DAY))
    frames = getattr(result, "frames", {})
    total = (frames["network"]["sum_price"] if "network" in frames else prices.sum(axis=1)).to_numpy()

    def at(day: float) -> int:
        return min(int(np.searchsorted(blocks, day * per_day)), len(prices) - 1)

    out: dict[str, float] = {}
    for d in (1, 3, 7, 14, 30, 60):
        if blocks[-1] >= d * per_day:
            out[f"sum_price_day{d}"] = float(total[at(d)])
    for d in (1, 7, 30):
        if blocks[-1] >= d * per_day:
            p = prices.iloc[at(d)].to_numpy()
            out[f"log10_sd_day{d}"] = float(np.std(np.log10(p[p > 0])))
    window = prices[(blocks >= per_day) & (blocks <= 14 * per_day)]
    if len(window):
        out["max_price_day1_14"] = float(window.to_numpy().max())
        out["above_2_day1_14"] = float((window.max(axis=0) > 2.0).sum())
    if blocks[-1] >= 7 * per_day:
        p = prices.iloc[at(7)]
        out["low_day7"] = float((p[p > 0] < 0.2).mean())
    if blocks[-1] >= per_day:
        later = blocks >= per_day
        out["sum_price_min_after_day1"] = float(total[later].min())
        below = np.flatnonzero(total[later] < 1.0)
        out["days_above_1"] = float((blocks[later][below[0]] if below.size else blocks[-1]) / per_day)
    return out


def _run_one(config: dict[str, Any], moments: str) -> dict[str, float]:
    from dtaosim.runs.runner import run

    result = run(copy.deepcopy(config))
    return (april_moments if moments == "april" else launch_moments)(result)


def ensemble(make: Callable[[int], dict[str, Any]], seeds: Sequence[int], moments: str,
             workers: int = 1) -> pd.DataFrame:
    """One row of moments per seed (index ``seed``): ``make(seed)`` gives each run's config, ``moments`` is
    ``"april"`` or ``"launch"``; ``workers`` > 1 runs seeds in that many processes."""
    configs = [make(s) for s in seeds]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            rows = list(pool.map(_run_one, configs, [moments] * len(configs)))
    else:
        rows = [_run_one(c, moments) for c in configs]
    return pd.DataFrame(rows, index=pd.Index(list(seeds), name="seed"))


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Each moment's median and 5-95% band over the seeds (columns ``median``, ``p5``, ``p95``, ``seeds``)."""
    return pd.DataFrame({"median": runs.median(), "p5": runs.quantile(0.05), "p95": runs.quantile(0.95),
                         "seeds": runs.count()})


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m dtaosim.analysis.behaviour {april,launch} [--seeds N] [--days D] [--before] [--small]
    [--workers W] [--out file.json]``: run an ensemble and print each moment's median and band."""
    ap = argparse.ArgumentParser(prog="python -m dtaosim.analysis.behaviour")
    ap.add_argument("study", choices=["april", "launch"])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--days", type=float, default=None)
    ap.add_argument("--before", action="store_true", help="without the behaviours of issue 17")
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    days = a.days if a.days is not None else (150.0 if a.study == "april" else 60.0)
    maker = april_config if a.study == "april" else launch_config

    def make(seed: int) -> dict[str, Any]:
        return maker(days=days, seed=seed, small=a.small, behaviour=not a.before)

    runs = ensemble(make, range(1, a.seeds + 1), a.study, workers=a.workers)
    table = summary(runs)
    pd.set_option("display.width", 160)
    print(table.round(4).to_string())
    if a.out:
        Path(a.out).write_text(json.dumps({"runs": runs.to_dict(orient="index"), "summary": table.to_dict()},
                                          indent=1, default=float))


if __name__ == "__main__":  # pragma: no cover
    main()
