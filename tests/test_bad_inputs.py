"""Every bad input is one line on stderr (``dtaosim: error: <file>: <field>: <value> is not allowed; ...``), exit
status 2, no traceback, and nothing left in ``--out`` (or ``--out`` unchanged when it existed); from Python the
same message is a :class:`dtaosim.ConfigError`.

The malformed configs are tables: files that are not UTF-8 TOML, wrong top-level types, every field of every
section (its pydantic model) with NaN, infinities, negative numbers and wrong types, every strategy's parameters,
regime overrides, sweep tables, netuids that do not exist, the TAO supply, horizons and memory; then every
command and option.  Valid edge values still run.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import types
import warnings
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

import dtaosim
from dtaosim import ConfigError
from dtaosim import config as C
from dtaosim.agents.owner import _COMMON as OWNER_COMMON
from dtaosim.cli import main
from dtaosim.plugins import strategy_class, strategy_names, strategy_requirements

# a small valid config that names every section (the disabled ones too: they are validated all the same)
BASE: dict[str, Any] = {
    "name": "bad-inputs", "seed": 3,
    "horizon": {"blocks": 720, "blocks_per_tick": 360},
    "network": {"n_subnets": 3, "external_tao": 10_000.0, "root_stake": 10_000.0},
    "agents": [{"strategy": "passive", "count": 2, "budget": 10.0},
               {"strategy": "momentum", "count": 2, "budget": {"median": 10.0, "sigma": 0.5}}],
    "holders": [{"count": 3, "alpha_share": 0.5, "tao": 10.0}],
    "consensus": {"miners_per_subnet": 4},
    "validators": [{"strategy": "honest", "count": 2}],
    "owners": [{"strategy": "holder", "netuids": [1], "budget": 1.0}],
    "lifecycle": {"max_lock": {"median": 1000.0, "sigma": 1.0}},
    "miners": {"cost_per_day": {"median": 0.2, "sigma": 1.0}},
    "validator_market": {},
    "fundamentals": {"edges": [[1, 2]], "shocks": [{"tick": 1, "netuid": 1, "size": 2.0}]},
    "record": {"every_ticks": 1},
    "root_claims": {"claim_interval_days": 7.0},
    "regime_schedule": [{"day": 0.05, "regime": "gate-2026-07"}],
    # read by `dtaosim calibrate`, checked by every command ([ensemble] is not here: it would make `run` an ensemble)
    "calibrate": {"parameters": {"agents[0].budget": [1.0, 20.0]}, "moments": ["price_median"]},
}


# ---------------------------------------------------------------------------------------------- helpers
def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def toml_dumps(d: dict) -> str:
    """A config dict as TOML: scalars first, then ``[table]`` and ``[[array of tables]]`` sections."""
    def is_tables(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)

    lines = [f"{_key(k)} = {toml_value(v)}" for k, v in d.items() if not isinstance(v, dict) and not is_tables(v)]
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(f"[{_key(k)}]")
            lines += [f"{_key(a)} = {toml_value(b)}" for a, b in v.items()]
        elif is_tables(v):
            for item in v:
                lines.append(f"[[{_key(k)}]]")
                lines += [f"{_key(a)} = {toml_value(b)}" for a, b in item.items()]
    return "\n".join(lines) + "\n"


def mutate(path: str, value: Any, base: dict | None = None) -> dict:
    """``base`` (default BASE) with the dotted ``path`` (list indices as numbers) set to ``value``."""
    cfg = json.loads(json.dumps(base or BASE))
    cur: Any = cfg
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur[int(p)] if p.isdigit() else cur.setdefault(p, {})
    last = parts[-1]
    cur[int(last) if last.isdigit() else last] = value
    if path.startswith("horizon.days"):
        cfg["horizon"].pop("blocks", None)
    return cfg


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file under ``folder`` with its bytes (None when it does not exist)."""
    if not folder.exists():
        return None
    if folder.is_file():
        return {"": folder.read_bytes()}
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*"))}


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """``dtaosim argv`` in this process, RuntimeWarnings as errors (a warning would be another stderr line)."""
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line(rc: int, err: str, *needles: str) -> str:
    """Status 2, one ``dtaosim: error:`` line holding every needle, no traceback; returns the line."""
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dtaosim: error: "), lines[0]
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def shown(value: Any) -> str:
    """How a message shows a value."""
    return "{...}" if isinstance(value, dict) else repr(value)


def refused_run(tmp_path: Path, capsys: pytest.CaptureFixture, text: str | bytes, *needles: str,
                name: str = "bad.toml", extra: list[str] | None = None) -> str:
    """Write ``text`` to ``name``, run it with ``--out`` in tmp_path: refused in one line naming the file."""
    cfg = tmp_path / name
    if isinstance(text, bytes):
        cfg.write_bytes(text)
    else:
        cfg.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    rc, _, err = run_cli(["run", str(cfg), "--out", str(out), "--quiet", *(extra or [])], capsys)
    line = assert_one_line(rc, err, name, *needles)
    assert not out.exists(), "nothing may be left in --out"
    return line


