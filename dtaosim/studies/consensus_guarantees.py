"""Yuma consensus guarantees: the published Monte Carlo study, run with dtaosim's batched Yuma kernel.

The game (subtensor ``docs/consensus.md``; our summary ``shared/spec/consensus-guarantees.md``):
honest validators hold stake ``S_H`` in (0.5, 1] and put weight ``W_H`` on honest servers (``1 - W_H``
on cabal servers); cabal validators hold ``1 - S_H`` and put ``W_C`` on cabal servers (``1 - W_C`` on
honest ones).  After one epoch the honest emission is

    E_H = sum over honest validators and servers of  xi * D_i + (1 - xi) * I_i,

with the incentive ``I`` and the dividends ``D`` each normalised to sum 1 over the subnet (so
``E_H + E_C = 1``).  Honest stake is *retained* when ``E_H >= S_H``.

Sampling design (as the chain's ``map_consensus_guarantees`` test):

* ``N`` nodes, the first ``V`` of them validators (uids ``0..V-1``), the rest servers.  Each side's
  node count follows ``S_H`` (``floor(S_H * count)``, moved off 0 and ``count`` so each side keeps at
  least one validator and one server); honest nodes come first within validators and servers.
* Stake goes to validators only: ``S'_i = max(1 + stake_sigma * z_i, 0)``, normalised within each
  side and scaled by ``S_H`` or ``1 - S_H``.
* Weights: ``W'_ij = max(1 + sigma_W * z_ij, 0)``, normalised per validator row within each of the
  four quadrants and scaled by ``W_H``, ``1 - W_H`` (honest rows) or ``1 - W_C``, ``W_C`` (cabal rows).
* Common random numbers: the standard normals ``z`` depend only on ``(seed, S_H)``, so every
  ``(W_H, W_C)`` grid point and every setting of one seed share them.  Contours are then smooth and
  settings are compared on paired draws (the chain test reseeds with 0 for every grid point).
* One epoch from empty bonds (``design.epochs`` can run more, feeding the bonds back).  Every grid
  point is one subnet of a :func:`~dtaosim.protocol.yuma.yuma_epoch` batch, processed in chunks of
  ``design.chunk`` points: the dense weights are ``(chunk, N, N)`` (only the ``V`` validator rows are
  written and read), about ``chunk * V * N * 8`` bytes touched.

Every uid is active (``last_update = block``, registered at block 0) and the validators hold permits
from the previous epoch; ``max_validators = V``, stake threshold 0.  Kappa, the bonds penalty and the
variant flags are overrides of the regime's Yuma parameters; everything else (bonds moving average,
liquid-alpha bounds and steepness, tempo) comes from the regime.

Outputs: a tidy frame (one row per setting, ``s_h``, ``w_h``, ``w_c``, ``seed``), the retention
contour ``E_H = S_H`` per ``S_H`` (:func:`retention_contour`), and the honest utility required to
retain ``S_H`` against the worst cabal (:func:`required_utility`).

Seed aggregation (``design.aggregate``): ``"mean"`` (default) averages the honest ratio over seeds
before finding thresholds (retention of the *expected* honest emission, as the published Monte
Carlo); ``"all"`` requires retention for every seed (the worst seed decides).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.errors import ConfigError
from dtaosim.protocol.regimes import Regime, get_regime
from dtaosim.protocol.yuma import YumaInputs, YumaParams, yuma_epoch
from dtaosim.runs.files import atomic_write_bytes, make_dirs, write_text

__all__ = [
    "SETTING_COLUMNS",
    "VARIANTS",
    "VARIANT_LABELS",
    "Design",
    "Network",
    "Setting",
    "StudyConfig",
    "StudyResult",
    "comparison_table",
    "honest_shares",
    "load_config",
    "main",
    "markdown_table",
    "plot_retention_profiles",
    "required_utility",
    "retention_contour",
    "retention_matrix",
    "run_setting",
    "run_study",
    "sample_network",
    "select_setting",
    "team_sizes",
]

VARIANTS: dict[str, dict[str, bool]] = {
    "yuma": {"yuma3": False, "liquid_alpha": False},
    "yuma3": {"yuma3": True, "liquid_alpha": False},
    "yuma3_liquid": {"yuma3": True, "liquid_alpha": True},
}
"""Yuma variants as overrides of the regime's ``yuma3`` / ``liquid_alpha`` flags."""

VARIANT_LABELS: dict[str, str] = {
    "yuma": "original Yuma",
    "yuma3": "Yuma 3",
    "yuma3_liquid": "Yuma 3 + liquid alpha",
}

SWEEP_FIELDS: tuple[str, ...] = ("sigma_w", "beta", "xi", "kappa")
"""Setting fields a sweep may vary (one at a time around the baseline)."""

SETTING_COLUMNS: list[str] = ["variant", "sigma_w", "beta", "xi", "kappa"]
"""Columns of the tidy frame that identify a setting."""

STUDY_NAME = "consensus-guarantees"
"""The study's name: ``dtaosim study consensus-guarantees`` runs the packaged config of that name."""

_SEED_SCALE = 10_000
"""S_H enters the random stream as round(S_H * _SEED_SCALE)."""


# ---------------------------------------------------------------------------------------------
# Design and settings
# ---------------------------------------------------------------------------------------------


