"""Command line: ``dtaosim run CONFIG --out DIR``, ``dtaosim sweep CONFIG --out DIR``, ``dtaosim plot``,
``dtaosim regimes``, ``dtaosim warmup``.

Bad input (a malformed config, an unknown regime) prints one line to stderr and exits with status 2,
never a traceback.  The first run after an install says on stderr that it compiles the kernels.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from dtaosim.errors import ConfigError


def _cmd_run(args: argparse.Namespace) -> int:
    from dtaosim.analysis.plots import plot_prices, save_figure
    from dtaosim.runs.runner import run

    out = Path(args.out)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(run, args.config, seed=args.seed, out=out, progress=False)
        stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("tottime")
        print("where the time goes (top 20 functions by own time):")
        stats.print_stats(20)
    else:
        result = run(args.config, seed=args.seed, out=out, progress=not args.quiet)
    fig = plot_prices(result.prices, title=f"{result.metadata['name']} ({result.metadata['regime']})",
                      blocks_per_day=result.metadata["regime_fields"]["blocks_per_day"])
    save_figure(fig, out / "prices.png")
    if not args.quiet:
        n_ok = int((result.events["status"] == "ok").sum()) if len(result.events) else 0
        print(f"{result.metadata['name']}: {len(result.prices)} rows x {result.prices.shape[1]} subnets, "
              f"{n_ok}/{len(result.events)} intents executed, {result.timings['wall_seconds']:.2f} s "
              f"-> {out}/ (series.parquet, prices.parquet, events.parquet, metadata.json, prices.png, "
              "timings.json)")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from dtaosim.runs.sweep import sweep

    try:
        result = sweep(args.config, out=args.out, workers=args.workers, executor=args.executor,
                       scheduler=args.scheduler, quiet=args.quiet, threads=args.threads)
    except ImportError as e:  # an optional extra (dask) is missing
        print(f"dtaosim: error: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        n = len(result.manifest)
        print(f"{n} runs: {result.n_ok} ok ({result.skipped} already done), {result.n_failed} failed "
              f"-> {result.out}/ (manifest.parquet, runs/)")
    return 0 if result.n_failed == 0 else 1


def _cmd_plot(args: argparse.Namespace) -> int:
    from dtaosim.analysis.report import write_report

    folder = Path(args.results)
    if not (folder / "metadata.json").exists():
        raise ConfigError(f"results: {str(folder)!r} is not a run folder (no metadata.json); expected the --out "
                          "folder of `dtaosim run`")
    files = write_report(folder, args.out)
    if not args.quiet:
        print(f"{len(files)} files -> {args.out}/ (open index.html)")
    return 0


def _cmd_warmup(args: argparse.Namespace) -> int:
    from dtaosim.runs import warmup as jit_cache

    if not jit_cache.numba_available():
        print("dtaosim: numba is not installed (or NUMBA_DISABLE_JIT is set): nothing to compile")
        return 0
    cached = jit_cache.kernels_cached()
    if not cached:
        print(f"dtaosim: {jit_cache.FIRST_RUN_MESSAGE}", file=sys.stderr, flush=True)
    seconds = jit_cache.warmup()
    how = "were compiled already: loaded from the cache" if cached else "compiled"
    print(f"dtaosim: numba kernels {how} in {seconds:.1f} s ({len(jit_cache.dispatchers())} kernels; "
          f"cache: {jit_cache.cache_dir()})")
    return 0


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
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dtaosim`` command."""
    p = argparse.ArgumentParser(prog="dtaosim", description="Agent-based simulation of Bittensor dTAO markets.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one experiment config and write results and a price plot")
    r.add_argument("config", help="experiment TOML file")
    r.add_argument("--out", default="results", help="output folder (default: results)")
    r.add_argument("--seed", type=int, default=None, help="override the config's seed")
    r.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    r.add_argument("--profile", action="store_true", help="print where the time goes (cProfile, top 20)")
    r.set_defaults(func=_cmd_run)
    w = sub.add_parser("sweep", help="run a config's [sweep] (points x Monte Carlo runs) into a results folder")
    w.add_argument("config", help="experiment TOML file with a [sweep] table")
    w.add_argument("--out", required=True, help="output folder; finished runs in it are skipped")
    w.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    w.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes",
                   help="where runs execute (default: processes)")
    w.add_argument("--scheduler", default=None, help="dask scheduler address (default: a local cluster)")
    w.add_argument("--threads", type=int, default=None,
                   help="threads per run (default: cores // workers, so that workers x threads <= cores)")
    w.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    w.set_defaults(func=_cmd_sweep)
    pl = sub.add_parser("plot", help="write the standard plots of a run folder and an index.html")
    pl.add_argument("results", help="a folder written by `dtaosim run --out`")
    pl.add_argument("--out", default="plots", help="output folder (default: plots)")
    pl.add_argument("--quiet", action="store_true", help="no summary line")
    pl.set_defaults(func=_cmd_plot)
    wu = sub.add_parser("warmup", help="compile the numba kernels now (the first run after install does it "
                        "otherwise), print how long it took")
    wu.set_defaults(func=_cmd_warmup)
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
    args = parser.parse_args(argv)
    try:
        with _compile_message_on_stderr():
            return int(args.func(args))
    except ConfigError as e:
        print(f"dtaosim: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("dtaosim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
