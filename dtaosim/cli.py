"""Command line: ``dtaosim run CONFIG --out DIR [--seeds N]``, ``dtaosim sweep CONFIG --out DIR``, ``dtaosim
validate``, ``dtaosim calibrate CONFIG``, ``dtaosim plot``, ``dtaosim experiments``, ``dtaosim study NAME``,
``dtaosim regimes``, ``dtaosim warmup``, ``dtaosim explore``.

CONFIG is a TOML file or the name of a packaged experiment (``dtaosim run baseline``; ``dtaosim experiments``
lists them), from any folder.

Bad input (a malformed config, an unknown regime) prints one line to stderr and exits with status 2,
never a traceback.  The first run after an install says on stderr that it compiles the kernels.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from dtaosim.errors import ConfigError


def _cmd_run(args: argparse.Namespace) -> int:
    from dtaosim.analysis.plots import plot_prices, save_figure
    from dtaosim.runs.files import check_output_folder
    from dtaosim.runs.runner import run

    out = check_output_folder(args.out, "--out")  # before the run: a run is not wasted on a bad --out
    config = _resized(args.config, runs=None, days=args.days)
    if args.seeds is not None or _has_ensemble_table(config):
        return _cmd_run_ensemble(args, out, config)
    for flag in ("executor", "scheduler"):
        if getattr(args, flag) is not None:
            raise ConfigError(f"--{flag}: {getattr(args, flag)!r} is not allowed without --seeds; it says where the "
                              "runs of an ensemble execute")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(run, config, seed=args.seed, out=out, progress=False)
        stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("tottime")
        print("where the time goes (top 20 functions by own time):")
        stats.print_stats(20)
    else:
        result = run(config, seed=args.seed, out=out, progress=not args.quiet)
    fig = plot_prices(result)  # the experiment's subject (or the live subnets with the highest price), in days
    save_figure(fig, out / "prices.png")
    if not args.quiet:
        if result.metadata.get("config", {}).get("sweep"):
            print(f"dtaosim: note: {result.metadata['name']} has a [sweep]; this was one run of its top-level "
                  f"config. `dtaosim sweep {args.config} --out DIR` runs the sweep and writes its report "
                  "(DIR/report/: the subject per point, medians, bands and paired differences)", file=sys.stderr)
        n_ok = int((result.events["status"] == "ok").sum()) if len(result.events) else 0
        print(f"{result.metadata['name']}: {len(result.prices)} rows x {result.prices.shape[1]} subnets, "
              f"{n_ok}/{len(result.events)} intents executed, {result.timings['wall_seconds']:.2f} s "
              f"-> {out}/ (series.parquet, prices.parquet, events.parquet, metadata.json, prices.png, "
              "timings.json)")
    return 0


def _has_ensemble_table(config: object) -> bool:
    from dtaosim.config import as_config

    return as_config(config).ensemble is not None  # type: ignore[arg-type]


def _cmd_run_ensemble(args: argparse.Namespace, out: Path, config: object) -> int:
    """``dtaosim run CONFIG --seeds N`` (or a config with ``[ensemble]``): N seeds, a fan chart, 5-95% bands."""
    from dtaosim.analysis.plots import plot_fan, save_figure
    from dtaosim.runs.ensemble import ensemble_paths, ensemble_summary, run_ensemble

    if args.profile:
        raise ConfigError("--profile: True is not allowed; it profiles one run, not an ensemble (drop --seeds)")
    args.executor = args.executor or "processes"
    _check_scheduler(args)
    try:
        result = run_ensemble(config, args.seeds, out, seed=args.seed, workers=args.workers,  # type: ignore[arg-type]
                              executor=args.executor, scheduler=args.scheduler, quiet=args.quiet)
    except ImportError as e:  # an optional extra (dask) is missing
        print(f"dtaosim: error: {e}", file=sys.stderr)
        return 2
    if result.n_ok:
        paths = ensemble_paths(result)
        bpd = _blocks_per_day(result.out)
        save_figure(plot_fan(paths, title=f"sum of alpha prices, {result.n_ok} seeds", ylabel="TAO",
                             blocks_per_day=bpd), result.out / "fan_sum_price.png")
        from dtaosim.analysis.sweep_report import write_sweep_report

        write_sweep_report(result, result.out / "report")  # the experiment's subject over the seeds
    if not args.quiet:
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            summary = ensemble_summary(result)
        for w in caught:  # too few runs for the band: one line, not a warning with its source line
            print(f"dtaosim: warning: {w.message}", file=sys.stderr)
        print(summary.to_string(index=False))
        print(f"{result.n_ok} runs ok, {result.n_failed} failed -> {result.out}/ (manifest.parquet, runs/, "
              "fan_sum_price.png, report/); one path is one draw, not a forecast: read the bands")
    return 0 if result.n_failed == 0 else 1


def _blocks_per_day(out: Path) -> int | None:
    from dtaosim.runs.ensemble import run_folders

    for folder in run_folders(out):
        meta = json.loads((folder / "metadata.json").read_text())
        return int((meta.get("regime_fields") or {}).get("blocks_per_day") or 0) or None
    return None


def _check_scheduler(args: argparse.Namespace) -> None:
    """A scheduler address goes with ``--executor dask`` only."""
    if args.scheduler is not None and args.executor != "dask":
        raise ConfigError(f"--scheduler: {args.scheduler!r} is not allowed; a scheduler address is for --executor "
                          f"dask (got --executor {args.executor})")


def _cmd_sweep(args: argparse.Namespace) -> int:
    from dtaosim.runs.files import check_output_folder
    from dtaosim.runs.sweep import sweep

    check_output_folder(args.out, "--out")
    _check_scheduler(args)
    config = _resized(args.config, runs=args.runs, days=args.days)
    try:
        result = sweep(config, out=args.out, workers=args.workers, executor=args.executor,
                       scheduler=args.scheduler, quiet=args.quiet, threads=args.threads)
    except ImportError as e:  # an optional extra (dask) is missing
        print(f"dtaosim: error: {e}", file=sys.stderr)
        return 2
    files: list[Path] = []
    if result.n_ok and not args.no_report:
        from dtaosim.analysis.sweep_report import write_sweep_report

        files = write_sweep_report(result, result.out / "report", quiet=args.quiet)
    if not args.quiet:
        n = len(result.manifest)
        shown = f", report/ ({', '.join(f.name for f in files)})" if files else ""
        print(f"{n} runs: {result.n_ok} ok ({result.skipped} already done), {result.n_failed} failed "
              f"-> {result.out}/ (manifest.parquet, runs/{shown})")
    return 0 if result.n_failed == 0 else 1


def _resized(config: str, runs: int | None, days: float | None) -> object:
    """The config of ``dtaosim sweep CONFIG``: the file or name itself, or with ``--runs`` (Monte Carlo runs per
    point) and ``--days`` (the horizon) replaced, remembering its file for error messages."""
    if runs is None and days is None:
        return config
    from dtaosim.config import ExperimentConfig, experiment_path, load_config

    cfg = load_config(config)
    data = cfg.model_dump(mode="json")
    if runs is not None:
        data["sweep"] = {**(data.get("sweep") or {}), "runs": int(runs)}
    if days is not None:
        data["horizon"] = {**data["horizon"], "days": float(days), "blocks": None}
    return ExperimentConfig.model_validate(data).with_source(experiment_path(config).name)


def _cmd_validate(args: argparse.Namespace) -> int:
    from dtaosim.runs.files import check_output_folder
    from dtaosim.validation.validate import FULL, SMALL, Size, format_table, validate

    out = check_output_folder(args.out, "--out") if args.out is not None else None
    studies = tuple(args.study) if args.study else ("april", "launch")
    base = FULL if args.full else SMALL
    sizes = {s: Size(args.seeds or base[s].seeds, args.days if args.days is not None else base[s].days)
             for s in studies}
    configs = {k: v for k, v in (("april", args.april), ("launch", args.launch)) if v is not None}
    if not args.quiet:
        for s in studies:
            print(f"{s}: {sizes[s].seeds} seeds x {sizes[s].days:g} days", file=sys.stderr)
    _check_scheduler(args)
    try:
        table = validate(studies, sizes, configs, seed=args.seed, workers=args.workers, executor=args.executor,
                         scheduler=args.scheduler)
    except ImportError as e:  # an optional extra (dask) is missing
        print(f"dtaosim: error: {e}", file=sys.stderr)
        return 2
    print(format_table(table))
    if out is not None:
        from dtaosim.runs.files import atomic_write_bytes

        out.mkdir(parents=True, exist_ok=True)
        text = table.to_csv(index=False).encode()
        atomic_write_bytes(out / "validation.csv", lambda tmp: tmp.write_bytes(text))
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from dtaosim.runs.files import check_output_folder
    from dtaosim.validation.calibrate import calibrate, format_fit, make_problem, write_parameter_file

    target = Path(args.out)
    if target.is_dir():
        raise ConfigError(f"--out: {str(target)!r} is not allowed; it is a folder; expected a parameter file name "
                          "such as calibrated.toml")
    check_output_folder(target.parent, "--out")
    make_problem(args.config)  # every refusal before the first run
    _check_scheduler(args)
    fit = calibrate(args.config, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                    design=args.design,
                    maxiter=args.maxiter, seeds=args.seeds, jacobian=not args.no_se,
                    progress=None if args.quiet else lambda line: print(line, file=sys.stderr, flush=True))
    target.parent.mkdir(parents=True, exist_ok=True)
    write_parameter_file(fit, target)
    print(format_fit(fit))
    print(f"-> {target} (include it: include = [\"{target.name}\"])")
    return 0


def _not_a_run(folder: Path, why: str) -> ConfigError:
    return ConfigError(f"results: {str(folder)!r} is not a run folder ({why}); expected the --out folder of "
                       "`dtaosim run`")


def _read_run(folder: Path) -> object:
    """The run in ``folder``, or a one-line :class:`ConfigError` saying why it is not one."""
    from dtaosim.runs.results import load_run

    if not folder.exists():
        raise _not_a_run(folder, "no metadata.json; no such folder")
    if not folder.is_dir():
        raise _not_a_run(folder, "no metadata.json; it is a file")
    if not (folder / "metadata.json").exists():
        if (folder / "sweep.json").exists():
            raise _not_a_run(folder, "no metadata.json; it is a sweep folder, whose runs are in runs/")
        raise _not_a_run(folder, "no metadata.json")
    try:
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise _not_a_run(folder, f"unreadable: metadata.json: {type(e).__name__}: {e}") from None
    if not isinstance(meta, dict):
        raise _not_a_run(folder, f"metadata.json holds a {type(meta).__name__}, not a table")
    try:
        result = load_run(folder)
        result.prices  # noqa: B018 - the series every plot needs
    except FileNotFoundError as e:
        raise _not_a_run(folder, f"no {Path(e.filename or str(e)).name}") from None
    except Exception as e:  # whatever else makes it unreadable: one line, no traceback
        raise _not_a_run(folder, f"unreadable: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                         ) from None
    return result


def _read_sweep(folder: Path) -> object | None:
    """The sweep in ``folder`` when it is a sweep folder with a finished run (its report replaces a run's)."""
    if not (folder / "sweep.json").is_file() or (folder / "metadata.json").exists():
        return None
    from dtaosim.runs.sweep import SweepResult

    try:
        result = SweepResult.open(folder)
    except Exception:  # not readable as a sweep: the run folder's one-line refusal says why
        return None
    return result if result.n_ok else None


def _cmd_plot(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    from dtaosim.analysis.report import write_report
    from dtaosim.runs.files import check_output_folder, existing_ancestor, make_dirs

    folder = Path(args.results)
    sweep = _read_sweep(folder)
    result = _read_run(folder) if sweep is None else None
    out = check_output_folder(args.out, "--out")
    # written beside --out first and moved in whole: a failure leaves --out as it was
    tmp = Path(tempfile.mkdtemp(prefix=".dtaosim-plots-", dir=existing_ancestor(out)))
    try:
        if sweep is not None:
            from dtaosim.analysis.sweep_report import write_sweep_report

            chosen = _netuids(args.netuids)
            if chosen and not all(isinstance(n, int) for n in chosen):
                raise ConfigError(f"--netuids: {args.netuids!r} is not allowed for a sweep; expected netuids (the "
                                  "subnets dissolved or registered differ from run to run)")
            files = write_sweep_report(sweep, tmp, netuids=chosen)  # type: ignore[arg-type]
        else:
            files = write_report(result, tmp, netuids=_netuids(args.netuids))  # type: ignore[arg-type]
        make_dirs(out)
        for f in files:
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.quiet:
        print(f"{len(files)} files -> {args.out}/ (open index.html)")
    return 0


def _netuids(items: list[str] | None) -> list[int | str] | None:
    """``--netuids 33 dissolved`` as ints and selectors; a bad item is a one-line :class:`ConfigError`."""
    from dtaosim.config import SUBJECT_SELECTORS

    if not items:
        return None
    out: list[int | str] = []
    for item in (x for text in items for x in text.replace(",", " ").split()):
        if item in SUBJECT_SELECTORS:
            out.append(item)
            continue
        try:
            n = int(item)
        except ValueError:
            n = -1
        if n < 1:
            raise ConfigError(f"--netuids: {item!r} is not allowed; expected netuids (1 or more) or "
                              f"{' / '.join(SUBJECT_SELECTORS)}")
        out.append(n)
    return out


STUDIES = {"consensus-guarantees": "dtaosim.studies.consensus_guarantees",
           "gate-and-root-reborn": "dtaosim.studies.gate_root_reborn"}
"""Studies by name: ``dtaosim study NAME`` runs the module's ``main`` with the packaged config of that name."""


def _kind(data: dict) -> str:
    if "study" in data or ("design" in data and "variants" in data):
        return "study"
    return "sweep" if "sweep" in data else "run"


def _cmd_experiments(args: argparse.Namespace) -> int:
    import tomllib

    from dtaosim.config import EXPERIMENTS_DIR, packaged_experiments

    rows = []
    for name, path in packaged_experiments().items():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        question = str((data.get("report") or {}).get("question") or data.get("description") or "")
        kind = "study" if name in STUDIES else _kind(data)
        how = {"study": f"dtaosim study {name} --out DIR" + (" [--small]" if _kind(data) == "study" else ""),
               "sweep": f"dtaosim run {name} (one run), dtaosim sweep {name} --out DIR (its [sweep])",
               "run": f"dtaosim run {name}"}[kind]
        rows.append((name, how, question))
    if args.paths:
        for name, _, _ in rows:
            print(EXPERIMENTS_DIR / f"{name}.toml")
        return 0
    width = max(len(r[0]) for r in rows)
    for name, how, question in rows:
        print(f"{name:<{width}}  {question}")
        print(f"{'':<{width}}  -> {how}")
    print(f"\n{len(rows)} packaged experiments in {EXPERIMENTS_DIR}; copy one to change it "
          "(dtaosim run <file>.toml works the same)")
    return 0


def _cmd_study(args: argparse.Namespace, rest: list[str]) -> int:
    import importlib

    from dtaosim.config import experiment_path

    name = args.study
    module = STUDIES.get(name)
    config = str(experiment_path(name))
    if module is None:  # a path to a copy of a study's config
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"study: {name!r} is not allowed; studies: {', '.join(STUDIES)} (or a path to a copy "
                              "of one's config)")
        import tomllib

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigError(f"{path}: not a readable TOML study config ({type(e).__name__})") from None
        study = str(data.get("study") or "consensus-guarantees")
        if study not in STUDIES:
            raise ConfigError(f"{path}: study: {study!r} is not allowed; studies: {', '.join(STUDIES)}")
        module, config = STUDIES[study], str(path)
    return int(importlib.import_module(module).main([config, *rest]))


def _cmd_warmup(args: argparse.Namespace) -> int:
    from dtaosim.runs import warmup

    if not warmup.numba_available():
        print("dtaosim: numba is not installed (or NUMBA_DISABLE_JIT is set): nothing to compile")
        return 0
    cached = warmup.kernels_cached()
    if not cached:
        print(f"dtaosim: {warmup.FIRST_RUN_MESSAGE}", file=sys.stderr, flush=True)
    seconds = warmup.warmup()
    how = "were compiled already: loaded from the cache" if cached else "compiled"
    print(f"dtaosim: numba kernels {how} in {seconds:.1f} s ({len(warmup.dispatchers())} kernels; "
          f"cache: {warmup.cache_dir()})")
    return 0


def _cmd_explore(args: argparse.Namespace) -> int:
    from dtaosim.explore import INSTALL_HINT, missing_extra

    if not 0 <= args.port < 2**16:
        raise ConfigError(f"--port: {args.port!r} is not allowed; expected a TCP port number below 2^16 (0: a free "
                          "one)")
    if missing_extra():
        print(f"dtaosim: {INSTALL_HINT}", file=sys.stderr)
        return 2
    from dtaosim.explore.server import serve
    from dtaosim.runs.warmup import ensure_compiled

    ensure_compiled()  # the first start after an install compiles the kernels here, not in the page
    return serve(port=args.port, open_browser=not args.no_browser)


def _cmd_regimes(args: argparse.Namespace) -> int:
    from dtaosim.protocol.regimes import DEFAULT_REGIME, all_proposals, all_regimes

    for r in all_regimes():
        mark = " (default)" if r.name == DEFAULT_REGIME else ""
        print(f"{r.name:<22} from {r.start_date}  amm={r.amm:<16} shares={r.share_rule:<24} "
              f"cap={r.alpha_in_cap}{mark}")
        if args.verbose:
            print(f"    {r.description}")
    for r in all_proposals():  # switched off or not deployed: named only, never picked by date
        print(f"{r.name:<22} proposal         amm={r.amm:<16} derivatives={'on' if r.derivatives_enabled else 'off'}")
        if args.verbose:
            print(f"    {r.description}")
    print('\nA config picks one by name, or says regime = "chain" to follow them by date from the run\'s start '
          "(start_date, or the snapshot's date); [[regime_schedule]] lists eras by day or date.")
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (``dtaosim: error: --seed: ...``), status 2."""

    def error(self, message: str) -> NoReturn:
        message = message.removeprefix("argument ")
        print(f"dtaosim: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def _whole(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; expected a whole number >= {low}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value!r} is not allowed; expected a whole number >= {low}")
        return value

    parse.__name__ = f"whole number >= {low}"
    return parse


def _positive(text: str) -> float:
    """An argparse type: a finite number > 0."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; expected a number > 0") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not allowed; expected a number > 0")
    return value