def _grid(value: Any, where: str) -> tuple[float, ...]:
    """A grid from a list of numbers or ``{start, stop, step}`` (stop included)."""
    if isinstance(value, Mapping):
        try:
            start, stop, step = float(value["start"]), float(value["stop"]), float(value["step"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{where}: {value!r} is not allowed; expected a list or {{start, stop, step}}") from None
        if step <= 0 or stop < start:
            raise ConfigError(f"{where}: {value!r} is not allowed; expected step > 0 and stop >= start")
        count = math.floor((stop - start) / step + 1e-9) + 1
        return tuple(round(start + k * step, 10) for k in range(count))
    try:
        out = tuple(float(v) for v in value)
    except TypeError:
        raise ConfigError(f"{where}: {value!r} is not allowed; expected a list of numbers") from None
    if not out:
        raise ConfigError(f"{where}: [] is not allowed; expected at least one value")
    return out


@dataclass(frozen=True)
class Design:
    """The sampling design shared by all settings of a study.

    Grids are ascending tuples; ``seeds`` non-negative ints.  ``chunk`` grid points make one
    kernel batch; ``workers`` threads run its sub-chunks.
    """

    s_h: tuple[float, ...]
    """Honest stake values, each in (0.5, 1]."""
    w_h: tuple[float, ...]
    """Honest utility grid (weight honest validators put on honest servers), in [0, 1]."""
    w_c: tuple[float, ...]
    """Cabal self-weight grid, in [0, 1]."""
    seeds: tuple[int, ...] = (0,)
    n_nodes: int = 512
    """N: uids per network (validators + servers)."""
    n_validators: int = 64
    """V: validators (uids 0..V-1); also the kernel's max_validators."""
    stake_sigma: float = 0.3
    """Relative standard deviation of the validator stake draws."""
    epochs: int = 1
    """Epochs run with the same weights (bonds fed back); 1 is the published design."""
    target_s_h: float = 0.6
    """Honest stake of the headline table."""
    aggregate: str = "mean"
    """Seed aggregation of thresholds: "mean" (mean honest ratio) or "all" (every seed retains)."""
    regime: str = "price-burn-2026-06"
    chunk: int = 64
    workers: int = 1

    def __post_init__(self) -> None:
        for name in ("s_h", "w_h", "w_c"):
            grid = tuple(sorted(float(v) for v in getattr(self, name)))
            object.__setattr__(self, name, grid)
            if not grid:
                raise ConfigError(f"design.{name}: [] is not allowed; expected at least one value")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if any(not 0.5 < s <= 1.0 for s in self.s_h):
            raise ConfigError(f"design.s_h: {list(self.s_h)!r} is not allowed; expected values in (0.5, 1]")
        for name in ("w_h", "w_c"):
            if any(not 0.0 <= w <= 1.0 for w in getattr(self, name)):
                raise ConfigError(f"design.{name}: {list(getattr(self, name))!r} is not allowed; expected [0, 1]")
        if not self.seeds or any(s < 0 for s in self.seeds):
            raise ConfigError(f"design.seeds: {list(self.seeds)!r} is not allowed; expected ints >= 0")
        if self.n_validators < 2 or self.n_nodes - self.n_validators < 2:
            raise ConfigError(
                f"design.n_nodes/n_validators: {self.n_nodes}/{self.n_validators} is not allowed; "
                "expected >= 2 validators and >= 2 servers"
            )
        if self.stake_sigma < 0:
            raise ConfigError(f"design.stake_sigma: {self.stake_sigma!r} is not allowed; expected >= 0")
        if self.epochs < 1 or self.chunk < 1 or self.workers < 1:
            raise ConfigError("design.epochs/chunk/workers: expected integers >= 1")
        if self.aggregate not in ("mean", "all"):
            raise ConfigError(f"design.aggregate: {self.aggregate!r} is not allowed; expected 'mean' or 'all'")
        get_regime(self.regime)

    @property
    def n_points(self) -> int:
        """Kernel subnets per setting: |S_H| * |W_H| * |W_C| * |seeds|."""
        return len(self.s_h) * len(self.w_h) * len(self.w_c) * len(self.seeds)


@dataclass(frozen=True)
class Setting:
    """One setting of the game: weight noise, bonds penalty, validator share, kappa, Yuma variant."""

    sigma_w: float = 0.4
    """Relative standard deviation of the weight draws (0, 0.2, 0.4 of the mean)."""
    beta: float = 1.0
    """Bonds penalty."""
    xi: float = 0.5
    """Validator share of the emission (applied after the kernel: E = xi D + (1 - xi) I)."""
    kappa: float = 0.5
    """Majority threshold of the stake-weighted median."""
    variant: str = "yuma"
    """Key of :data:`VARIANTS`."""

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"setting.variant: {self.variant!r} is not allowed; allowed: {', '.join(VARIANTS)}")
        if self.sigma_w < 0:
            raise ConfigError(f"setting.sigma_w: {self.sigma_w!r} is not allowed; expected >= 0")
        for name in ("beta", "xi", "kappa"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"setting.{name}: {v!r} is not allowed; expected a fraction in [0, 1]")

    @property
    def kernel_key(self) -> tuple[str, float, float, float]:
        """Settings with the same key share one kernel run (xi only enters afterwards)."""
        return (self.variant, self.sigma_w, self.beta, self.kappa)

    def as_row(self) -> dict[str, Any]:
        """The setting as tidy-frame columns (:data:`SETTING_COLUMNS`)."""
        return {name: getattr(self, name) for name in SETTING_COLUMNS}


@dataclass(frozen=True)
class StudyConfig:
    """A whole study: the design, the baseline setting, one-at-a-time sweeps, variants, published table."""

    name: str
    design: Design
    baseline: Setting = field(default_factory=Setting)
    sweeps: dict[str, tuple[float, ...]] = field(default_factory=dict)
    """Field of :data:`SWEEP_FIELDS` -> values, each varied alone around the baseline."""
    variants: tuple[str, ...] = ("yuma",)
    published: dict[str, dict[float, float]] = field(default_factory=dict)
    """Published required W_H at ``design.target_s_h`` (original Yuma): field -> {value: W_H}."""
    published_notes: dict[str, str] = field(default_factory=dict)
    """Qualitative published statements per field (e.g. kappa)."""
    description: str = ""
    source: str | None = None

    def settings(self) -> list[tuple[str, float, Setting]]:
        """(varied field, value, setting) for every sweep value and variant; the baseline is listed
        under every sweep that contains its value (the same setting, run once)."""
        out: list[tuple[str, float, Setting]] = []
        for variant in self.variants:
            base = dataclasses.replace(self.baseline, variant=variant)
            if not self.sweeps:
                out.append(("baseline", math.nan, base))
            for name, values in self.sweeps.items():
                for v in values:
                    out.append((name, float(v), dataclasses.replace(base, **{name: float(v)})))
        return out

    def unique_settings(self) -> list[Setting]:
        """The distinct settings to run, in plan order."""
        seen: dict[Setting, None] = {}
        for _, _, s in self.settings():
            seen.setdefault(s, None)
        return list(seen)


def load_config(source: str | Path | Mapping[str, Any], *, small: bool = False) -> StudyConfig:
    """Read a study config (TOML path or dict); ``small`` applies the ``[small]`` overrides of ``[design]``.

    Schema: see ``experiments/consensus-guarantees.toml``.
    """
    where = "config"
    if isinstance(source, Mapping):
        data = dict(source)
    else:
        from dtaosim.config import experiment_path

        path = experiment_path(source)  # a path, or a packaged study by name ("consensus-guarantees")
        where = path.name
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None
    allowed = {"name", "description", "regime", "design", "baseline", "sweeps", "variants", "published", "small",
               "study", "report"}
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{where}: {key}: unknown key; allowed: {', '.join(sorted(allowed))}")
    if data.get("study", STUDY_NAME) != STUDY_NAME:
        raise ConfigError(f"{where}: study: {data['study']!r} is not allowed; this is the {STUDY_NAME} study")
    design_raw = dict(data.get("design", {}))
    if small:
        design_raw.update(data.get("small", {}))
    if "regime" in data:
        design_raw.setdefault("regime", data["regime"])
    design_fields = {f.name for f in dataclasses.fields(Design)}
    for key in design_raw:
        if key not in design_fields:
            raise ConfigError(f"{where}: design.{key}: unknown key; allowed: {', '.join(sorted(design_fields))}")
    for name in ("s_h", "w_h", "w_c"):
        if name not in design_raw:
            raise ConfigError(f"{where}: design.{name}: missing; expected a list or {{start, stop, step}}")
        design_raw[name] = _grid(design_raw[name], f"{where}: design.{name}")
    try:
        design = Design(**design_raw)
        baseline = Setting(**{k: float(v) for k, v in data.get("baseline", {}).items()})
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    sweeps: dict[str, tuple[float, ...]] = {}
    for name, values in data.get("sweeps", {}).items():
        if name not in SWEEP_FIELDS:
            raise ConfigError(f"{where}: sweeps.{name}: unknown field; allowed: {', '.join(SWEEP_FIELDS)}")
        sweeps[name] = _grid(values, f"{where}: sweeps.{name}")
    variants = tuple(data.get("variants", ["yuma"]))
    for v in variants:
        if v not in VARIANTS:
            raise ConfigError(f"{where}: variants: {v!r} is not allowed; allowed: {', '.join(VARIANTS)}")
    published: dict[str, dict[float, float]] = {}
    notes: dict[str, str] = {}
    for name, entry in data.get("published", {}).items():
        if isinstance(entry, str):
            notes[name] = entry
            continue
        try:
            values, w_h = entry["values"], entry["w_h"]
            published[name] = {float(a): float(b) for a, b in zip(values, w_h, strict=True)}
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                f"{where}: published.{name}: {entry!r} is not allowed; expected {{values = [...], w_h = [...]}}"
            ) from None
    return StudyConfig(
        name=str(data.get("name", "consensus-guarantees")), design=design, baseline=baseline, sweeps=sweeps,
        variants=variants, published=published, published_notes=notes,
        description=str(data.get("description", "")), source=None if isinstance(source, Mapping) else str(source),
    )


