"""Initial network states: a synthetic network, or the bundled real snapshot of 2026-04-11.

Units: TAO, alpha, TAO per alpha, blocks.  The snapshot (128 subnets and root, from
``dtaosim/data/subnets_snapshot_2026-04-11.json``, MIT licence beside it) gives each subnet's
reserves, prices, EMA price, alpha outstanding, tempo and registration block.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

from dtaosim.errors import ConfigError
from dtaosim.network import curves
from dtaosim.network.state import NetworkState
from dtaosim.protocol import amm
from dtaosim.protocol.regimes import Regime

SNAPSHOTS = {"2026-04-11": "subnets_snapshot_2026-04-11.json"}
"""Bundled snapshots by date."""

SNAPSHOT_BLOCK = {"2026-04-11": 7_950_000}
"""Approximate chain block of each snapshot (empirical-facts.md §1: 11 Apr 2026 ≈ block 7.95M)."""

SNAPSHOT_TAO_ISSUANCE = {"2026-04-11": 10_500_000.0 + 117 * 3_600.0}
"""TotalIssuance at the snapshot, TAO: 10.5M at the first halving (~15 Dec 2025) plus 117 days of
0.5 TAO per block (an estimate; the snapshot does not carry it)."""


@lru_cache(maxsize=4)
def load_snapshot(date: str = "2026-04-11") -> tuple[dict, ...]:
    """The raw records (one dict per netuid, root first) of a bundled snapshot."""
    if date not in SNAPSHOTS:
        raise ConfigError(
            f"network.initial_state: unknown snapshot 'snapshot:{date}'; allowed: "
            + ", ".join(f"snapshot:{d}" for d in SNAPSHOTS)
        )
    text = resources.files("dtaosim.data").joinpath(SNAPSHOTS[date]).read_text(encoding="utf-8")
    records = json.loads(text)
    return tuple(sorted(records, key=lambda r: r["netuid"]))


def _new_state(n_netuids: int, n_accounts: int, regime: Regime, block: int) -> NetworkState:
    st = NetworkState(n_netuids=n_netuids, n_accounts=n_accounts, block=block)
    st.tempo[:] = regime.tempo
    st.exists[0] = True
    return st


def synthetic_state(regime: Regime, *, n_subnets: int, n_accounts: int, rng: np.random.Generator,
                    pool_tao_median: float = 1_000.0, pool_tao_sigma: float = 0.0,
                    price_median: float = 1.0, price_sigma: float = 0.0,
                    alpha_out_ratio: float = 1.0, root_stake: float = 0.0, external_tao: float = 0.0,
                    tao_issuance: float | None = None, block: int = 0, subnet_age_blocks: int = 0) -> NetworkState:
    """A network of ``n_subnets`` started subnets (netuids 1..n) with log-normal pools.

    Pool TAO is log-normal with median ``pool_tao_median`` TAO and log-sd ``pool_tao_sigma``;
    prices likewise (``price_median`` TAO per alpha, ``price_sigma``); alpha outstanding is
    ``alpha_out_ratio`` times the pool alpha, held by outside holders; EMA prices start at the spot
    price (capped at the regime's EMA input cap).  ``root_stake`` TAO is held on root by outside
    holders; the initial TAO issuance is ``tao_issuance`` (default: everything placed plus
    ``external_tao``) and ``external_tao`` is free TAO outside the model.
    Subnets are ``subnet_age_blocks`` old at ``block``.
    """
    n = n_subnets + 1
    st = _new_state(n, n_accounts, regime, block)
    s = slice(1, n)
    tao = pool_tao_median * np.exp(pool_tao_sigma * rng.standard_normal(n_subnets))
    price = price_median * np.exp(price_sigma * rng.standard_normal(n_subnets))
    st.exists[s] = True
    st.emitting[s] = True
    st.emission_enabled[s] = True
    st.pool_tao[s] = tao
    st.pool_alpha[s] = tao / price
    st.alpha_out[s] = alpha_out_ratio * st.pool_alpha[s]
    st.external_alpha[s] = st.alpha_out[s]
    st.alpha_issuance[s] = st.pool_alpha[s] + st.alpha_out[s]
    st.ema_price[s] = np.minimum(price, regime.ema_input_cap)
    st.registered_at[s] = block - subnet_age_blocks
    st.first_emission_block[s] = block - subnet_age_blocks + 1
    st.last_epoch_block[s] = block - (np.arange(1, n) % np.maximum(st.tempo[s], 1))
    st.pool_tao[0] = root_stake
    st.external_alpha[0] = root_stake
    st.external_tao = external_tao
    placed = float(tao.sum()) + root_stake + external_tao
    st.tao_minted = placed if tao_issuance is None else tao_issuance
    if st.tao_minted < placed:
        raise ConfigError(f"network.tao_issuance: {tao_issuance!r} is less than the TAO placed ({placed!r})")
    st.external_tao += st.tao_minted - placed
    if regime.amm == "superellipse":  # the proposed migration: each pool becomes its superellipse
        curves.convert(st, regime)
    return st


def snapshot_state(regime: Regime, *, n_accounts: int, date: str = "2026-04-11",
                   n_netuids: int | None = None) -> NetworkState:
    """The real network of a bundled snapshot: every subnet's reserves, EMA price, alpha outstanding,
    tempo and registration block; root stake = root's ``tau_in``.

    Alpha outstanding is held by outside holders; simulated agents' budgets are free TAO taken from
    the outside holders' free TAO (so issuance is unchanged).  Unstarted subnets (no EMA price)
    exist but do not emit.  Each pool's quote weight is set so its price is the snapshot price.
    """
    recs = load_snapshot(date)
    top = max(r["netuid"] for r in recs)
    n = max(top + 1, n_netuids or 0)
    block = SNAPSHOT_BLOCK[date]
    st = _new_state(n, n_accounts, regime, block)
    for rec in recs:
        i = rec["netuid"]
        if i == 0:
            st.pool_tao[0] = rec["tau_in"]
            st.external_alpha[0] = rec["tau_in"]
            continue
        st.exists[i] = True
        started = rec.get("moving_price") is not None
        st.emitting[i] = started
        st.emission_enabled[i] = started
        st.pool_tao[i] = rec["tau_in"]
        st.pool_alpha[i] = rec["alpha_in"]
        if regime.amm in ("weighted", "superellipse"):
            st.pool_w2[i] = float(amm.weight_for_price(rec["tau_in"], rec["alpha_in"], rec["price_tao"]))
        st.alpha_out[i] = rec["alpha_out"]
        st.external_alpha[i] = rec["alpha_out"]
        st.alpha_issuance[i] = rec["alpha_in"] + rec["alpha_out"]
        st.ema_price[i] = min(rec["moving_price"] if started else 0.0, regime.ema_input_cap)
        st.tempo[i] = int(rec.get("tempo") or regime.tempo)
        reg = rec.get("registered_at_block")
        st.registered_at[i] = int(reg) if reg is not None else 0
        st.first_emission_block[i] = st.registered_at[i] + 1
        st.last_epoch_block[i] = block - int(rec.get("blocks_since_last_step") or 0)
    placed = float(st.pool_tao[1:].sum() + st.pool_tao[0])
    st.tao_minted = max(SNAPSHOT_TAO_ISSUANCE[date], placed)
    st.external_tao = st.tao_minted - placed
    if regime.amm == "superellipse":  # the proposed migration: each Balancer pool becomes its superellipse
        curves.convert(st, regime)
    return st