_positive.__name__ = "number > 0"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dtaosim`` command."""
    p = _Parser(prog="dtaosim", description="Agent-based simulation of Bittensor dTAO markets.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one experiment config and write results and a price plot")
    r.add_argument("config", help="experiment TOML file, or a packaged experiment's name (`dtaosim experiments`)")
    r.add_argument("--out", default="results", help="output folder (default: results)")
    r.add_argument("--seed", type=_whole(0), default=None, help="override the config's seed (a whole number >= 0)")
    r.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    r.add_argument("--profile", action="store_true", help="print where the time goes (cProfile, top 20)")
    r.add_argument("--seeds", type=_whole(1), default=None,
                   help="run an ensemble of N seeds (default: the config's [ensemble] seeds, else one run); "
                        "--seed then seeds the ensemble")
    r.add_argument("--workers", type=_whole(1), default=None, help="worker processes for --seeds (default: all cores)")
    r.add_argument("--executor", choices=("serial", "processes", "dask"), default=None,
                   help="where the runs of --seeds execute (default: processes)")
    r.add_argument("--scheduler", default=None, help="dask scheduler address for --executor dask (default: a "
                   "local cluster)")
    r.add_argument("--days", type=_positive, default=None, help="days to simulate (default: the config's horizon)")
    r.set_defaults(func=_cmd_run)
    w = sub.add_parser("sweep", help="run a config's [sweep] (points x Monte Carlo runs) into a results folder")
    w.add_argument("config", help="experiment TOML file with a [sweep] table, or a packaged experiment's name")
    w.add_argument("--out", required=True, help="output folder; finished runs in it are skipped")
    w.add_argument("--workers", type=_whole(1), default=None, help="worker processes (default: all cores)")
    w.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes",
                   help="where runs execute (default: processes)")
    w.add_argument("--scheduler", default=None, help="dask scheduler address (default: a local cluster)")
    w.add_argument("--threads", type=_whole(1), default=None,
                   help="threads per run (default: cores // workers, so that workers x threads <= cores)")
    w.add_argument("--runs", type=_whole(1), default=None,
                   help="Monte Carlo runs per point (default: the config's sweep.runs)")
    w.add_argument("--days", type=_positive, default=None, help="days per run (default: the config's horizon)")
    w.add_argument("--no-report", action="store_true",
                   help="do not write report/ (the sweep's subject per point, its table and paired differences)")
    w.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    w.set_defaults(func=_cmd_sweep)
    va = sub.add_parser("validate", help="run the April 2026 and launch studies as ensembles and print, per fact, "
                        "the target, the simulated median with its 5-95%% band, pass/fail, fit or prediction",
                        description="Default size (small, a check of minutes on 2 cores, not a result): 4 seeds x "
                        "14 days (April 2026) and 4 seeds x 15 days (launch). --full: 100 seeds x 150 days and "
                        "100 seeds x 245 days (hours on many cores; use --workers).")
    va.add_argument("--study", action="append", choices=("april", "launch"), default=None,
                    help="a study to run (repeatable; default both)")
    va.add_argument("--full", action="store_true", help="the full size (100 seeds; 150 and 245 days)")
    va.add_argument("--seeds", type=_whole(1), default=None, help="seeds per study (overrides the size)")
    va.add_argument("--days", type=float, default=None, help="days per run (overrides the size)")
    va.add_argument("--seed", type=_whole(0), default=None, help="the ensembles' seed (default: the configs')")
    va.add_argument("--april", default=None, help="the April study's config (default: the bundled one)")
    va.add_argument("--launch", default=None, help="the launch study's config (default: the bundled one)")
    va.add_argument("--out", default=None, help="write validation.csv into this folder (default: print only)")
    va.add_argument("--workers", type=_whole(1), default=None, help="worker processes (default: all cores)")
    va.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes",
                    help="where runs execute (default: processes)")
    va.add_argument("--scheduler", default=None, help="dask scheduler address for --executor dask (default: a "
                    "local cluster)")
    va.add_argument("--quiet", action="store_true", help="no size line on stderr")
    va.set_defaults(func=_cmd_validate)
    ca = sub.add_parser("calibrate", help="fit a config's [calibrate] parameters to target moments (method of "
                        "simulated moments, scipy) and write a parameter file experiments include",
                        description="The size is the config's [calibrate] table (design, seeds, maxiter) and its "
                        "horizon. Reduced size (finishes on 2 cores within an hour): experiments/calibrate-april.toml "
                        "as shipped (8 design points x 4 seeds, 10 iterations, 14 days). Full size: design = 64, "
                        "seeds = 20, maxiter = 100, 150 days, with --executor dask on a cluster.")
    ca.add_argument("config", help="experiment TOML file with a [calibrate] table")
    ca.add_argument("--out", default="calibrated.toml", help="the parameter file (default: calibrated.toml)")
    ca.add_argument("--design", type=_whole(1), default=None, help="initial design points (default: the table's)")
    ca.add_argument("--maxiter", type=_whole(0), default=None, help="optimizer iterations (default: the table's)")
    ca.add_argument("--seeds", type=_whole(1), default=None, help="seeds per candidate (default: the table's)")
    ca.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes",
                    help="where runs execute (default: processes)")
    ca.add_argument("--workers", type=_whole(1), default=None, help="worker processes (default: all cores)")
    ca.add_argument("--scheduler", default=None, help="dask scheduler address for --executor dask (default: a "
                    "local cluster)")
    ca.add_argument("--no-se", action="store_true", help="skip the parameters' standard errors (2 x parameters "
                    "fewer candidates)")
    ca.add_argument("--quiet", action="store_true", help="no progress lines")
    ca.set_defaults(func=_cmd_calibrate)
    pl = sub.add_parser("plot", help="write the standard plots of a run folder (or a sweep's report) and an index.html")
    pl.add_argument("results", help="a folder written by `dtaosim run --out` (or by `dtaosim sweep --out`: the "
                    "sweep's report)")
    pl.add_argument("--out", default="plots", help="output folder (default: plots)")
    pl.add_argument("--netuids", nargs="+", default=None, metavar="N",
                    help="subnets to show instead of the experiment's subject: netuids, or dissolved / registered")
    pl.add_argument("--quiet", action="store_true", help="no summary line")
    pl.set_defaults(func=_cmd_plot)
    e = sub.add_parser("experiments", help="list the packaged experiments, their questions and how to run them")
    e.add_argument("--paths", action="store_true", help="print only the files' paths")
    e.set_defaults(func=_cmd_experiments)
    st = sub.add_parser("study", help="run a study (consensus-guarantees); its options follow the name, e.g. "
                        "`dtaosim study consensus-guarantees --out results/cg --small` (`--help` after the name)",
                        add_help=False)
    st.add_argument("study", help=f"a study's name ({', '.join(STUDIES)}) or a path to a copy of its config")
    st.set_defaults(func=_cmd_study, passes_rest=True)
    wu = sub.add_parser("warmup", help="compile the numba kernels now (the first run after install does it "
                        "otherwise), print how long it took")
    wu.set_defaults(func=_cmd_warmup)
    ex = sub.add_parser("explore", help="a browser app on localhost: sliders for rules and behaviours, short "
                        "ensembles, fan charts of prices, emission shares and P&L (needs the explore extra)")
    ex.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default: 8765; 0: a free one)")
    ex.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    ex.set_defaults(func=_cmd_explore)
    g = sub.add_parser("regimes", help="list the chain-rule regimes")
    g.add_argument("-v", "--verbose", action="store_true", help="show each regime's description")
    g.set_defaults(func=_cmd_regimes)
    return p


class _StderrLine(logging.Handler):
    """Prints a log record as one ``dtaosim: <message>`` line on stderr (``sys.stderr`` looked up at each
    record, so redirections see it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"dtaosim: {record.getMessage()}", file=sys.stderr, flush=True)
        except Exception:  # pragma: no cover
            self.handleError(record)


@contextlib.contextmanager
def _compile_message_on_stderr() -> Iterator[None]:
    """Show the first-run compile message (logged at INFO by :mod:`dtaosim.runs.warmup`) on stderr; the
    logger is put back afterwards (main() may run in a process that goes on: tests, notebooks)."""
    log = logging.getLogger("dtaosim.runs.warmup")
    old = log.level, log.propagate
    handler = _StderrLine(logging.INFO)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(old[0])
        log.propagate = old[1]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad input)."""
    parser = build_parser()
    try:
        args, rest = parser.parse_known_args(argv)
        if rest and not getattr(args, "passes_rest", False):
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
    except SystemExit as e:  # --help (0) or a bad command line (2, one line printed)
        return e.code if isinstance(e.code, int) else 2
    try:
        with _compile_message_on_stderr():
            if getattr(args, "passes_rest", False):
                return int(args.func(args, rest))
            return int(args.func(args))
    except ConfigError as e:
        print(f"dtaosim: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("dtaosim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
