"""Command line: ``dtaosim run CONFIG --out DIR``, ``dtaosim sweep CONFIG --out DIR``, ``dtaosim plot``,
``dtaosim regimes``, ``dtaosim warmup``, ``dtaosim explore``.

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
    from dtaosim.runs.files import check_output_folder
    from dtaosim.runs.sweep import sweep

    check_output_folder(args.out, "--out")
    if args.scheduler is not None and args.executor != "dask":
        raise ConfigError(f"--scheduler: {args.scheduler!r} is not allowed; a scheduler address is for --executor "
                          f"dask (got --executor {args.executor})")
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


def _cmd_plot(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    from dtaosim.analysis.report import write_report
    from dtaosim.runs.files import check_output_folder, existing_ancestor, make_dirs

    result = _read_run(Path(args.results))
    out = check_output_folder(args.out, "--out")
    # written beside --out first and moved in whole: a failure leaves --out as it was
    tmp = Path(tempfile.mkdtemp(prefix=".dtaosim-plots-", dir=existing_ancestor(out)))
    try:
        files = write_report(result, tmp)  # type: ignore[arg-type]
        make_dirs(out)
        for f in files:
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.quiet:
        print(f"{len(files)} files -> {args.out}/ (open index.html)")
    return 0


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
    from dtaosim.protocol.regimes import DEFAULT_REGIME, all_regimes

    for r in all_regimes():
        mark = " (default)" if r.name == DEFAULT_REGIME else ""
        print(f"{r.name:<22} from {r.start_date}  amm={r.amm:<16} shares={r.share_rule:<24} "
              f"cap={r.alpha_in_cap}{mark}")
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dtaosim`` command."""
    p = _Parser(prog="dtaosim", description="Agent-based simulation of Bittensor dTAO markets.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one experiment config and write results and a price plot")
    r.add_argument("config", help="experiment TOML file")
    r.add_argument("--out", default="results", help="output folder (default: results)")
    r.add_argument("--seed", type=_whole(0), default=None, help="override the config's seed (a whole number >= 0)")
    r.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    r.add_argument("--profile", action="store_true", help="print where the time goes (cProfile, top 20)")
    r.set_defaults(func=_cmd_run)
    w = sub.add_parser("sweep", help="run a config's [sweep] (points x Monte Carlo runs) into a results folder")
    w.add_argument("config", help="experiment TOML file with a [sweep] table")
    w.add_argument("--out", required=True, help="output folder; finished runs in it are skipped")
    w.add_argument("--workers", type=_whole(1), default=None, help="worker processes (default: all cores)")
    w.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes",
                   help="where runs execute (default: processes)")
    w.add_argument("--scheduler", default=None, help="dask scheduler address (default: a local cluster)")
    w.add_argument("--threads", type=_whole(1), default=None,
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
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a bad command line (2, one line printed)
        return e.code if isinstance(e.code, int) else 2
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
