"""Market metrics on arrays and result frames: concentration, prices, emission, yields.

Pure functions.  Amounts in TAO or alpha, prices in TAO per alpha.  Concentration measures take a
vector of holdings (or a 2-D array, one distribution per row).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def gini(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gini coefficient of non-negative holdings along ``axis`` (0 equal, → 1 concentrated).

    ``G = Σ_i (2i − n − 1) x_(i) / (n Σ x)`` over the sorted values; 0 for an all-zero row.
    """
    a = np.sort(np.moveaxis(np.asarray(x, float), axis, -1), axis=-1)
    n = a.shape[-1]
    if n == 0:
        return np.zeros(a.shape[:-1])
    rank = np.arange(1, n + 1)
    total = a.sum(axis=-1)
    num = ((2 * rank - n - 1) * a).sum(axis=-1)
    return np.where(total > 0, num / (n * np.where(total > 0, total, 1.0)), 0.0)


def hhi(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Herfindahl-Hirschman index: the sum of squared shares (1/n equal … 1 monopoly); 0 if empty."""
    a = np.asarray(x, float)
    total = a.sum(axis=axis, keepdims=True)
    share = np.where(total > 0, a / np.where(total > 0, total, 1.0), 0.0)
    return (share**2).sum(axis=axis)


def nakamoto(x: np.ndarray, threshold: float = 0.5, axis: int = -1) -> np.ndarray:
    """Nakamoto coefficient: the fewest holders whose share exceeds ``threshold`` (0 if empty)."""
    a = -np.sort(-np.moveaxis(np.asarray(x, float), axis, -1), axis=-1)
    total = a.sum(axis=-1, keepdims=True)
    cum = np.cumsum(np.where(total > 0, a / np.where(total > 0, total, 1.0), 0.0), axis=-1)
    count = (cum <= threshold).sum(axis=-1) + 1
    return np.where(total[..., 0] > 0, np.minimum(count, a.shape[-1]), 0)


def top_share(x: np.ndarray, k: int, axis: int = -1) -> np.ndarray:
    """Share of the ``k`` largest holders."""
    a = -np.sort(-np.moveaxis(np.asarray(x, float), axis, -1), axis=-1)
    total = a.sum(axis=-1)
    return np.where(total > 0, a[..., :k].sum(axis=-1) / np.where(total > 0, total, 1.0), 0.0)


def sum_of_prices(prices: pd.DataFrame) -> pd.Series:
    """Sum of alpha prices per row (the network's "sum of prices", TAO)."""
    return prices.sum(axis=1).rename("sum_of_prices")


def market_caps(prices: pd.DataFrame, alpha_out: pd.DataFrame, pool_alpha: pd.DataFrame) -> pd.DataFrame:
    """Market cap per subnet: price × total alpha (pool + outstanding), TAO."""
    return prices * (alpha_out[prices.columns] + pool_alpha[prices.columns])


def injection_share(tao_in: pd.DataFrame, chain_buy: pd.DataFrame) -> pd.Series:
    """Fraction of pool-side TAO emission injected as liquidity (the rest bought alpha), per row."""
    inj = tao_in.sum(axis=1)
    total = inj + chain_buy.sum(axis=1)
    return (inj / total.where(total > 0)).rename("injection_share")


def root_proportion(tao_weight: float, root_stake: float, alpha_issuance: np.ndarray) -> np.ndarray:
    """``tw·R / (tw·R + alpha issuance)`` per subnet (the share of validators' alpha for root)."""
    w = tao_weight * root_stake
    a = np.asarray(alpha_issuance, float)
    return np.where(w + a > 0, w / np.where(w + a > 0, w + a, 1.0), 0.0)


def dividends_per_1000_tao(dividends_tao: pd.DataFrame, stake_tao: pd.DataFrame) -> pd.DataFrame:
    """Validator dividends per 1000 TAO staked, per tick: ``1000 · dividends_t / stake_{t−1}``."""
    prev = stake_tao.shift(1)
    return 1000.0 * dividends_tao / prev.where(prev > 0)


def cross_section(prices: np.ndarray, pool_tao: np.ndarray, emission_value: np.ndarray) -> dict[str, float]:
    """Cross-sectional facts of one snapshot (empirical-facts.md facts 22, 23, 25).

    Returns the median and 10th/90th percentile price, the sd of log10 price, the pool-depth Gini and
    top-10 share, and the emission-value Gini, HHI and top-10 share.
    """
    p = np.asarray(prices, float)
    p = p[p > 0]
    d = np.asarray(pool_tao, float)
    e = np.asarray(emission_value, float)
    return {
        "price_median": float(np.median(p)),
        "price_p10": float(np.quantile(p, 0.1)),
        "price_p90": float(np.quantile(p, 0.9)),
        "log10_price_sd": float(np.std(np.log10(p), ddof=1)) if p.size > 1 else 0.0,
        "pool_tao_gini": float(gini(d)),
        "pool_tao_top10": float(top_share(d, 10)),
        "emission_gini": float(gini(e)),
        "emission_hhi": float(hhi(e)),
        "emission_top10": float(top_share(e, 10)),
    }
