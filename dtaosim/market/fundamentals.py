"""Subnet fundamentals: latent utility, external demand, a dependency graph and a fundamental value.

Every array runs over the netuid axis (length ``n_netuids``; index 0 is root and is ignored: its value is
0).  All randomness comes from the :class:`numpy.random.Generator` given to the constructor (the model
passes its ``exogenous`` stream).  Every step draws ``2 * n_netuids`` normals whatever the parameters and
the set of live subnets (``reset_subnet`` draws 2), so runs are deterministic and sweep points share their
shocks.

Use from the model: build it once with the tick-0 spot prices; at the end of every tick (after settlement,
when the tick's yield is known) call ``step(mean miner quality or None, yield per tick, live-subnet
mask)``; call ``reset_subnet(netuid, price)`` when a subnet registers (a netuid that turns live without it
has value 0, i.e. unknown); put ``beliefs(rng, noise)`` (or ``value``) into the next tick's market view.
After k steps ``tick == k``, and a shock listed at tick k is applied by the k-th step.

Equations (one step = one tick; ``N`` are independent standard normals; ``i`` a subnet)::

    own utility        u_i = z_i * m_i                                    (dimensionless, median 1)
      random walk      log z_i <- log z_i + s_u N - s_u^2 / 2            (mean-preserving; z_i(0) = exp(sigma_u N))
      miner link       log m_i <- (1 - lam) log m_i + lam log(q_i / q_i0)  (q_i0: first observed miner quality)
      shocks           z_i <- z_i * size                                  (at the listed tick)
    demand             d_i = D_i * exp(x_i),  x_i <- (1 - theta) x_i + s_d N,  D_i = exp(sigma_d N),  x_i(0) = 0
    effective utility  log e_i = log u_i + gamma * sum_{j -> i} log e'_j / k_i
                       (k_i inputs of i; e'_j = e_j if subnet j exists, else 1: a typical off-chain substitute;
                        computed in topological order of the dependency graph)
    yield              ybar_i <- (1 - a) ybar_i + a * clip(y_i, 0, y_max)  (alpha per alpha held per tick)
    value (TAO/alpha)  V_i = c_i * (e_i d_i)^eta * (1 + H * ybar_i)
    calibration        c_i = p_i(0) / ((e_i(0) d_i(0))^eta * (1 + H * ybar_i(0)))   so V_i(0) = p_i(0)
    beliefs            B_i = V_i * exp(noise * N)
    (V and B are clipped to exp(+-690) TAO per alpha so they stay finite and > 0; see LOG_VALUE_BOUND)

with ``s_u = utility_drift``, ``sigma_u = utility_sigma``, ``lam = quality_link``, ``theta = demand_reversion``,
``s_d = demand_drift``, ``sigma_d = demand_sigma``, ``gamma = dependency_weight``, ``eta = elasticity``,
``a = yield_smoothing``, ``y_max = yield_cap``, ``H = yield_horizon_ticks`` (fields of
:class:`dtaosim.config.Fundamentals`).  The value is what one alpha is worth to a holder who counts the
subnet's use value (utility times demand) plus the alpha its emission yield adds over ``H`` ticks.  The
per-subnet constant ``c_i`` makes the tick-0 prices the anchor: fundamentals drive the *changes* of value,
the tick-0 cross-section is taken as correctly priced.  A newly registered subnet is recalibrated to its
registration price by :meth:`SubnetFundamentals.reset_subnet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dtaosim.errors import ConfigError

LOG_VALUE_BOUND = 690.0
"""Values and beliefs are kept within exp(-690)..exp(690) TAO per alpha (about 1e-300..1e300), so that they
stay finite and > 0 under any valid parameters (only absurd settings come near the bounds)."""

__all__ = ["LOG_VALUE_BOUND", "EdgeError", "SubnetFundamentals", "check_edges", "dependency_levels"]


class EdgeError(ConfigError):
    """A bad dependency edge: ``index`` in the list, the ``edge`` as given and the ``rule`` it breaks."""

    def __init__(self, where: str, index: int, edge: list, rule: str) -> None:
        super().__init__(f"{where}[{index}]: {edge!r} is not allowed; {rule}")
        self.index, self.edge, self.rule = index, edge, rule


def _find_cycle(edges: list[tuple[int, int]], remaining: set[int]) -> tuple[int, list[int]]:
    """An edge on a cycle among ``remaining`` nodes (the one listed last) and the cycle as a path of netuids
    ending with that edge."""
    inputs: dict[int, int] = {}
    for k, (a, b) in enumerate(edges):
        if a in remaining and b in remaining:
            inputs.setdefault(b, k)
    node = min(remaining & set(inputs))
    seen: list[int] = []
    while node not in seen:
        seen.append(node)
        node = edges[inputs[node]][0]
    cycle = seen[seen.index(node):][::-1]  # walked against the edges: reverse to follow them
    last = max(range(len(cycle)), key=lambda i: inputs[cycle[i]])  # cycle[last - 1] -> cycle[last]
    path = cycle[last:] + cycle[:last]
    return inputs[path[0]], [*path, path[0]]


def check_edges(edges: Sequence[Sequence[int]], n_netuids: int | None = None,
                where: str = "fundamentals.edges") -> list[tuple[int, int]]:
    """The edges as ``(from, to)`` pairs after checking them; :class:`ConfigError` otherwise.

    Each edge is two netuids ``>= 1`` (below ``n_netuids`` when given), not a self-loop and not listed
    twice, and the graph has no cycle.  The message names ``where[k]``, the edge and the rule.
    """
    out: list[tuple[int, int]] = []
    for k, edge in enumerate(edges):
        pair = list(edge)
        if len(pair) != 2 or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in pair):
            raise EdgeError(where, k, pair, "an edge is a pair [from, to] of netuids")
        a, b = int(pair[0]), int(pair[1])
        if a < 1 or b < 1:
            bad = a if a < 1 else b
            raise EdgeError(where, k, pair, f"netuid {bad} is not a subnet (netuids are >= 1; 0 is root)")
        if n_netuids is not None and max(a, b) >= n_netuids:
            raise EdgeError(where, k, pair, f"netuid {max(a, b)} is not a subnet of this network "
                                            f"(netuids 1..{n_netuids - 1})")
        if a == b:
            raise EdgeError(where, k, pair, "a subnet cannot be its own input (self-loop)")
        if (a, b) in out:
            raise EdgeError(where, k, pair, "the edge is listed twice")
        out.append((a, b))
    dependency_levels(out, where=where)
    return out


def dependency_levels(edges: list[tuple[int, int]], where: str = "fundamentals.edges") -> list[list[int]]:
    """Netuids that have inputs, grouped by topological generation (each group only depends on subnets of
    earlier groups or on subnets without inputs).  A cycle raises :class:`ConfigError` naming an edge on it."""
    nodes = {v for e in edges for v in e}
    indeg = dict.fromkeys(nodes, 0)
    children: dict[int, list[int]] = {v: [] for v in nodes}
    for a, b in edges:
        indeg[b] += 1
        children[a].append(b)
    frontier = sorted(v for v in nodes if indeg[v] == 0)
    levels: list[list[int]] = []
    done = set(frontier)
    while frontier:
        nxt = []
        for v in frontier:
            for c in children[v]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    nxt.append(c)
        frontier = sorted(nxt)
        done.update(frontier)
        if frontier:
            levels.append(frontier)
    if len(done) < len(nodes):
        k, path = _find_cycle(edges, nodes - done)
        raise EdgeError(where, k, list(edges[k]), f"it closes the cycle {' -> '.join(map(str, path))} "
                                                  "(the dependency graph must be acyclic)")
    return levels


class SubnetFundamentals:
    """Latent utility and demand of every subnet and the fundamental value they imply (module docstring).

    Parameters
    ----------
    config:
        The experiment's :class:`~dtaosim.config.Fundamentals` section.
    price:
        Spot prices at tick 0 (TAO per alpha, over netuids): the calibration anchor.
    rng:
        The random stream of every draw (the model's ``exogenous`` stream), kept for :meth:`step` and
        :meth:`reset_subnet`.
    exists:
        Which netuids are live subnets (default: ``price > 0``); root is never one.
    yield_per_tick:
        The yield of the last tick (alpha per alpha held) if known; it seeds the yield average (default 0).
    """

    def __init__(self, config: Any, price: np.ndarray, rng: np.random.Generator,
                 exists: np.ndarray | None = None, yield_per_tick: np.ndarray | None = None) -> None:
        self.config = config
        self.rng = rng
        price = np.asarray(price, dtype=float)
        n = price.size
        self.n_netuids = n
        edges = check_edges(config.edges, n)
        for k, shock in enumerate(config.shocks):
            if shock.netuid >= n:
                raise ConfigError(f"fundamentals.shocks[{k}].netuid: {shock.netuid!r} is not allowed; not a subnet "
                                  f"of this network (netuids 1..{n - 1})")
        self.edges = edges
        self._levels = dependency_levels(edges)
        src = np.array([a for a, _ in edges], dtype=np.intp)
        dst = np.array([b for _, b in edges], dtype=np.intp)
        indeg = np.bincount(dst, minlength=n) if dst.size else np.zeros(n, dtype=np.intp)
        self._src, self._dst = src, dst
        self._w = 1.0 / indeg[dst] if dst.size else np.zeros(0)
        self._level_edges = [np.flatnonzero(np.isin(dst, lv)) for lv in self._levels]
        self._level_nodes = [np.asarray(lv, dtype=np.intp) for lv in self._levels]

        self.tick = 0
        """Steps taken; a shock with ``tick = k`` is applied by the k-th step."""
        self.exists = np.zeros(n, dtype=bool)
        self.exists[:] = price > 0 if exists is None else np.asarray(exists, dtype=bool)
        self.exists[0] = False
        c = config
        self.log_z = c.utility_sigma * rng.standard_normal(n)
        """Log of the own-utility random walk (shocks included)."""
        self.log_m = np.zeros(n)
        """Log of the miner-quality factor of own utility."""
        self.log_q0 = np.full(n, np.nan)
        """Log of the first miner quality observed per subnet (NaN: none yet)."""
        self.log_d0 = c.demand_sigma * rng.standard_normal(n)
        """Log of each subnet's long-run demand level D."""
        self.x = np.zeros(n)
        """Log deviation of demand from its long-run level."""
        self.ybar = np.zeros(n) if yield_per_tick is None else self._clip_yield(yield_per_tick)
        """Moving average of the yield per tick (alpha per alpha held), capped."""
        self.log_e = np.zeros(n)
        self._effective()
        self.log_c = np.full(n, -np.inf)
        """Log of the calibration constant c (``-inf``: not calibrated, value 0)."""
        self.calibrated = np.zeros(n, dtype=bool)
        self._calibrate(self.exists & (price > 0) & np.isfinite(price), price)

    # ------------------------------------------------------------------------------------------
    def _clip_yield(self, y: np.ndarray) -> np.ndarray:
        y = np.nan_to_num(np.asarray(y, dtype=float), nan=0.0, posinf=self.config.yield_cap, neginf=0.0)
        return np.clip(y, 0.0, self.config.yield_cap)

    def _effective(self) -> None:
        """Effective utility in topological order (inputs that do not exist count as utility 1)."""
        log_e = self.log_u.copy()
        gamma = self.config.dependency_weight
        for nodes, idx in zip(self._level_nodes, self._level_edges, strict=True):
            src, dst = self._src[idx], self._dst[idx]
            inputs = np.where(self.exists[src], log_e[src], 0.0)
            mix = np.bincount(dst, weights=self._w[idx] * inputs, minlength=self.n_netuids)
            log_e[nodes] = self.log_u[nodes] + gamma * mix[nodes]
        self.log_e = log_e

    def _log_value_core(self) -> np.ndarray:
        c = self.config
        return c.elasticity * (self.log_e + self.log_demand) + np.log1p(c.yield_horizon_ticks * self.ybar)

    def _calibrate(self, which: np.ndarray, price: np.ndarray) -> None:
        self.log_c[which] = np.log(price[which]) - self._log_value_core()[which]
        self.calibrated |= which
        self._update_value()

    def _update_value(self) -> None:
        ok = self.exists & self.calibrated
        log_v = np.clip(np.where(ok, self.log_c + self._log_value_core(), 0.0), -LOG_VALUE_BOUND, LOG_VALUE_BOUND)
        self._log_value = log_v
        v = np.where(ok, np.exp(log_v), 0.0)
        v.flags.writeable = False
        self._value = v

    # ------------------------------------------------------------------------------------------
    @property
    def log_u(self) -> np.ndarray:
        """Log own utility ``log z + log m``."""
        return self.log_z + self.log_m

    @property
    def utility(self) -> np.ndarray:
        """Own utility u per netuid (dimensionless)."""
        return np.exp(self.log_u)

    @property
    def effective_utility(self) -> np.ndarray:
        """Effective utility e per netuid (own utility times the mix of its inputs)."""
        return np.exp(self.log_e)

    @property
    def log_demand(self) -> np.ndarray:
        """Log external demand ``log D + x``."""
        return self.log_d0 + self.x

    @property
    def demand(self) -> np.ndarray:
        """External demand d per netuid (dimensionless, median 1 at the start)."""
        return np.exp(self.log_demand)

    @property
    def value(self) -> np.ndarray:
        """Fundamental value per netuid, TAO per alpha (read-only; 0 for root, dead or uncalibrated subnets)."""
        return self._value

    def step(self, miner_quality: np.ndarray | None, yield_per_tick: np.ndarray, exists: np.ndarray) -> None:
        """Advance one tick.

        ``miner_quality``: per netuid, e.g. the mean latent quality of its miners (``None``, or entries that
        are not > 0: no miner link for that subnet this tick); ``yield_per_tick``: alpha paid to holders per
        alpha held over the tick; ``exists``: which netuids are live subnets.
        """
        c, n = self.config, self.n_netuids
        eps_u = self.rng.standard_normal(n)
        eps_d = self.rng.standard_normal(n)
        self.tick += 1
        self.log_z += c.utility_drift * eps_u - 0.5 * c.utility_drift**2
        if miner_quality is not None:
            q = np.asarray(miner_quality, dtype=float)
            seen = np.isfinite(q) & (q > 0)
            log_q = np.log(np.where(seen, q, 1.0))
            first = seen & np.isnan(self.log_q0)
            self.log_q0[first] = log_q[first]
            target = np.where(seen, log_q - np.nan_to_num(self.log_q0), self.log_m)
            self.log_m += c.quality_link * (target - self.log_m)
        for shock in c.shocks:
            if shock.tick == self.tick:
                self.log_z[shock.netuid] += np.log(shock.size)
        self.x = (1.0 - c.demand_reversion) * self.x + c.demand_drift * eps_d
        self.ybar += c.yield_smoothing * (self._clip_yield(yield_per_tick) - self.ybar)
        self.exists = np.asarray(exists, dtype=bool).copy()
        self.exists[0] = False
        self._effective()
        self._update_value()

    def reset_subnet(self, netuid: int, price: float) -> None:
        """A new subnet registered on ``netuid`` at ``price`` (TAO per alpha): fresh utility and demand draws,
        no miner or yield history, and a new calibration so its value equals ``price``.  Subnets that take it
        as an input see their effective utility (and value) change with the new draw."""
        if not 1 <= netuid < self.n_netuids:
            raise ValueError(f"netuid {netuid!r} is not a subnet (1..{self.n_netuids - 1})")
        if not (np.isfinite(price) and price > 0):
            raise ValueError(f"price {price!r} of subnet {netuid} is not allowed; expected a price > 0 (TAO per alpha)")
        c = self.config
        draw = self.rng.standard_normal(2)
        self.log_z[netuid] = c.utility_sigma * draw[0]
        self.log_m[netuid] = 0.0
        self.log_q0[netuid] = np.nan
        self.log_d0[netuid] = c.demand_sigma * draw[1]
        self.x[netuid] = 0.0
        self.ybar[netuid] = 0.0
        self.exists[netuid] = True
        self._effective()
        which = np.zeros(self.n_netuids, dtype=bool)
        which[netuid] = True
        self._calibrate(which, np.full(self.n_netuids, float(price)))

    def beliefs(self, rng: np.random.Generator, noise: float | None = None) -> np.ndarray:
        """The value seen with multiplicative log-normal noise: ``V * exp(noise * N)`` per netuid (log-sd
        ``noise``, default ``belief_noise``; median-unbiased); 0 where the value is 0."""
        sd = self.config.belief_noise if noise is None else float(noise)
        if sd < 0:
            raise ValueError(f"noise {noise!r} is not allowed; expected a log-sd >= 0")
        log_b = np.clip(self._log_value + sd * rng.standard_normal(self.n_netuids), -LOG_VALUE_BOUND, LOG_VALUE_BOUND)
        return np.where(self._value > 0, np.exp(log_b), 0.0)
