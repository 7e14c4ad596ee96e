"""The recorder: per-tick arrays (never per-agent dicts) turned into DataFrames at the end.

Series recorded per subnet (wide frames: index ``block``, one column per netuid):

* ``price`` spot price and ``ema_price`` moving price, TAO per alpha;
* ``pool_tao`` (TAO) and ``pool_alpha`` (alpha) reserves, ``alpha_out`` alpha outstanding;
* ``share`` emission share of the tick's last block; over the tick: ``tao_emission``, ``tao_in``
  (injected TAO), ``alpha_in`` (injected alpha), ``chain_buy_tao`` and ``protocol_alpha``;
* who holds and who is paid (:data:`BEHAVIOUR_SERIES`): ``holder_top10`` and ``holder_gini``, the share
  of the 10 largest and the Gini coefficient of the simulated accounts' positive alpha stakes on the
  subnet (stakers, holder populations, validators, owners, the miners' account, the baskets; the outside lump is
  left out), ``outside_alpha_share`` the outside lump's share of the staked alpha (outside + accounts),
  ``validator_hhi`` the HHI of the validators' alpha stake on the subnet, ``paid_miners`` the miner uids
  with incentive > 0 at the last epoch, ``miner_burn`` the last epoch's burned share of miner incentive
  (``MinerBurned``) and ``owner_burn`` the burn the owner chose, ``registration_burn`` the neuron
  registration burn (TAO), ``owner_alpha`` the owner agent's alpha on its subnet, and
  ``emission_enabled`` (1 or 0).  Without neurons the neuron series are 0.
* Root Reborn's beta baskets, over the tick: ``basket_buy_tao`` / ``basket_buy_alpha`` (TAO the baskets bought
  alpha with on each pool, the alpha it took out) and ``basket_sell_tao`` / ``basket_sell_alpha`` (TAO their
  sells took out of each pool, the alpha put in): dividend deposits, claims and trades.

Per validator (with Yuma): ``validator_dividends_tao``, ``validator_stake_tao`` and ``basket_nav_tao`` (its
beta basket's realizable NAV, TAO).

Network-wide series (one column each): ``tao_issuance``, ``sum_price``, ``sum_ema_price``, ``era`` (the
index of the regime era in force, ``RunResult.eras``; 0 for a run under one regime),
``validator_stake_hhi`` (HHI of the validators' stake in TAO, alpha at spot plus root) and the
total value in TAO of each strategy's agents (``value:<strategy>``) and its cumulative return split into
``pnl_trading:<strategy>``, ``pnl_emissions:<strategy>`` and ``pnl_revaluation:<strategy>`` (TAO).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtaosim.engine.accounts import matvec
from dtaosim.network.coinbase import TickFlows
from dtaosim.network.state import NetworkState

PNL_PARTS = ("trading", "emissions", "revaluation")
"""Parts of an account's return: trades (at execution prices), emissions received, price moves."""
ACCOUNT_HOLDINGS = ("free_tao", "root_tao", "alpha_tao")
"""Per-account holdings at each recorded row (TAO): free TAO, TAO staked on root, and the alpha staked on the
subnets valued at the spot price.  Their sum is the account's value."""
ACCOUNT_PNL = ("pnl_trading", "pnl_emissions", "pnl_revaluation")
"""Per-account cumulative return since the start (TAO), split as the groups' ``pnl_<part>:<group>``."""

BEHAVIOUR_SERIES = ("holder_top10", "holder_gini", "outside_alpha_share", "validator_hhi", "paid_miners",
                    "miner_burn", "owner_burn", "registration_burn", "owner_alpha", "emission_enabled")
"""Per-subnet series of holders, validators, miners and owners (given to :meth:`Recorder.record` by the model)."""
SUBNET_SERIES = ("price", "ema_price", "pool_tao", "pool_alpha", "alpha_out", "share", "tao_emission",
                 "tao_in", "alpha_in", "chain_buy_tao", "protocol_alpha", "basket_buy_tao", "basket_buy_alpha",
                 "basket_sell_tao", "basket_sell_alpha", *BEHAVIOUR_SERIES)
NETWORK_SERIES = ("tao_issuance", "sum_price", "sum_ema_price", "era", "validator_stake_hhi")
"""Network-wide series (one column each in the ``network`` frame), besides each group's ``value:<group>`` and
``pnl_<part>:<group>``."""
VALIDATOR_SERIES = ("validator_dividends_tao", "validator_stake_tao", "basket_nav_tao")
"""Per-validator series (with Yuma): one column per validator, in the order of the config's ``[[validators]]``."""
GROUP_SERIES = ("value", "pnl")
"""What a report's subject may name for its groups: ``value`` (``value:<group>``, TAO) and ``pnl`` (the
cumulative return, the sum of ``pnl_<part>:<group>``, TAO)."""
_FLOW_SERIES = ("share", "tao_emission", "tao_in", "alpha_in", "chain_buy_tao", "basket_buy_tao", "basket_buy_alpha",
                "basket_sell_tao", "basket_sell_alpha")