# ---------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------


def team_sizes(s_h: float, count: int) -> int:
    """Honest members among ``count`` nodes: ``floor(S_H * count)``, kept within 1..count-1."""
    k = math.floor(s_h * count + 1e-9)
    return min(max(k, 1), count - 1)


@dataclass(frozen=True)
class Network:
    """One sampled network for ``(seed, S_H, sigma_W)``: stake and quadrant-normalised weight templates.

    Uids ``0..V-1`` are validators (honest first), ``V..N-1`` servers (honest first).
    """

    s_h: float
    seed: int
    stake: np.ndarray
    """(N,) stake, validators only, honest part sums to S_H and cabal part to 1 - S_H."""
    honest: np.ndarray
    """(N,) bool: honest validators and honest servers."""
    honest_validators: int
    honest_servers: int
    to_honest: np.ndarray
    """(V, N) row i: validator i's weight draws on honest servers, normalised to sum 1 (0 elsewhere)."""
    to_cabal: np.ndarray
    """(V, N) row i: validator i's weight draws on cabal servers, normalised to sum 1 (0 elsewhere)."""

    @property
    def n_nodes(self) -> int:
        """N."""
        return int(self.stake.shape[0])

    @property
    def n_validators(self) -> int:
        """V."""
        return int(self.to_honest.shape[0])

    def weights(self, w_h: np.ndarray, w_c: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Validator weight rows for P grid points: (P, V, N), each row summing to 1.

        Honest rows: ``W_H * to_honest + (1 - W_H) * to_cabal``; cabal rows:
        ``(1 - W_C) * to_honest + W_C * to_cabal``.  ``w_h``, ``w_c``: (P,).
        """
        w_h = np.asarray(w_h, dtype=np.float64).reshape(-1)
        w_c = np.asarray(w_c, dtype=np.float64).reshape(-1)
        on_honest = np.where(np.arange(self.n_validators)[None, :] < self.honest_validators,
                             w_h[:, None], 1.0 - w_c[:, None])  # (P, V)
        if out is None:
            out = np.empty((w_h.shape[0], self.n_validators, self.n_nodes))
        np.multiply(on_honest[:, :, None], self.to_honest[None], out=out)
        out += (1.0 - on_honest)[:, :, None] * self.to_cabal[None]
        return out


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to sum 1; an all-zero row becomes uniform."""
    total = x.sum(axis=-1, keepdims=True)
    uniform = np.full_like(x, 1.0 / max(1, x.shape[-1]))
    return np.where(total > 0, x / np.where(total > 0, total, 1.0), uniform)


def sample_network(
    s_h: float, sigma_w: float, seed: int, *, n_nodes: int = 512, n_validators: int = 64, stake_sigma: float = 0.3
) -> Network:
    """Draw one game network (stake and weight templates) for ``(seed, S_H)``.

    The standard normals depend on ``(seed, S_H)`` only: changing ``sigma_w`` rescales the same draws.
    """
    v, n = n_validators, n_nodes
    servers = n - v
    hv, hs = team_sizes(s_h, v), team_sizes(s_h, servers)
    rng = np.random.default_rng([int(seed), round(s_h * _SEED_SCALE)])
    z_stake = rng.standard_normal(v)
    z_weights = rng.standard_normal((v, servers))

    raw = np.maximum(1.0 + stake_sigma * z_stake, 0.0)
    stake = np.zeros(n)
    stake[:hv] = s_h * _normalise_rows(raw[:hv])
    stake[hv:v] = (1.0 - s_h) * _normalise_rows(raw[hv:])

    draws = np.maximum(1.0 + sigma_w * z_weights, 0.0)
    to_honest = np.zeros((v, n))
    to_cabal = np.zeros((v, n))
    to_honest[:, v:v + hs] = _normalise_rows(draws[:, :hs])
    to_cabal[:, v + hs:] = _normalise_rows(draws[:, hs:])
    honest = np.zeros(n, dtype=bool)
    honest[:hv] = True
    honest[v:v + hs] = True
    return Network(s_h=float(s_h), seed=int(seed), stake=stake, honest=honest, honest_validators=hv,
                   honest_servers=hs, to_honest=to_honest, to_cabal=to_cabal)


# ---------------------------------------------------------------------------------------------
# Kernel
# ---------------------------------------------------------------------------------------------


class _Buffers:
    """Reusable (chunk, N, N) float64 arrays: weights and two bond buffers (only V rows are touched)."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, p: int, n: int, v: int) -> np.ndarray:
        arr = self._arrays.get(name)
        if arr is None or arr.shape[0] < p or arr.shape[1] != n:
            arr = np.zeros((p, n, n))  # lazily mapped: only the validator rows ever get pages
            self._arrays[name] = arr
        out = arr[:p]
        out[:, :v] = 0.0
        return out


def honest_shares(
    network: Network,
    setting: Setting,
    w_h: np.ndarray,
    w_c: np.ndarray,
    *,
    regime: Regime | str = "price-burn-2026-06",
    epochs: int = 1,
    chunk: int = 64,
    workers: int = 1,
    buffers: _Buffers | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Honest incentive and dividend shares after ``epochs`` epochs, for P grid points of one network.

    Args:
        network: the sampled network (N uids, V validators).
        setting: sigma_W is already in ``network``; beta, kappa and the variant go to the kernel.
        w_h, w_c: (P,) honest utility and cabal self-weight of each grid point.

    Returns:
        ``(I_H, D_H)``, each (P,): the sums over honest nodes of the normalised incentive and
        dividends.  The honest ratio is ``xi * D_H + (1 - xi) * I_H``.
    """
    reg = get_regime(regime)
    w_h = np.asarray(w_h, dtype=np.float64).reshape(-1)
    w_c = np.asarray(w_c, dtype=np.float64).reshape(-1)
    p_total, n, v = w_h.shape[0], network.n_nodes, network.n_validators
    buffers = buffers or _Buffers()
    inc_h = np.empty(p_total)
    div_h = np.empty(p_total)
    params_full = YumaParams.from_regime(
        reg, min(chunk, max(p_total, 1)), kappa=setting.kappa, bonds_penalty=setting.beta,
        max_validators=v, stake_threshold=0.0, **VARIANTS[setting.variant],
    )
    block0 = 2 * reg.tempo  # uids registered at block 0 are older than the previous epoch
    for lo in range(0, p_total, chunk):
        hi = min(lo + chunk, p_total)
        p = hi - lo
        params = params_full if p == params_full.n_subnets else params_full.take(slice(0, p))
        weights = buffers.get("weights", p, n, v)
        network.weights(w_h[lo:hi], w_c[lo:hi], out=weights[:, :v])
        stake = np.broadcast_to(network.stake, (p, n))
        permits = np.zeros((p, n), dtype=bool)
        permits[:, :v] = True
        bonds = buffers.get("bonds_a", p, n, v)
        out = None
        for epoch in range(epochs):
            block = block0 + epoch * reg.tempo
            inputs = YumaInputs(
                stake=stake, permits=permits, weights=weights, bonds=bonds,
                last_update=np.full((p, n), block, dtype=np.int64),
                block_at_registration=np.zeros((p, n), dtype=np.int64),
            )
            bonds_out = buffers.get("bonds_b" if epoch % 2 == 0 else "bonds_a", p, n, v)
            out = yuma_epoch(inputs, params, block=block, bonds_out=bonds_out, workers=workers)
            bonds, permits = out.new_bonds, out.new_permits
        assert out is not None
        inc_h[lo:hi] = out.incentive[:, network.honest].sum(axis=1)
        div_h[lo:hi] = out.dividends[:, network.honest].sum(axis=1)
    return inc_h, div_h


def run_setting(
    design: Design,
    setting: Setting,
    *,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Run one setting's whole grid (all S_H, W_H, W_C and seeds) through the kernel.

    Returns a tidy frame, one row per ``(s_h, w_h, w_c, seed)``: columns :data:`SETTING_COLUMNS`,
    ``s_h, w_h, w_c, seed, incentive_h, dividends_h, honest_ratio`` (``honest_ratio`` uses
    ``setting.xi``).
    """
    gh, gc = np.meshgrid(np.array(design.w_h), np.array(design.w_c), indexing="ij")
    w_h, w_c = gh.reshape(-1), gc.reshape(-1)
    buffers = _Buffers()
    parts = []
    for seed in design.seeds:
        for s_h in design.s_h:
            net = sample_network(s_h, setting.sigma_w, seed, n_nodes=design.n_nodes,
                                 n_validators=design.n_validators, stake_sigma=design.stake_sigma)
            inc, div = honest_shares(net, setting, w_h, w_c, regime=design.regime, epochs=design.epochs,
                                     chunk=design.chunk, workers=design.workers, buffers=buffers)
            parts.append(pd.DataFrame({"s_h": s_h, "w_h": w_h, "w_c": w_c, "seed": seed,
                                       "incentive_h": inc, "dividends_h": div}))
        if progress:
            progress(f"  seed {seed} done")
    frame = pd.concat(parts, ignore_index=True)
    return _with_setting(frame, setting)


def _with_setting(kernel_frame: pd.DataFrame, setting: Setting) -> pd.DataFrame:
    """Kernel rows (``incentive_h``, ``dividends_h``) labelled with ``setting`` and its honest ratio."""
    frame = kernel_frame.copy()
    for name, value in setting.as_row().items():
        frame[name] = value
    frame["honest_ratio"] = setting.xi * frame["dividends_h"] + (1.0 - setting.xi) * frame["incentive_h"]
    cols = [*SETTING_COLUMNS, "s_h", "w_h", "w_c", "seed", "incentive_h", "dividends_h", "honest_ratio"]
    return frame[cols]


# ---------------------------------------------------------------------------------------------
# Thresholds: retention contours and required utility
# ---------------------------------------------------------------------------------------------


def _matrices(frame: pd.DataFrame, *, aggregate: str = "mean", by_seed: bool = False,
              s_h: float | None = None) -> Iterator[tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]]:
    """Honest-ratio matrices on the (W_H, W_C) grid, one per setting and S_H (and seed if ``by_seed``).

    Seeds are aggregated by ``aggregate`` ("mean", or "all" = the worst seed).  Yields
    ``(keys, w_h (H,), w_c (C,), ratio (H, C))``; grid points missing from the frame are NaN.
    """
    if aggregate not in ("mean", "all"):
        raise ConfigError(f"aggregate: {aggregate!r} is not allowed; expected 'mean' or 'all'")
    if s_h is not None:
        frame = frame[np.isclose(frame["s_h"].to_numpy(), s_h)]
    keys = [c for c in SETTING_COLUMNS if c in frame.columns] + (["seed"] if by_seed else []) + ["s_h"]
    agg = (frame.groupby([*keys, "w_h", "w_c"], sort=True)["honest_ratio"]
           .agg("mean" if aggregate == "mean" else "min").reset_index())
    for key, g in agg.groupby(keys, sort=False):
        w_h, w_c = np.unique(g["w_h"].to_numpy()), np.unique(g["w_c"].to_numpy())
        if len(g) == len(w_h) * len(w_c):  # complete grid, sorted by (w_h, w_c)
            ratio = g["honest_ratio"].to_numpy().reshape(len(w_h), len(w_c))
        else:
            ratio = g.pivot(index="w_h", columns="w_c", values="honest_ratio").reindex(
                index=w_h, columns=w_c).to_numpy(float)
        yield dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)), w_h, w_c, ratio


def retention_matrix(frame: pd.DataFrame, s_h: float, *, aggregate: str = "mean") -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Margin ``E_H - S_H`` on the (W_H, W_C) grid for one setting and one S_H.

    ``frame``: tidy rows of a single setting.  ``aggregate``: "mean" averages the honest ratio over
    seeds; "all" takes the worst seed.  Returns ``(w_h (H,), w_c (C,), margin (H, C))``.
    """
    found = list(_matrices(frame, aggregate=aggregate, s_h=s_h))
    if len(found) != 1:
        raise ConfigError(f"retention_matrix: expected the rows of one setting with s_h {s_h!r}; "
                          f"found {len(found)} groups")
    _, w_h, w_c, ratio = found[0]
    return w_h, w_c, ratio - s_h


def _threshold(w: np.ndarray, margin: np.ndarray) -> float:
    """Smallest w from which ``margin >= 0`` holds at every larger grid point, interpolated linearly
    between the last failing grid point and the next; NaN if the largest w fails."""
    ok = margin >= 0
    if not ok[-1]:
        return math.nan
    fail = np.flatnonzero(~ok)
    if fail.size == 0:
        return float(w[0])
    k = int(fail[-1])
    m0, m1 = float(margin[k]), float(margin[k + 1])
    t = m0 / (m0 - m1) if m0 != m1 else 1.0
    return float(w[k] + t * (w[k + 1] - w[k]))


def retention_contour(frame: pd.DataFrame, s_h: float | None = None, *, aggregate: str = "mean") -> pd.DataFrame:
    """The retention line ``E_H = S_H`` per S_H: for every W_C, the W_H from which honest stake is retained.

    Returns a frame with the setting columns, ``s_h``, ``w_c``, ``w_h`` (NaN where even W_H = 1 loses).
    The worst-case cabal is the W_C with the largest ``w_h``.
    """
    rows = []
    for keys, w_h, w_c, ratio in _matrices(frame, aggregate=aggregate, s_h=s_h):
        margin = ratio - keys["s_h"]
        for j, wc in enumerate(w_c):
            rows.append({**keys, "w_c": float(wc), "w_h": _threshold(w_h, margin[:, j])})
    return pd.DataFrame(rows)


def required_utility(frame: pd.DataFrame, *, aggregate: str = "mean", by_seed: bool = False) -> pd.DataFrame:
    """Honest utility required to retain S_H against the worst cabal, per setting and S_H.

    The smallest W_H such that ``E_H >= S_H`` for every W_C (and every larger grid W_H), linearly
    interpolated between grid points; NaN when W_H = 1 does not retain.  Columns: the setting
    columns, ``s_h``, ``required_w_h``, ``worst_w_c`` (the cabal self-weight binding at the
    threshold's failing grid point), plus ``seed`` when ``by_seed`` (thresholds per seed).
    """
    rows = []
    for keys, w_h, w_c, ratio in _matrices(frame, aggregate=aggregate, by_seed=by_seed):
        margin = ratio - keys["s_h"]
        worst = np.nanmin(np.where(np.isnan(margin), -np.inf, margin), axis=1)
        fail = np.flatnonzero(worst < 0)
        k = int(fail[-1]) if fail.size else 0
        rows.append({**keys, "required_w_h": _threshold(w_h, worst),
                     "worst_w_c": float(w_c[int(np.nanargmin(margin[k]))]) if np.isfinite(margin[k]).any()
                     else math.nan})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------------------------


@dataclass
class StudyResult:
    """Output of :func:`run_study`."""

    config: StudyConfig
    frame: pd.DataFrame
    """Tidy: one row per (setting, s_h, w_h, w_c, seed); see :func:`run_setting`."""
    seconds: float = 0.0
    kernel_points: int = 0
    """Grid points run through the kernel (settings differing only in xi share a run)."""

    def required(self, *, by_seed: bool = False) -> pd.DataFrame:
        """:func:`required_utility` of every setting and S_H (the design's seed aggregation)."""
        return required_utility(self.frame, aggregate=self.config.design.aggregate, by_seed=by_seed)

    def contours(self) -> pd.DataFrame:
        """:func:`retention_contour` of every setting and S_H."""
        return retention_contour(self.frame, aggregate=self.config.design.aggregate)

    def table(self, s_h: float | None = None) -> pd.DataFrame:
        """Required W_H at ``s_h`` (default: the design's target) per sweep entry and variant, next to
        the published numbers (see :func:`comparison_table`)."""
        s = self.config.design.target_s_h if s_h is None else s_h
        return comparison_table(self.config, self.required(), s_h=s, by_seed=self.required(by_seed=True))

    def save(self, out: str | Path) -> Path:
        """Write ``frame.parquet``, ``required.parquet``, ``contours.parquet``, ``table.md``, ``metadata.json``
        and ``timings.json`` (the wall time: the only file that differs between two runs of a study) into
        ``out``."""
        out = make_dirs(out)
        for name, df in (("frame.parquet", self.frame), ("required.parquet", self.required()),
                         ("contours.parquet", self.contours())):
            atomic_write_bytes(out / name, lambda p, df=df: df.to_parquet(p, index=False))
        write_text(out / "table.md", markdown_table(self.table(), self.config) + "\n")
        meta = {
            "name": self.config.name, "source": self.config.source,
            "design": dataclasses.asdict(self.config.design), "baseline": dataclasses.asdict(self.config.baseline),
            "sweeps": self.config.sweeps, "variants": list(self.config.variants),
            "kernel_points": self.kernel_points,
        }
        write_text(out / "metadata.json", json.dumps(meta, indent=2, default=str) + "\n")
        write_text(out / "timings.json", json.dumps({"wall_seconds": round(self.seconds, 4)}, indent=2) + "\n")
        return out


def comparison_table(
    config: StudyConfig, required: pd.DataFrame, *, s_h: float, by_seed: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per (varied field, value): the published required W_H and the measured one per variant.

    Columns: ``varied``, ``value``, ``published`` (NaN where none), then one column per variant
    (:data:`VARIANT_LABELS`), and ``<variant> seed range`` (min-max of the per-seed thresholds) when
    ``by_seed`` is given.
    """
    req = required[np.isclose(required["s_h"].to_numpy(), s_h)]
    seeds = None if by_seed is None else by_seed[np.isclose(by_seed["s_h"].to_numpy(), s_h)]
    rows: dict[tuple[str, float], dict[str, Any]] = {}
    for varied, value, setting in config.settings():
        row = rows.setdefault((varied, value), {
            "varied": varied, "value": value,
            "published": config.published.get(varied, {}).get(value, math.nan),
        })
        mask = np.ones(len(req), dtype=bool)
        for name, v in setting.as_row().items():
            mask &= (req[name] == v).to_numpy()
        label = VARIANT_LABELS[setting.variant]
        row[label] = float(req.loc[mask, "required_w_h"].iloc[0]) if mask.any() else math.nan
        if seeds is not None and len(seeds):
            smask = np.ones(len(seeds), dtype=bool)
            for name, v in setting.as_row().items():
                smask &= (seeds[name] == v).to_numpy()
            vals = seeds.loc[smask, "required_w_h"].to_numpy(float)
            row[f"{label} seed range"] = (float(np.nanmin(vals)) if np.isfinite(vals).any() else math.nan,
                                          float(np.nanmax(vals)) if np.isfinite(vals).any() else math.nan)
    return pd.DataFrame(list(rows.values()))


def markdown_table(table: pd.DataFrame, config: StudyConfig | None = None) -> str:
    """The comparison table as Markdown (percentages; "none" where W_H = 1 does not retain)."""
    def pct(x: float) -> str:
        return "none" if not np.isfinite(x) else f"{100 * x:.0f}%"

    labels = [c for c in table.columns if c in VARIANT_LABELS.values()]
    head = ["varied", "value", "published", *labels]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [str(r["varied"]), f"{r['value']:g}", "" if not np.isfinite(r["published"]) else pct(r["published"])]
        for label in labels:
            cell = pct(r[label])
            rng = r.get(f"{label} seed range")
            if isinstance(rng, tuple) and np.isfinite(rng[0]) and rng[0] != rng[1]:
                cell += f" ({pct(rng[0])}-{pct(rng[1])})"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    if config is not None and config.published_notes:
        lines.append("")
        lines.extend(f"Published ({k}): {v}" for k, v in config.published_notes.items())
    return "\n".join(lines)


def run_study(
    config: StudyConfig | str | Path | Mapping[str, Any],
    *,
    small: bool = False,
    variants: Sequence[str] | None = None,
    seeds: int | None = None,
    s_h: Sequence[float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> StudyResult:
    """Run every setting of a study config (TOML path, dict or :class:`StudyConfig`).

    ``small`` applies the config's ``[small]`` design; ``variants`` restricts the Yuma variants;
    ``seeds`` keeps only the first ``seeds`` seeds; ``s_h`` replaces the honest-stake grid.
    Settings that differ only in xi share one kernel run.
    """
    cfg = config if isinstance(config, StudyConfig) else load_config(config, small=small)
    if variants is not None:
        cfg = dataclasses.replace(cfg, variants=tuple(variants))
    if seeds is not None:
        cfg = dataclasses.replace(cfg, design=dataclasses.replace(cfg.design, seeds=cfg.design.seeds[:seeds]))
    if s_h is not None:
        cfg = dataclasses.replace(cfg, design=dataclasses.replace(cfg.design, s_h=tuple(s_h)))
    start = time.perf_counter()
    kernel_runs: dict[tuple[str, float, float, float], pd.DataFrame] = {}
    parts = []
    for setting in cfg.unique_settings():
        key = setting.kernel_key
        if key not in kernel_runs:
            if progress:
                progress(f"{setting.variant} sigma_w={setting.sigma_w} beta={setting.beta} kappa={setting.kappa}: "
                         f"{cfg.design.n_points} points ({time.perf_counter() - start:.0f} s)")
            kernel_runs[key] = run_setting(cfg.design, setting)
        parts.append(_with_setting(kernel_runs[key], setting))
    frame = pd.concat(parts, ignore_index=True)
    return StudyResult(config=cfg, frame=frame, seconds=time.perf_counter() - start,
                       kernel_points=len(kernel_runs) * cfg.design.n_points)


def select_setting(frame: pd.DataFrame, setting: Setting) -> pd.DataFrame:
    """The rows of ``frame`` that belong to ``setting``."""
    mask = np.ones(len(frame), dtype=bool)
    for name, value in setting.as_row().items():
        mask &= (frame[name] == value).to_numpy()
    return frame[mask]


def plot_retention_profiles(
    frame: pd.DataFrame,
    config: StudyConfig,
    *,
    variant: str = "yuma",
    fields: Sequence[str] | None = None,
) -> Any:
    """Retention profiles: the contours ``E_H = S_H`` in the (W_H, W_C) plane, one line per S_H.

    One panel per sweep value (rows: ``fields``, default every sweep of ``config``), as the published
    retention graphs: x = honest utility W_H, y = cabal self-weight W_C; honest stake is retained to
    the right of its line.  Returns a matplotlib Figure (headless; display it in Jupyter).
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fields = list(fields or config.sweeps)
    ncols = max(len(config.sweeps[f]) for f in fields)
    fig = Figure(figsize=(2.6 * ncols + 1.0, 2.4 * len(fields) + 0.6))
    axes = np.asarray(fig.subplots(len(fields), ncols, sharex=True, sharey=True, squeeze=False))
    fig.subplots_adjust(left=0.08, right=0.86, bottom=0.07, top=0.92, wspace=0.08, hspace=0.25)
    s_values = np.array(config.design.s_h)
    colors = colormaps["viridis"](np.linspace(0, 1, len(s_values) + 1))[1:]
    ticks, tick_labels = [0.0, 0.25, 0.5, 0.75, 1.0], ["0", "", "0.5", "", "1"]
    for r, name in enumerate(fields):
        for c in range(ncols):
            ax = axes[r, c]
            if c >= len(config.sweeps[name]):
                ax.set_visible(False)
                continue
            value = config.sweeps[name][c]
            setting = dataclasses.replace(config.baseline, variant=variant, **{name: float(value)})
            for keys, w_h, w_c, ratio in _matrices(select_setting(frame, setting), aggregate=config.design.aggregate):
                margin = ratio - keys["s_h"]
                k = int(np.argmin(np.abs(s_values - keys["s_h"])))
                if np.nanmin(margin) < 0 < np.nanmax(margin) and len(w_h) > 1 and len(w_c) > 1:
                    ax.contour(w_h, w_c, margin.T, levels=[0.0], colors=[colors[k]], linewidths=1.4)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_xticks(ticks, tick_labels)
            ax.set_yticks(ticks, tick_labels)
            ax.grid(ls=":", color="0.85")
            ax.set_title(f"{name} = {value:g}", fontsize=10)
            if r == len(fields) - 1:
                ax.set_xlabel("honest utility $W_H$")
            if c == 0:
                ax.set_ylabel("cabal self-weight $W_C$")
    handles = [Line2D([], [], color=colors[k], lw=1.4) for k in range(len(s_values))]
    fig.legend(handles, [f"{s:g}" for s in s_values], title="$S_H$", loc="center right")
    fig.suptitle(f"Retention profiles $E_H = S_H$ ({VARIANT_LABELS[variant]}; baseline "
                 + ", ".join(f"{k} = {getattr(config.baseline, k):g}" for k in SWEEP_FIELDS) + ")")
    return fig


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dtaosim.studies.consensus_guarantees CONFIG --out DIR [--small] [--seeds K] [--variants V ...]
    [--s-h X ...]``: writes the study's Parquet files, ``table.md`` and ``metadata.json``; 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m dtaosim.studies.consensus_guarantees",
                                     description="Yuma consensus guarantees Monte Carlo study.")
    parser.add_argument("config", help="study TOML (e.g. experiments/consensus-guarantees.toml)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--small", action="store_true", help="use the config's [small] design")
    parser.add_argument("--seeds", type=int, default=None, help="keep only the first K seeds")
    parser.add_argument("--variants", nargs="+", default=None, choices=list(VARIANTS))
    parser.add_argument("--s-h", nargs="+", type=float, default=None, help="replace the S_H grid")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        result = run_study(args.config, small=args.small, variants=args.variants, seeds=args.seeds, s_h=args.s_h,
                           progress=log)
    except ConfigError as e:
        print(f"consensus_guarantees: error: {e}", file=sys.stderr)
        return 2
    out = result.save(args.out)
    print(markdown_table(result.table(), result.config))
    if log:
        log(f"wrote {out} in {result.seconds:.0f} s ({result.kernel_points} kernel points)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