# ---------------------------------------------------------------------------------------------- the base runs
def test_the_base_config_is_valid_and_runs(tmp_path, capsys):
    cfg = tmp_path / "good.toml"
    cfg.write_text(toml_dumps(BASE))
    rc, _, err = run_cli(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"], capsys)
    assert rc == 0, err
    assert (tmp_path / "out" / "metadata.json").exists()


# ---------------------------------------------------------------------------------------------- files
GOOD_TEXT = toml_dumps(BASE)
FILE_CASES = [
    ("utf-16-le-bom", GOOD_TEXT.encode("utf-16"), ["not UTF-8", "UTF-16 byte-order mark"]),
    ("utf-16-be-bom", b"\xfe\xff" + GOOD_TEXT.encode("utf-16-be"), ["not UTF-8", "UTF-16"]),
    ("utf-32-bom", GOOD_TEXT.encode("utf-32"), ["not UTF-8", "UTF-32"]),
    ("latin-1", ('name = "caf\xe9"\n' + GOOD_TEXT.split("\n", 1)[1]).encode("latin-1"),
     ["not UTF-8", "0xe9", "line 1, column 12"]),
    ("binary", bytes(range(256)) * 4, ["not a text file", "NUL"]),
    ("png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["not a text file"]),
    ("empty", b"", ["the file is empty"]),
    ("whitespace-only", b"  \n\t\n", ["the file is empty"]),
    ("syntax-missing-value", b"name = \n", ["not valid TOML", "line 1"]),
    ("syntax-unclosed-string", b'name = "abc\n', ["not valid TOML"]),
    ("syntax-duplicate-key", b"seed = 1\nseed = 2\n", ["not valid TOML"]),
    ("syntax-unclosed-table", b"[horizon\ndays = 1\n", ["not valid TOML"]),
    ("syntax-table-twice", b"[horizon]\ndays = 1\n[horizon]\ndays = 2\n", ["not valid TOML"]),
    ("syntax-bare-word", b"regime = price-burn\n", ["not valid TOML"]),
    ("json-not-toml", json.dumps(BASE).encode(), ["not valid TOML"]),
    ("yaml-not-toml", b"name: x\nseed: 3\n", ["not valid TOML"]),
]


@pytest.mark.parametrize(("text", "needles"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_a_file_that_is_not_utf8_toml_is_one_line(tmp_path, capsys, text, needles):
    refused_run(tmp_path, capsys, text, *needles)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + GOOD_TEXT.encode())
    assert dtaosim.load_config(p) == C.parse_config(BASE)


def test_a_file_of_comments_only_runs_the_defaults(tmp_path):
    p = tmp_path / "defaults.toml"
    p.write_text("# every default\n")
    assert dtaosim.load_config(p) == C.ExperimentConfig()


def test_missing_unreadable_and_special_files(tmp_path, capsys):
    out = tmp_path / "out"
    rc, _, err = run_cli(["run", str(tmp_path / "nope.toml"), "--out", str(out)], capsys)
    assert_one_line(rc, err, "nope.toml", "no such config file")
    rc, _, err = run_cli(["run", str(tmp_path), "--out", str(out)], capsys)
    assert_one_line(rc, err, str(tmp_path), "is a folder")
    if Path("/proc/self/mem").exists():  # a file that exists and cannot be read (even by root): EIO
        rc, _, err = run_cli(["run", "/proc/self/mem", "--out", str(out)], capsys)
        assert_one_line(rc, err, "/proc/self/mem", "cannot read the config file")
    rc, _, err = run_cli(["run", os.devnull, "--out", str(out)], capsys)
    assert_one_line(rc, err, os.devnull, "not a regular file")
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.toml"
        os.mkfifo(fifo)
        rc, _, err = run_cli(["run", str(fifo), "--out", str(out)], capsys)
        assert_one_line(rc, err, "fifo.toml", "not a regular file")
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.toml"
        locked.write_text(GOOD_TEXT)
        locked.chmod(0)
        try:
            rc, _, err = run_cli(["run", str(locked), "--out", str(out)], capsys)
            assert_one_line(rc, err, "locked.toml", "cannot read the config file")
        finally:
            locked.chmod(0o644)
    assert not out.exists()


# ---------------------------------------------------------------------------------------------- top-level types
TOP_LEVEL = [
    ("horizon", 5), ("horizon", "30 days"), ("network", "synthetic"), ("network", [1, 2]),
    ("agents", {"strategy": "passive"}), ("agents", "passive"), ("validators", "honest"),
    ("owners", 3), ("consensus", True), ("lifecycle", [True]), ("miners", 1.5), ("validator_market", "on"),
    ("fundamentals", [[1, 2]]), ("record", True), ("regime_overrides", [1]), ("regime_overrides", "fee=0"),
    ("sweep", 3), ("sweep", [1]), ("name", 3), ("name", ["a"]), ("description", 1.5), ("seed", 1.5), ("seed", "7"),
    ("seed", True), ("seed", -1), ("plugins", "my_module"), ("regime", 2026), ("engine", "gpu"),
    ("engine", 1), ("colour", "red"),
]
ITEMS = [("agents", [1, 2], "agents[0]: 1 is not allowed"), ("plugins", [1], "plugins[0]: 1 is not allowed"),
         ("validators", [{"count": 0}], "validators[0].count: 0 is not allowed"),
         ("owners", ["holder"], "owners[0]: 'holder' is not allowed")]


@pytest.mark.parametrize(("field", "value"), TOP_LEVEL, ids=[f"{f}={v!r}" for f, v in TOP_LEVEL])
def test_wrong_top_level_types(tmp_path, capsys, field, value):
    data = dict(BASE)
    data[field] = value
    refused_run(tmp_path, capsys, toml_dumps(data), f"{field}: {shown(value)} is not allowed")


@pytest.mark.parametrize(("field", "value", "needle"), ITEMS, ids=[i[2] for i in ITEMS])
def test_wrong_items_in_lists(tmp_path, capsys, field, value, needle):
    data = dict(BASE)
    data[field] = value
    refused_run(tmp_path, capsys, toml_dumps(data), needle)


# ---------------------------------------------------------------------------------------------- every field
SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("horizon", C.Horizon), ("network", C.Network), ("agents.0", C.AgentGroup), ("agents.1.budget", C.Distribution),
    ("consensus", C.Consensus), ("validators.0", C.ValidatorGroup), ("owners.0", C.OwnerGroup),
    ("lifecycle", C.Lifecycle), ("lifecycle.max_lock", C.Distribution), ("miners", C.MinerEconomics),
    ("miners.cost_per_day", C.Distribution), ("validator_market", C.ValidatorMarket),
    ("fundamentals", C.Fundamentals), ("fundamentals.shocks.0", C.FundamentalShock), ("record", C.Record),
    ("root_claims", C.RootClaims), ("regime_schedule.0", C.RegimeEra), ("ensemble", C.Ensemble),
    ("calibrate", C.Calibrate), ("report", C.Report), ("report.subject", C.Subject), ("holders.0", C.HolderGroup),
    ("", C.ExperimentConfig),
]
_NESTED = {"horizon", "network", "agents", "consensus", "validators", "owners", "lifecycle", "miners",
           "validator_market", "fundamentals", "record", "sweep", "regime_overrides", "root_claims", "regime_schedule",
           "ensemble", "calibrate", "report", "holders"}


def _types(annotation: Any) -> set[Any]:
    """The types a field takes: ``float | None`` -> {float, NoneType}; ``list[int]`` -> {list}."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return set().union(*(_types(a) for a in get_args(annotation)))
    if origin is Annotated:
        return _types(get_args(annotation)[0])
    return {origin if origin is not None else annotation}


def _field_cases() -> list[tuple[str, Any]]:
    cases = []
    for prefix, model in SECTIONS:
        for name, info in model.model_fields.items():
            if prefix == "" and name in _NESTED:
                continue
            path = f"{prefix}.{name}" if prefix else name
            types = _types(info.annotation)
            if float in types or int in types:
                bad = [float("nan"), float("inf"), float("-inf"), "x"] if float in types else [float("nan"), 2.5, "x"]
                lows = [m for m in info.metadata  # a lower bound that refuses -1
                        if (getattr(m, "ge", None) is not None and m.ge > -1)
                        or (getattr(m, "gt", None) is not None and m.gt >= -1)]
                if lows:
                    bad.append(-1)
                cases += [(path, v) for v in bad]
            else:
                cases.append((path, [1, 2] if list not in types else "x"))
    return cases


FIELD_CASES = _field_cases()


def _display(path: str) -> str:
    """``agents.0.budget`` -> ``agents[0].budget`` (how messages name a field)."""
    return re.sub(r"\.(\d+)", r"[\1]", path)


@pytest.mark.parametrize(("path", "value"), FIELD_CASES, ids=[f"{p}={v!r}" for p, v in FIELD_CASES])
def test_every_field_of_every_section_refuses_nan_inf_negative_and_wrong_types(tmp_path, capsys, path, value):
    refused_run(tmp_path, capsys, toml_dumps(mutate(path, value)), f"{_display(path)}: {shown(value)} is not allowed")


def test_the_field_table_covers_every_model():
    covered = {model for _, model in SECTIONS}
    models = {v for v in vars(C).values() if isinstance(v, type) and issubclass(v, C._Strict) and v is not C._Strict}
    assert models <= covered, models - covered
    assert len(FIELD_CASES) > 300


# ---------------------------------------------------------------------------------------------- strategy params
def _param_cases() -> list[tuple[str, str, str, Any, str]]:
    """(kind, strategy, key, bad value, field) for every parameter of every built-in strategy."""
    cases = []
    for kind in ("staker", "validator", "owner"):
        for name in strategy_names(kind, builtin_only=True):
            cls = strategy_class(kind, name)
            defaults = {**OWNER_COMMON, **cls.defaults} if kind == "owner" else cls.defaults
            section = {"staker": "agents", "validator": "validators", "owner": "owners"}[kind]
            for key, default in defaults.items():
                field = f"{section}[0].params.{key}"
                if isinstance(default, bool):
                    bad = [1, "yes"]
                elif isinstance(default, int | float):
                    bad = [float("nan"), float("inf"), -1, "x", True]
                    if isinstance(default, int):
                        bad += [2.5, 2**60]
                else:
                    bad = [1]
                cases += [(kind, name, key, v, field) for v in bad]
            cases.append((kind, name, "no_such_param", 1, f"{section}[0].params.no_such_param"))
    return cases


PARAM_CASES = _param_cases()


def _with_strategy(kind: str, name: str, params: dict) -> dict:
    cfg = json.loads(json.dumps(BASE))
    if kind == "staker":
        cfg["agents"] = [{"strategy": name, "count": 2, "budget": 10.0, "params": params}]
    elif kind == "validator":
        cfg["validators"] = [{"strategy": name, "count": 2, "params": params}]
    else:
        cfg["owners"] = [{"strategy": name, "netuids": [1], "params": params}]
    if "derivatives" in strategy_requirements(kind, name):  # a shorts strategy needs the switch on
        cfg["regime"] = "shorts-switched-on"
    return cfg


@pytest.mark.parametrize(("kind", "name", "key", "value", "field"), PARAM_CASES,
                         ids=[f"{c[1]}.{c[2]}={c[3]!r}" for c in PARAM_CASES])
def test_every_strategy_parameter_refuses_nan_inf_negative_and_wrong_types(tmp_path, capsys, kind, name, key, value,
                                                                           field):
    refused_run(tmp_path, capsys, toml_dumps(_with_strategy(kind, name, {key: value})), f"{field}: ")


RANGE_CASES = [
    ("staker", "passive", {"invest_fraction": 1.5}, "agents[0].params.invest_fraction: 1.5"),
    ("staker", "passive", {"root_fraction": 2.0}, "agents[0].params.root_fraction: 2.0"),
    ("staker", "momentum", {"top_k": 0}, "agents[0].params.top_k: 0"),
    ("staker", "whale", {"exit_ticks": 0}, "agents[0].params.exit_ticks: 0"),
    ("staker", "fundamental", {"noise": 50.0}, "agents[0].params.noise: 50.0"),
    ("staker", "fundamental", {"fraction": 1.5}, "agents[0].params.fraction: 1.5"),
    ("validator", "honest", {"noise": 1e300}, "validators[0].params.noise: 1e+300"),
    ("validator", "honest", {"interval": 2, "interval_blocks": 720}, "validators[0].params.interval: 2"),
    ("owner", "seller", {"sell_fraction": 1.5}, "owners[0].params.sell_fraction: 1.5"),
    ("owner", "dumper", {"dump_ticks": 0}, "owners[0].params.dump_ticks: 0"),
    ("owner", "buyback", {"buyback_fraction": 7.0}, "owners[0].params.buyback_fraction: 7.0"),
    ("owner", "holder", {"burn_fraction": 1.01}, "owners[0].params.burn_fraction: 1.01"),
]


@pytest.mark.parametrize(("kind", "name", "params", "needle"), RANGE_CASES, ids=[c[3] for c in RANGE_CASES])
def test_strategy_parameters_out_of_range(tmp_path, capsys, kind, name, params, needle):
    refused_run(tmp_path, capsys, toml_dumps(_with_strategy(kind, name, params)), needle)


def test_entrant_parameters_are_checked_when_registrations_are_on(tmp_path, capsys):
    cfg = mutate("lifecycle", {"registrations": True, "entrant_strategy": "seller",
                               "entrant_params": {"sell_fraction": float("nan")}})
    refused_run(tmp_path, capsys, toml_dumps(cfg), "lifecycle.entrant_params.sell_fraction: nan")


# ---------------------------------------------------------------------------------------------- cross-field rules
CROSS = [
    # netuids that do not exist
    ("whale netuid", _with_strategy("staker", "whale", {"netuid": 999}),
     ["agents[0].params.netuid: 999 is not allowed", "subnets: 1..3"]),
    ("whale netuid of the snapshot", mutate("network.initial_state", "snapshot:2026-04-11",
                                            _with_strategy("staker", "whale", {"netuid": 5000})),
     ["agents[0].params.netuid: 5000 is not allowed", "subnets: 1.."]),
    ("owner netuid", mutate("owners.0.netuids", [2, 999]), ["owners[0].netuids: 999 is not allowed", "1..3"]),
    ("shock netuid", mutate("fundamentals", {"enabled": True, "shocks": [{"tick": 1, "netuid": 999, "size": 2.0}]}),
     ["fundamentals.shocks[0].netuid: 999"]),
    ("edge netuid", mutate("fundamentals", {"enabled": True, "edges": [[1, 999]]}), ["fundamentals.edges[0]", "999"]),
    ("edge cycle", mutate("fundamentals.edges", [[1, 2], [2, 1]]), ["fundamentals.edges"]),
    # the TAO supply
    ("external_tao past the supply", mutate("network.external_tao", 30e6),
     ["network.external_tao: 30000000.0 is not allowed", "max supply of 21,000,000 TAO"]),
    ("external_tao 1e308", mutate("network.external_tao", 1e308), ["network.external_tao: 1e+308", "max supply"]),
    ("root_stake past the supply", mutate("network.root_stake", 25e6), ["network.root_stake: 25000000.0", "supply"]),
    ("pools past the supply", mutate("network.pool_tao_median", 1e7),
     ["network.pool_tao_median: 10000000.0 is not allowed", "max supply"]),
    ("max_supply below the TAO placed", mutate("regime_overrides", {"max_supply": 1000.0}),
     ["regime_overrides.max_supply: 1000.0 is not allowed"]),
    ("max_supply below the snapshot's issuance",
     mutate("regime_overrides", {"max_supply": 1e6}, mutate("network.initial_state", "snapshot:2026-04-11")),
     ["regime_overrides.max_supply: 1000000.0 is not allowed", "already issued"]),
    # horizons
    ("days = inf", mutate("horizon.days", float("inf")), ["horizon.days: inf is not allowed"]),
    ("days = 1e12", mutate("horizon.days", 1e12), ["horizon.days: 1000000000000.0 is not allowed", "memory"]),
    ("days = 1e300", mutate("horizon.days", 1e300), ["horizon.days: 1e+300", "2**53"]),
    ("days below a block", mutate("horizon.days", 1e-6), ["horizon.days: 1e-06", "less than one block"]),
    ("blocks = 2**63 - 1", mutate("horizon.blocks", 2**63 - 1), ["horizon.blocks: 9223372036854775807", "2**53"]),
    ("days and blocks", mutate("horizon", {"days": 1.0, "blocks": 720}), ["horizon", "not both"]),
    ("subnet age 1e300", mutate("network.subnet_age_days", 1e300), ["network.subnet_age_days: 1e+300", "2**53"]),
    # draws that overflow
    ("budget sigma 10 at median 1e12", mutate("agents.1.budget", {"median": 1e12, "sigma": 10.0}),
     ["agents: total budget"]),
    ("budget median 1e13", mutate("agents.1.budget", {"median": 1e13}), ["agents[1].budget.median: 10000000000000.0"]),
    ("price sigma 500", mutate("network.price_sigma", 500.0), ["network.price_sigma: 500.0 is not allowed"]),
    ("pool sigma 500", mutate("network.pool_tao_sigma", 500.0), ["network.pool_tao_sigma: 500.0 is not allowed"]),
    ("prices that draw infinite pools", mutate("network.price_median", 1e-307),
     ["network.price_median: 1e-307 is not allowed", "infinitely much alpha"]),
    ("pools of 5e-324 TAO", mutate("network.pool_tao_median", 5e-324), ["network.pool_tao_median: 5e-324", "rao"]),
    ("prices of 1e308", mutate("network.price_median", 1e308), ["network.price_median: 1e+308"]),
    ("budget of 1e308", mutate("agents.0.budget", 1e308), ["agents[0].budget: 1e+308", "at most"]),
    ("momentum fraction 1e308", _with_strategy("staker", "momentum", {"fraction": 1e308}),
     ["agents[0].params.fraction: 1e+308"]),
    ("ema input cap 5e-324", mutate("regime_overrides", {"ema_input_cap": 5e-324}),
     ["regime_overrides.ema_input_cap: 5e-324"]),
    ("last lock age 1e308", mutate("lifecycle.last_lock_age_days", 1e308), ["lifecycle.last_lock_age_days: 1e+308"]),
    ("take interval 1e308", mutate("validator_market.take_interval_days", 1e308),
     ["validator_market.take_interval_days: 1e+308"]),
    ("pools of 1e308 TAO", mutate("network.pool_tao_median", 1e308), ["network.pool_tao_median: 1e+308"]),
    ("alpha outstanding infinite", mutate("network.alpha_out_ratio", 1e308, mutate("network.price_median", 1e-12)),
     ["network.alpha_out_ratio: 1e+308 is not allowed"]),
    ("quality sigma", mutate("consensus.quality_sigma", 1e300), ["consensus.quality_sigma: 1e+300"]),
    ("quality drift", mutate("consensus.quality_drift_per_day", 1e300), ["consensus.quality_drift_per_day: 1e+300"]),
    ("miner entry rate", mutate("miners.entry_rate_per_day", 1e300), ["miners.entry_rate_per_day: 1e+300"]),
    ("owner entry rate", mutate("lifecycle.entry_rate_per_day", 1e300), ["lifecycle.entry_rate_per_day: 1e+300"]),
    ("holders' TAO 1e300", mutate("holders.0.tao", 1e300), ["holders[0].tao: 1e+300"]),
    ("holders' TAO past the outside TAO", mutate("holders.0.tao", 20_000.0), ["holders[0].tao: 20000.0", "free TAO"]),
    ("holders' sharpness 1e300", mutate("consensus.weight_sharpness", 1e300), ["consensus.weight_sharpness: 1e+300"]),
    ("stake offset 1e300", mutate("consensus.stake_offset", 1e300), ["consensus.stake_offset: 1e+300"]),
    # ecology rules
    ("miners need yuma", mutate("miners.enabled", True, mutate("consensus.mode", "stake_pro_rata")),
     ["miners.enabled: True is not allowed"]),
    ("take_max below take_min", mutate("validator_market", {"take_min": 0.2, "take_max": 0.1}),
     ["validator_market.take_max: 0.1"]),
    ("too many uids", mutate("consensus.miners_per_subnet", 255), ["consensus.miners_per_subnet: 255"]),
    ("budgets past the outside TAO", mutate("agents.0.budget", 9000.0), ["agents: total budget"]),
    ("owner budget past the outside TAO", mutate("owners.0.budget", 9999.0), ["owners: budget"]),
    ("unknown strategy", mutate("agents.0.strategy", "martingale"), ["agents[0].strategy: 'martingale'", "passive"]),
    ("unknown validator strategy", mutate("validators.0.strategy", "lazy"), ["validators[0].strategy: 'lazy'"]),
    ("unknown owner strategy", mutate("owners.0.strategy", "rug"), ["owners[0].strategy: 'rug'"]),
    ("unknown regime", mutate("regime", "launch-1999"), ["regime: 'launch-1999'", "price-burn-2026-06"]),
    ("unknown snapshot", mutate("network.initial_state", "snapshot:1999-01-01"), ["network.initial_state"]),
    ("plugin that does not import", mutate("plugins", ["no_such_module_xyz"]), ["plugins", "no_such_module_xyz"]),
    ("plugin that is not a module name", mutate("plugins", ["os; rm"]), ["plugins", "not a module name"]),
]


@pytest.mark.parametrize(("cfg", "needles"), [c[1:] for c in CROSS], ids=[c[0] for c in CROSS])
def test_cross_field_rules(tmp_path, capsys, cfg, needles):
    refused_run(tmp_path, capsys, toml_dumps(cfg), *needles)


# ---------------------------------------------------------------------------------------------- regime overrides
OVERRIDES = [
    ({"warp_drive": True}, "regime_overrides.warp_drive: unknown regime field"),
    ({"name": "mine"}, "regime_overrides.name: unknown regime field"),
    ({"fee_rate": float("nan")}, "regime_overrides.fee_rate: nan"),
    ({"fee_rate": float("inf")}, "regime_overrides.fee_rate: inf"),
    ({"fee_rate": -0.1}, "regime_overrides.fee_rate: -0.1"),
    ({"fee_rate": 2.0}, "regime_overrides.fee_rate: 2.0"),
    ({"fee_rate": "low"}, "regime_overrides.fee_rate: 'low'"),
    ({"tao_weight": 1.5}, "regime_overrides.tao_weight: 1.5"),
    ({"amm": "orderbook"}, "regime_overrides.amm: 'orderbook'"),
    ({"yuma3": 1}, "regime_overrides.yuma3: 1"),
    ({"description": 3}, "regime_overrides.description: 3"),
    ({"tempo": 0}, "regime_overrides.tempo: 0"),
    ({"tempo": 1e300}, "regime_overrides.tempo: 1e+300"),
    ({"tempo": 36.5}, "regime_overrides.tempo: 36.5"),
    ({"blocks_per_day": 0}, "regime_overrides.blocks_per_day: 0"),
    ({"blocks_per_day": -1}, "regime_overrides.blocks_per_day: -1"),
    ({"max_epochs_per_block": 0}, "regime_overrides.max_epochs_per_block: 0"),
    ({"max_supply": 0.0}, "regime_overrides.max_supply: 0.0"),
    ({"max_supply": 1e300}, "regime_overrides.max_supply: 1e+300"),
    ({"base_block_emission": 1e300}, "regime_overrides.base_block_emission: 1e+300"),
    ({"base_block_emission": 0.0}, "regime_overrides.base_block_emission: 0.0"),
    ({"burn_half_life_blocks": -1}, "regime_overrides.burn_half_life_blocks: -1"),
    ({"subnet_limit": 1_000_000}, "regime_overrides.subnet_limit: 1000000"),
    ({"max_uids": 0}, "regime_overrides.max_uids: 0"),
    ({"max_validators": 2**60}, "regime_overrides.max_validators: 1152921504606846976"),
    ({"alpha_low": 0.9, "alpha_high": 0.8}, "regime_overrides.alpha_low: 0.9"),
    ({"neuron_burn_min": 200.0}, "regime_overrides.neuron_burn_min: 200.0"),
    ({"lock_reduction_interval": 2**52}, "regime_overrides.lock_reduction_interval"),
    ({"block_seconds": 0.0}, "regime_overrides.block_seconds: 0.0"),
    ({"min_sell_price": -1.0}, "regime_overrides.min_sell_price: -1.0"),
]


@pytest.mark.parametrize(("overrides", "needle"), OVERRIDES, ids=[o[1] for o in OVERRIDES])
def test_regime_overrides(tmp_path, capsys, overrides, needle):
    refused_run(tmp_path, capsys, toml_dumps(mutate("regime_overrides", overrides)), needle)


# ---------------------------------------------------------------------------------------------- memory
def test_memory_is_estimated_before_allocating_and_the_limit_is_overridable(tmp_path, capsys, monkeypatch):
    # 5 days of 36-block ticks: a thousand rows; with a 1 MiB limit the run is refused before it starts
    cfg = mutate("horizon", {"days": 5.0, "blocks_per_tick": 36})
    monkeypatch.setenv("DTAOSIM_MAX_MEMORY", "1MiB")
    line = refused_run(tmp_path, capsys, toml_dumps(cfg), "horizon.days: 5.0 is not allowed", "of memory",
                       "DTAOSIM_MAX_MEMORY=1MiB", "recorded series", "rows x")
    est = dtaosim.model.estimate_memory(C.parse_config(cfg))
    assert est.size.rows == 1002 and est.total > 2**20
    assert dtaosim.model.format_bytes(est.total) in line
    monkeypatch.setenv("DTAOSIM_MAX_MEMORY", "lots")
    refused_run(tmp_path, capsys, toml_dumps(cfg), "DTAOSIM_MAX_MEMORY: 'lots' is not allowed")
    monkeypatch.setenv("DTAOSIM_MAX_MEMORY", "0")  # no limit
    assert dtaosim.model.check_memory(C.parse_config(cfg)).total == est.total


def test_memory_names_the_part_that_is_large(monkeypatch):
    monkeypatch.setenv("DTAOSIM_MAX_MEMORY", "64MiB")
    many = mutate("agents.0.count", 5_000_000, mutate("network.external_tao", 1e7, mutate("agents.0.budget", 1.0)))
    with pytest.raises(ConfigError, match=r"agents\[0\]\.count: 5000000 is not allowed; .* accounts x 4 netuids"):
        dtaosim.DTaoModel(many)
    big = mutate("consensus.miners_per_subnet", 253, mutate("network.n_subnets", 1000))
    with pytest.raises(ConfigError, match=r"consensus\.miners_per_subnet: 253 .* 1,001 netuids x 256 uids"):
        dtaosim.DTaoModel(big)
    monkeypatch.delenv("DTAOSIM_MAX_MEMORY")
    limit, what = dtaosim.model.memory_limit()
    assert limit is not None and limit > 2**28 and "memory" in what  # this machine's (or its cgroup's)
    assert dtaosim.model.parse_size("1.5 GiB") == 3 * 2**29 and dtaosim.model.parse_size("512") == 512


def test_a_sweep_whose_workers_need_more_than_the_limit_is_refused(tmp_path, monkeypatch):
    cfg = mutate("sweep", {"runs": 4, "parameters": {"regime_overrides.fee_rate": [0.0, 0.001]}})
    per_run = dtaosim.model.estimate_memory(C.parse_config(cfg)).total
    monkeypatch.setenv("DTAOSIM_MAX_MEMORY", str(int(per_run * 1.5)))
    out = tmp_path / "sw"
    with pytest.raises(ConfigError, match=r"workers: 2 is not allowed; 2 runs at once"):
        dtaosim.sweep(cfg, out=out, workers=2, executor="processes", quiet=True)
    assert not out.exists()


# ---------------------------------------------------------------------------------------------- sweep tables
SWEEPS = [
    ({"parameters": {"horizon.days": [1.0, 1e12]}}, "sweep.parameters.horizon.days: 1000000000000.0"),
    ({"parameters": {"network.external_tao": [1e4, 3e7]}}, "sweep.parameters.network.external_tao: 30000000.0"),
    ({"parameters": {"agents[0].params.n_subnets": [1, float("nan")]}}, "sweep.parameters.agents[0].params.n_subnets"),
    ({"parameters": {"network.price_sigma": {"start": 0.0, "stop": float("inf"), "num": 3}}},
     "sweep.parameters.network.price_sigma.stop: inf"),
    ({"parameters": {"regime_overrides.fee_rate": [0.0, float("nan")]}}, "sweep.parameters.regime_overrides.fee_rate"),
    ({"parameters": {"regime_overrides.tempo": [360, 0]}}, "sweep.parameters.regime_overrides.tempo: 0"),
    ({"parameters": {"network.n_subnets": [3, 2]}, "runs": 1}, "sweep point 1"),
    ({"parameters": {"agents[0].strategy": ["passive", "martingale"]}}, "sweep.parameters.agents[0].strategy: "
                                                                        "'martingale'"),
    ({"parameters": {"seed": [1, 2]}}, "sweep.parameters.seed"),
    ({"parameters": {"no_such.field": [1]}}, "sweep.parameters.no_such.field"),
    ({"runs": 0}, "sweep.runs: 0"),
    ({"runs": float("inf")}, "sweep.runs: inf"),
    ({"seed": -1}, "sweep.seed: -1"),
    ({"design": "random"}, "sweep.design: 'random'"),
    ({"design": "lhs", "parameters": {"network.price_sigma": {"start": 0.0, "stop": 1.0}}}, "sweep.samples"),
    ({"colour": 1}, "sweep.colour: 1 is not allowed; unknown key"),
]


@pytest.mark.parametrize(("table", "needle"), SWEEPS, ids=[s[1] for s in SWEEPS])
def test_sweep_tables(tmp_path, capsys, table, needle):
    cfg = tmp_path / "sw.toml"
    data = json.loads(json.dumps(BASE))
    cfg.write_text(toml_dumps(data) + _sweep_toml(table))
    if needle == "sweep point 1":  # a whale on subnet 3, which the second point does not have
        data["agents"][0] = {"strategy": "whale", "count": 1, "budget": 10.0, "params": {"netuid": 3}}
        cfg.write_text(toml_dumps(data) + _sweep_toml(table))
        needle = "agents[0].params.netuid: 3 is not allowed"
    out = tmp_path / "out"
    rc, _, err = run_cli(["sweep", str(cfg), "--out", str(out), "--executor", "serial", "--quiet"], capsys)
    assert_one_line(rc, err, "sw.toml", needle)
    assert not out.exists()


def _sweep_toml(table: dict) -> str:
    lines = ["[sweep]"]
    params = table.get("parameters")
    lines += [f"{_key(k)} = {toml_value(v)}" for k, v in table.items() if k != "parameters"]
    if params is not None:
        lines.append("[sweep.parameters]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- the command line
@pytest.fixture
def good(tmp_path) -> Path:
    p = tmp_path / "good.toml"
    p.write_text(GOOD_TEXT)
    return p


def _cli_cases(good: Path, tmp: Path) -> list[tuple[str, list[str], list[str]]]:
    afile = tmp / "a-file"  # written by the test
    return [
        ("no command", [], ["required: command"]),
        ("unknown command", ["fly"], ["invalid choice: 'fly'"]),
        ("run without config", ["run"], ["required: config"]),
        ("run negative seed", ["run", str(good), "--seed", "-1"], ["--seed: -1 is not allowed", ">= 0"]),
        ("run seed not a number", ["run", str(good), "--seed", "abc"], ["--seed: 'abc' is not allowed"]),
        ("run seed fraction", ["run", str(good), "--seed", "1.5"], ["--seed: '1.5' is not allowed"]),
        ("run unknown option", ["run", str(good), "--colour", "red"], ["unrecognized arguments: --colour red"]),
        ("run out is a file", ["run", str(good), "--out", str(afile)], ["--out", "a-file", "existing file"]),
        ("run out under a file", ["run", str(good), "--out", str(afile / "sub")], ["--out", "is a file"]),
        ("run out empty", ["run", str(good), "--out", ""], ["--out: '' is not allowed"]),
        ("sweep without out", ["sweep", str(good)], ["required: --out"]),
        ("sweep zero workers", ["sweep", str(good), "--out", str(tmp / "s"), "--workers", "0"], ["--workers: 0"]),
        ("sweep negative workers", ["sweep", str(good), "--out", str(tmp / "s"), "--workers", "-2"],
         ["--workers: -2"]),
        ("sweep zero threads", ["sweep", str(good), "--out", str(tmp / "s"), "--threads", "0"], ["--threads: 0"]),
        ("sweep bad executor", ["sweep", str(good), "--out", str(tmp / "s"), "--executor", "gpu"],
         ["--executor: invalid choice: 'gpu'"]),
        ("sweep scheduler without dask", ["sweep", str(good), "--out", str(tmp / "s"), "--scheduler", "tcp://x:1"],
         ["--scheduler: 'tcp://x:1' is not allowed", "--executor dask"]),
        ("sweep out is a file", ["sweep", str(good), "--out", str(afile)], ["--out", "existing file"]),
        ("sweep missing config", ["sweep", str(tmp / "nope.toml"), "--out", str(tmp / "s")], ["no such config file"]),
        ("plot without folder", ["plot"], ["required: results"]),
        ("plot missing folder", ["plot", str(tmp / "nope")], ["is not a run folder", "no such folder"]),
        ("plot a file", ["plot", str(afile)], ["is not a run folder", "it is a file"]),
        ("plot a folder that is not a run", ["plot", str(tmp)], ["is not a run folder (no metadata.json)"]),
        ("regimes unknown option", ["regimes", "--all"], ["unrecognized arguments: --all"]),
        ("warmup with an argument", ["warmup", "now"], ["unrecognized arguments: now"]),
    ]


CLI_IDS = [c[0] for c in _cli_cases(Path("g"), Path("/tmp"))]


@pytest.mark.parametrize("case", CLI_IDS)
def test_every_command_and_option(tmp_path, capsys, good, case):
    _, argv, needles = next(c for c in _cli_cases(good, tmp_path) if c[0] == case)
    (tmp_path / "a-file").write_text("x")
    before = snapshot(tmp_path)
    rc, _, err = run_cli(argv, capsys)
    assert_one_line(rc, err, *needles)
    assert snapshot(tmp_path) == before, "a refused command changes nothing"


def test_help_is_status_0(capsys):
    assert main(["--help"]) == 0 and "usage: dtaosim" in capsys.readouterr().out


def test_the_out_of_a_refused_run_is_unchanged(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    bad = tmp_path / "bad.toml"
    bad.write_text(toml_dumps(mutate("horizon.days", float("nan"))))
    before = snapshot(out)
    rc, _, err = run_cli(["run", str(bad), "--out", str(out)], capsys)
    assert_one_line(rc, err, "bad.toml: horizon.days: nan")
    assert snapshot(out) == before


def test_sweep_out_that_is_not_empty_or_holds_another_sweep_is_unchanged(tmp_path, capsys, good):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    before = snapshot(other)
    rc, _, err = run_cli(["sweep", str(good), "--out", str(other), "--executor", "serial", "--quiet"], capsys)
    assert_one_line(rc, err, "not empty and holds no sweep")
    assert snapshot(other) == before
    done = tmp_path / "done"
    assert main(["sweep", str(good), "--out", str(done), "--executor", "serial", "--quiet"]) == 0
    changed = tmp_path / "changed.toml"
    changed.write_text(toml_dumps(mutate("seed", 4)))
    before = snapshot(done)
    rc, _, err = run_cli(["sweep", str(changed), "--out", str(done), "--executor", "serial", "--quiet"], capsys)
    assert_one_line(rc, err, "holds a different sweep")
    assert snapshot(done) == before


def test_an_unreachable_dask_scheduler_is_one_line_and_leaves_nothing(tmp_path, good):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "out"
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s", "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "dtaosim", "sweep", str(good), "--out", str(out), "--executor", "dask",
                           "--scheduler", "tcp://127.0.0.1:9", "--quiet"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dtaosim: error: scheduler: 'tcp://127.0.0.1:9' is not allowed")
    assert not out.exists()


PLOT_FOLDERS = [
    ("empty metadata", {"metadata.json": b"{}"}, "no series.parquet"),
    ("garbage metadata", {"metadata.json": b"garbage"}, "unreadable: metadata.json: JSONDecodeError"),
    ("metadata a list", {"metadata.json": b"[1, 2]"}, "metadata.json holds a list"),
    ("corrupt parquet", {"metadata.json": b"{}", "series.parquet": b"PAR1 not really", "events.parquet": b"x"},
     "unreadable"),
    ("a sweep folder", {"sweep.json": b"{}"}, "it is a sweep folder"),
]


@pytest.mark.parametrize(("files", "needle"), [p[1:] for p in PLOT_FOLDERS], ids=[p[0] for p in PLOT_FOLDERS])
def test_plot_of_a_folder_that_is_not_a_run(tmp_path, capsys, files, needle):
    folder = tmp_path / "results"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    out = tmp_path / "plots"
    rc, _, err = run_cli(["plot", str(folder), "--out", str(out)], capsys)
    assert_one_line(rc, err, "results: ", "is not a run folder", needle, "expected the --out folder of `dtaosim run`")
    assert not out.exists()


def test_plot_out_that_is_a_file(tmp_path, capsys, good):
    run_dir = tmp_path / "run"
    assert main(["run", str(good), "--out", str(run_dir), "--quiet"]) == 0
    afile = tmp_path / "plots.png"
    afile.write_bytes(b"x")
    rc, _, err = run_cli(["plot", str(run_dir), "--out", str(afile)], capsys)
    assert_one_line(rc, err, "--out", "existing file")
    assert afile.read_bytes() == b"x"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dtaosim-plots-")]


# ---------------------------------------------------------------------------------------------- processes
SUBPROCESS_CASES = [
    ("utf-16", GOOD_TEXT.encode("utf-16"), [], "bad.toml: not UTF-8"),
    ("days inf", toml_dumps(mutate("horizon.days", float("inf"))).encode(), [], "bad.toml: horizon.days: inf"),
    ("days 1e12", toml_dumps(mutate("horizon.days", 1e12)).encode(), [], "bad.toml: horizon.days: 1000000000000.0"),
    ("whale 999", toml_dumps(_with_strategy("staker", "whale", {"netuid": 999})).encode(), [],
     "bad.toml: agents[0].params.netuid: 999"),
    ("seed -1", GOOD_TEXT.encode(), ["--seed", "-1"], "--seed: -1 is not allowed"),
    ("price sigma", toml_dumps(mutate("network.price_sigma", 500.0)).encode(), [], "bad.toml: network.price_sigma"),
]


@pytest.mark.parametrize(("data", "extra", "start"), [c[1:] for c in SUBPROCESS_CASES],
                         ids=[c[0] for c in SUBPROCESS_CASES])
def test_the_real_command_prints_one_line_and_no_traceback(tmp_path, data, extra, start):
    cfg = tmp_path / "bad.toml"
    cfg.write_bytes(data)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "dtaosim", "run", str(cfg), "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("dtaosim: error: " + start), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not out.exists()


# ---------------------------------------------------------------------------------------------- from Python
def test_python_gets_the_same_message_as_a_config_error(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    for data in (mutate("horizon.days", float("nan")), _with_strategy("staker", "whale", {"netuid": 999}),
                 mutate("network.external_tao", 30e6), mutate("agents.0.budget", 9000.0)):
        cfg.write_text(toml_dumps(data))
        rc, _, err = run_cli(["run", str(cfg), "--out", str(tmp_path / "o")], capsys)
        line = assert_one_line(rc, err)
        with pytest.raises(ConfigError) as e:
            dtaosim.run(cfg, out=tmp_path / "o")
        assert "dtaosim: error: " + str(e.value).splitlines()[0] == line
        with pytest.raises(ConfigError) as e:
            dtaosim.DTaoModel(dtaosim.load_config(cfg))
        assert str(e.value).startswith("bad.toml: ")
    assert not (tmp_path / "o").exists()


def test_python_seeds_and_out(tmp_path):
    with pytest.raises(ConfigError, match=r"^seed: -1 is not allowed"):
        dtaosim.run(BASE, seed=-1)
    with pytest.raises(ConfigError, match=r"^seed: 'x' is not allowed"):
        dtaosim.DTaoModel(BASE, seed="x")
    afile = tmp_path / "f"
    afile.write_text("x")
    with pytest.raises(ConfigError, match=r"^out: .* existing file"):
        dtaosim.run(BASE, out=afile)
    with pytest.raises(ConfigError, match=r"^threads: 0 is not allowed"):
        dtaosim.sweep(BASE, out=tmp_path / "s", threads=0)
    with pytest.raises(ConfigError, match=r"^scheduler: 'tcp://x:1' is not allowed"):
        dtaosim.sweep(BASE, out=tmp_path / "s", scheduler="tcp://x:1")
    assert not (tmp_path / "s").exists()


# ---------------------------------------------------------------------------------------------- valid edges
VALID = [
    ("half a day", mutate("horizon.days", 0.5)),
    ("one block", mutate("horizon.blocks", 1)),
    ("whale on an existing subnet", _with_strategy("staker", "whale", {"netuid": 3})),
    ("whale picking by depth", _with_strategy("staker", "whale", {"netuid": 0})),
    ("n_subnets of 2**53", _with_strategy("staker", "passive", {"n_subnets": 2**53})),
    ("a whole-number float for an int parameter", _with_strategy("staker", "momentum", {"lookback": 2.0})),
    ("external TAO just below the supply", mutate("network.external_tao", 20_900_000.0)),
    ("sparse recording", mutate("record.every_ticks", 2**62)),
    ("patience of 1e9 days", mutate("miners", {"enabled": True, "patience_days": 1e9})),
    ("a temperature of 5e-324", mutate("validator_market", {"enabled": True, "temperature": 5e-324})),
]


@pytest.mark.parametrize("cfg", [v[1] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_edge_values_still_run(tmp_path, capsys, cfg):
    p = tmp_path / "edge.toml"
    p.write_text(toml_dumps(cfg))
    out = tmp_path / "out"
    rc, _, err = run_cli(["run", str(p), "--out", str(out), "--quiet"], capsys)
    assert rc == 0, err
    assert err == "" and (out / "series.parquet").exists()


def test_how_many_malformed_cases():
    n = (len(FILE_CASES) + len(TOP_LEVEL) + len(FIELD_CASES) + len(PARAM_CASES) + len(RANGE_CASES) + len(CROSS)
         + len(OVERRIDES) + len(SWEEPS) + len(CLI_IDS) + len(PLOT_FOLDERS) + len(SUBPROCESS_CASES) + len(ITEMS))
    assert n > 900, n


# ---------------------------------------------------------------------------------------------- include and [set]
INCLUDE_CASES = [
    ('include = "p.toml"\n', 'include: \'p.toml\' is not allowed; expected a list of file names'),
    ("include = [1]\n", "include[0]: 1 is not allowed; expected a file name"),
    ('include = ["missing.toml"]\n', "include[0]: 'missing.toml' is not allowed; no such file"),
    ('include = ["bad.toml"]\n', "include[0]: 'bad.toml' is not allowed; the includes form a cycle"),
    ("set = 3\n", "set: 3 is not allowed; expected a table of dotted field paths"),
    ('[set]\n"agents[7].count" = 1\n', "set.agents[7].count: 1 is not allowed; index 7 is out of range"),
    ('[set]\n"seed.deeper" = 1\n', "set.seed.deeper: 1 is not allowed; seed is a single value"),
    ('[set]\n"9lives" = 1\n', "set.9lives: 1 is not allowed; the name is not a dotted field path"),
    ('[set]\n"horizon.days" = nan\n', "horizon.days: nan is not allowed"),
    ('[set]\n"network.n_subnets" = -3\n', "network.n_subnets: -3 is not allowed"),
]


@pytest.mark.parametrize(("extra", "needle"), INCLUDE_CASES, ids=[c[1].split(":")[0] for c in INCLUDE_CASES])
def test_include_and_set_are_refused_in_one_line(tmp_path, capsys, extra, needle):
    text = toml_dumps(BASE)
    refused_run(tmp_path, capsys, extra + text if extra.startswith(("include", "set =")) else text + extra, needle)