class Recorder:
    """Collects one row per recorded tick into preallocated arrays."""

    def __init__(self, n_netuids: int, n_rows: int, groups: dict[str, np.ndarray], n_validators: int = 0,
                 accounts: pd.DataFrame | None = None) -> None:
        """``accounts``: record these accounts one by one (index: account; columns ``kind, group, strategy,
        config_group``), None: groups only."""
        self.n_netuids = n_netuids
        self.accounts = accounts
        n_acc = 0 if accounts is None else len(accounts)
        self.per_account = {k: np.zeros((n_rows, n_acc)) for k in (*ACCOUNT_HOLDINGS, *ACCOUNT_PNL)}
        self.groups = groups
        self.blocks = np.zeros(n_rows, dtype=np.int64)
        self.subnet = {k: np.zeros((n_rows, n_netuids)) for k in SUBNET_SERIES}
        self.network = {k: np.zeros(n_rows) for k in NETWORK_SERIES}
        self.values = {g: np.zeros(n_rows) for g in groups}
        self.pnl = {(g, k): np.zeros(n_rows) for g in groups for k in PNL_PARTS}
        self.validators = {k: np.zeros((n_rows, n_validators)) for k in VALIDATOR_SERIES}
        self.rows = 0
        self._written: set[str] = set()
        """Behaviour series the model gave (a run without neurons has no validators' HHI, paid miners or burns:
        those frames are left out rather than recorded as zeros)."""

    def record(self, state: NetworkState, flows: TickFlows | None,
               validators: tuple[np.ndarray, np.ndarray] | None = None, pnl: np.ndarray | None = None,
               baskets: np.ndarray | None = None, era: int = 0,
               behaviour: dict[str, np.ndarray | float] | None = None) -> None:
        """Take one row from the state (and the tick's flows; ``None`` for the initial row), and
        optionally the validators' (dividends since the previous row, stake) in TAO, their baskets' NAV, the
        era index and the ``behaviour`` series (:data:`BEHAVIOUR_SERIES` per subnet, ``validator_stake_hhi``)."""
        i = self.rows
        if i >= self.blocks.size:  # grow (rare: horizon not a multiple of the tick)
            extra = max(1, self.blocks.size // 2)
            self.blocks = np.concatenate([self.blocks, np.zeros(extra, dtype=np.int64)])
            for d in (self.subnet, self.network, self.values, self.validators, self.pnl, self.per_account):
                for k, v in d.items():
                    d[k] = np.concatenate([v, np.zeros((extra, *v.shape[1:]))])
        price = state.price
        mask = state.subnet_mask & state.emitting
        self.blocks[i] = state.block
        s = self.subnet
        s["price"][i] = np.where(state.subnet_mask, price, 0.0)
        s["ema_price"][i] = state.ema_price
        s["pool_tao"][i] = state.pool_tao
        s["pool_alpha"][i] = state.pool_alpha
        s["alpha_out"][i] = state.alpha_out
        s["protocol_alpha"][i] = state.protocol_alpha
        if flows is not None:
            for k in _FLOW_SERIES:
                s[k][i] = getattr(flows, k)
        self.network["tao_issuance"][i] = state.tao_issuance
        self.network["sum_price"][i] = float(price[mask].sum())
        self.network["sum_ema_price"][i] = float(state.ema_price[mask].sum())
        self.network["era"][i] = era
        for k, v in (behaviour or {}).items():
            (s if k in s else self.network)[k][i] = v
            self._written.add(k)
        alpha_tao = matvec(state.stake[:, 1:], price[1:])
        value = state.free_tao + state.stake[:, 0] + alpha_tao
        if self.accounts is not None:
            acc = self.accounts.index.to_numpy()
            a = self.per_account
            a["free_tao"][i] = state.free_tao[acc]
            a["root_tao"][i] = state.stake[acc, 0]
            a["alpha_tao"][i] = alpha_tao[acc]
            if pnl is not None:
                for j, k in enumerate(ACCOUNT_PNL):
                    a[k][i] = pnl[acc, j]
        for g, idx in self.groups.items():
            self.values[g][i] = float(value[idx].sum())
            if pnl is not None:
                for j, k in enumerate(PNL_PARTS):
                    self.pnl[(g, k)][i] = float(pnl[idx, j].sum())
        if validators is not None:
            self.validators["validator_dividends_tao"][i] = validators[0]
            self.validators["validator_stake_tao"][i] = validators[1]
        if baskets is not None and baskets.size:
            self.validators["basket_nav_tao"][i] = baskets
        self.rows += 1

    def account_frames(self) -> tuple[pd.DataFrame, pd.DataFrame] | tuple[None, None]:
        """``(accounts_frame, account_table)`` for :class:`~dtaosim.runs.results.RunResult` (long: ``block,
        account`` and the holdings and returns in TAO), or ``(None, None)`` when accounts were not recorded."""
        if self.accounts is None:
            return None, None
        n, acc = self.rows, self.accounts.index.to_numpy()
        frame = pd.DataFrame({"block": np.repeat(self.blocks[:n], acc.size),
                              "account": np.tile(acc, n).astype(np.int32)})
        for k, v in self.per_account.items():
            frame[k] = v[:n].reshape(-1)
        return frame, self.accounts

    def frames(self) -> dict[str, pd.DataFrame]:
        """Wide DataFrames: one per subnet series (columns = netuids) and ``network``."""
        n = self.rows
        index = pd.Index(self.blocks[:n], name="block")
        cols = pd.Index(range(self.n_netuids), name="netuid")
        unwritten = {k for k in (*BEHAVIOUR_SERIES, "validator_stake_hhi") if k not in self._written}
        out = {k: pd.DataFrame(v[:n], index=index, columns=cols) for k, v in self.subnet.items() if k not in unwritten}
        net = {k: v[:n] for k, v in self.network.items() if k not in unwritten}
        net.update({f"value:{g}": v[:n] for g, v in self.values.items()})
        net.update({f"pnl_{k}:{g}": v[:n] for (g, k), v in self.pnl.items()})
        out["network"] = pd.DataFrame(net, index=index)
        n_val = next(iter(self.validators.values())).shape[1]
        if n_val:
            vcols = pd.Index(range(n_val), name="validator")
            for k, v in self.validators.items():
                out[k] = pd.DataFrame(v[:n], index=index, columns=vcols)
        return out
