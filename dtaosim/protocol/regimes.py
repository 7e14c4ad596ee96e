"""Dated rule sets of the Bittensor chain: every chain constant and every rule choice.

A :class:`Regime` is a frozen record of the economic rules in force over a period of the chain's
history (see ``docs``/the economics spec, section 1).  The simulator never writes a chain constant
anywhere else: kernels receive a ``Regime`` (or arrays built from it) and read the numbers from it.

Units: amounts in TAO or alpha (1 TAO = 1e9 rao), prices in TAO per alpha, times in blocks.

A user picks a regime by name (``get_regime("price-burn-2026-06")``), by date
(``regime_for_date("2025-12-01")``) or defines a hypothetical one with
``get_regime("price-burn-2026-06").replace(fee_rate=0.003)`` / ``with_overrides(...)``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Literal

from dtaosim.errors import ConfigError

RAO_PER_TAO = 1_000_000_000
"""Rao per TAO (and per alpha): the chain's integer unit."""

U16_MAX = 65_535
"""Denominator of the chain's u16 fractions."""

BASKET_DRAINED_DUST_DIVISOR = 100
"""A drained beta basket (NAV 0, shares out) revives at par only if its stale shares are at most 1/100 of the
deposit (DRAINED_FUND_DUST_DIVISOR, ``staking/claim_root.rs``)."""

AmmKind = Literal["constant_product", "weighted", "superellipse"]
ShareRule = Literal["ema_price", "tao_flow", "net_flow", "ema_price_rootprop_burn", "ema_price_burn"]
AlphaInCap = Literal["alpha_emission", "min_alpha_emission_block_emission", "root_proportion"]
ExcessTao = Literal["inject", "chain_buy"]
ChainBuyAlpha = Literal["recycle", "protocol"]
RootDividends = Literal["sell_every_block", "claim_swap", "claim_keep", "beta_baskets"]
EpochSchedule = Literal["legacy_netuid_offset", "last_epoch_block"]
LiquidAlphaConsensus = Literal["current", "previous", "auto"]


@dataclass(frozen=True)
class Regime:
    """One dated set of chain rules and constants.

    Every field is documented with its unit.  Fields are grouped: time and supply, emission split,
    pool, emission shares, injection, price EMA, staking, Yuma consensus, subnet and neuron
    lifecycle.
    """

    name: str
    start_date: str
    """First day (ISO, UTC) the rules were merged to the chain's main branch."""
    description: str = ""

    # --- time and supply -------------------------------------------------------------------
    block_seconds: float = 12.0
    """Seconds per block."""
    blocks_per_day: int = 7_200
    """Blocks per day (the chain's own convention)."""
    max_supply: float = 21_000_000.0
    """Maximum issuance, TAO (and per subnet, alpha)."""
    base_block_emission: float = 1.0
    """Block emission before any halving, TAO (and alpha) per block."""

    # --- alpha_out split -------------------------------------------------------------------
    owner_cut: float = 11_796 / U16_MAX
    """Fraction of each block's alpha_out to the subnet owner (SubnetOwnerCut, ~18%)."""
    miner_share_of_remainder: float = 0.5
    """Fraction of alpha_out after the owner cut that goes to miners (the rest to validators)."""
    validator_take: float = 11_796 / U16_MAX
    """Default validator (delegate) take of dividends, fraction (~18%)."""
    tao_weight: float = 0.18
    """Weight of root TAO stake in stake weight and root proportion (TaoWeight, mainnet)."""

    # --- pools -----------------------------------------------------------------------------
    amm: AmmKind = "weighted"
    """Pool invariant: constant product (x*y=k), weighted (Balancer x^w1 * y^w2) or superellipse (a translated
    ellipse X^2 b^2 + Y^2 a^2 = K, ``pallets/swap/src/pallet/superellipse.rs``: proposed, not deployed; no dated
    regime uses it).  Pools become superellipses at the start of a run, calibrated to their Balancer price and
    local depth (``migrate_balancer_to_superellipse.rs``)."""
    fee_rate: float = 33 / U16_MAX
    """Swap fee, fraction of the input (FeeRate/65535)."""
    flat_stake_fee: float = 0.0
    """Flat fee per stake, TAO, credited to the pool's TAO reserve (launch era: 50,000 rao)."""
    min_reserve: float = 1_000_000 / RAO_PER_TAO
    """Smallest output-side reserve a swap may start from, TAO or alpha (SwapMinimumReserve)."""
    max_input_multiple: float = 1_000.0
    """A swap's net input may be at most this multiple of the input-side reserve."""
    min_pool_weight: float = 0.01
    """Bound on each Balancer weight; an injection that would cross it is skipped (or held, with
    ``injection_reservoir``)."""
    injection_reservoir: bool = False
    """Injection reservoirs (RaoFoundation/subtensor#2758): the chain buy runs first, then the part of an
    injection that would push a pool weight past the bound is held and offered again with the next one,
    instead of the whole injection being skipped."""
    lending_vaults: bool = True
    """Superellipse pools only: the reserves no point of the curve can pay out are moved to per-subnet lending
    vaults (``Superellipse::extractable_reserves``; ``NetworkState.vault_tao``/``vault_alpha``), at the
    conversion and after every injection, leaving the pool the reserves its curve can reach plus ``min_reserve``;
    False: they stay in the pool's reserves (unreachable, so swaps are the same)."""
    superellipse_impact_target: float = 0.0
    """Superellipse pools only: a sale of alpha worth ``superellipse_impact_trade`` TAO must lower the price by at
    least this fraction; the calibration shrinks the curve's scales until it does (the proposal's target was
    0.01; V1 of the proposal defers it: 0 keeps the baseline calibration, exactly the Balancer pool's local
    depth)."""
    superellipse_impact_trade: float = 500.0
    """Superellipse pools only: the TAO value of the sale the impact target is measured with, TAO."""
    max_buy_price: float = 1e6
    """Default price limit of a buy, TAO per alpha."""
    min_sell_price: float = 1e-6
    """Default price limit of a sell, TAO per alpha."""

    # --- derivatives (pallet-derivatives, RaoFoundation/subtensor#3135, v463; launched switched off) ----------
    derivatives_enabled: bool = False
    """DerivativesEnabled: shorts (and, with ``longs_enabled``, longs) against the pools may be opened or grown.
    The chain launched the pallet with this off; closes, weekly interest and dissolution settlement run either
    way.  Needs weighted pools with injection reservoirs (the pallet lends from Balancer pools and hands
    liquidity back through ``adjust_protocol_liquidity``)."""
    longs_enabled: bool = False
    """LongsEnabled: an add that would leave a long open is allowed (off at launch, even with derivatives on)."""
    derivatives_pool_share: float = 0.25
    """pool_share: the largest fraction of the lent reserve (TAO for shorts, alpha for longs) that all open
    positions of one side on one subnet may hold out of the pool, counted as proceeds + escrow."""
    short_interest_rate: float = 0.52
    """short_interest_rate: yearly interest of a short tranche, as a fraction of its TAO exposure, fixed when it is
    added, accrued per block, collected weekly and spent buying alpha that is recycled (paid to the pool)."""
    long_interest_rate: float = 0.26
    """long_interest_rate: the same for a long tranche (inert while longs are off)."""
    max_short_leverage: float = 1.0
    """MaxShortLeverage (100 %): the largest exposure of a short add as a multiple of its deposit."""
    max_long_leverage: float = 1.5
    """MaxLongLeverage (150 %): the largest exposure of a long add as a multiple of its deposit."""
    derivatives_min_deposit: float = 0.1
    """MinDeposit: the smallest deposit of one add, and the smallest surplus a flip opens, TAO."""
    interest_period_blocks: int = 50_400
    """INTEREST_PERIOD: blocks between two interest collections of one position (a week)."""

    # --- emission shares -------------------------------------------------------------------
    share_rule: ShareRule = "ema_price_burn"
    """How TAO emission is shared among emitting subnets."""
    flow_ema_alpha: float = 29_597_889_189_277 / 9_223_372_036_854_775_807
    """Per-block smoothing of the TAO-flow EMA (~3.209e-6, a 30-day half-life)."""
    flow_exponent: float = 1.0
    """Exponent p of the flow normalizer: share = z^p / sum z^p."""
    flow_cutoff: float = 0.0
    """Lower cut of the flow offset L = max(cutoff, min(net flow, 0)), TAO."""

    # --- emission gate (subnet_emissions.rs, 2026-07-27) -------------------------------------
    emission_gate: bool = False
    """Shares pass the Hill gate ``s/(1 + (θ/s)^h)`` after the share rule and are renormalized; all-zero
    gated shares fall back to the ungated ones; a zero bar disables it (``apply_emission_gate``)."""
    gate_exponent: float = 3.0
    """Hill exponent h of the gate (EmissionGateExponent)."""
    gate_bar_rank: int = 32
    """Rank mode: the bar θ is the N-th largest positive share (the smallest positive one if fewer);
    0: q-mass mode (EmissionBarRank; the live network ran N = 32 in August 2026)."""
    gate_bar_quantile: float = 0.61
    """q-mass mode: θ is the share at which the descending running total reaches q (EmissionBarQuantile)."""
    gate_bar_interval: int = 360
    """The bar is recomputed at blocks divisible by this, or whenever none is set
    (EMISSION_BAR_UPDATE_INTERVAL)."""

    # --- injection -------------------------------------------------------------------------
    alpha_in_cap: AlphaInCap = "root_proportion"
    """Cap on alpha injected into the pool per block."""
    excess_tao: ExcessTao = "chain_buy"
    """What TAO emission above the capped injection does: stays in the pool or buys alpha."""
    chain_buy_alpha: ChainBuyAlpha = "protocol"
    """Alpha bought by the chain: recycled (removed from issuance) or kept as protocol alpha."""

    # --- root dividends --------------------------------------------------------------------
    root_dividends: RootDividends = "claim_swap"
    """Root stakers' alpha dividends: sold every block, or claimable (swapped or kept)."""
    root_sell_needs_price_sum_above_one: bool = True
    """Subsidy mode: root alpha is recycled, not paid, when the sum of EMA prices is at most 1."""

    # --- Root Reborn: beta baskets, root seats, hold (RaoFoundation/subtensor#2968, #3184) ----
    root_registration: bool = False
    """Only validators registered on the root network earn root dividends; the root-weighted part of an
    unregistered validator's dividend goes to no one, and the root pool is shared by the registered ones
    (recycled when none is registered) (``calculate_dividend_distribution``)."""
    root_validator_slots: int = 64
    """Seats on the root network (the root subnet's MaxAllowedUids, the senate size)."""
    root_immunity_blocks: int = 5_000
    """Blocks after a root registration during which the seat cannot be taken by a newcomer."""
    root_burn_initial: float = 1.0
    """Root registration burn at the start of a run, TAO (burn-based root seats; decays with
    ``burn_half_life_blocks`` and is multiplied by ``burn_increase_mult`` at each registration)."""
    root_unstake_hold_blocks: int = 0
    """Root stake cannot leave root until this many blocks after the account's last root stake change
    (stake, unstake, claim) (RootStakeUnlockInterval; 0: no hold)."""
    root_weights: bool = False
    """Root validators' weight vectors steer their baskets (``set_root_weights`` on); False: every fund is
    uncurated and root dividends accumulate in place on their origin subnet (RootWeightSettingEnabled)."""
    root_weights_cap: float = 4_096 / U16_MAX
    """Largest share of a root weight vector (and, for basket trades, of fund NAV) one destination may
    take (RootWeightsCap, u16 4096 = 1/16 + 1 ulp: an equal 16-way split passes); binding only while at
    least ``ceil(1/cap)`` destinations exist."""
    root_min_weights: int = 8
    """Fewest positive destinations a root weight vector needs (MIN_ROOT_BASKET_WEIGHTS; softened to the
    number of destinations when fewer exist)."""
    root_claim_threshold: float = 500_000 / RAO_PER_TAO
    """A root claim whose estimated payout is below this is skipped, TAO (RootClaimableThreshold)."""
    basket_trading: bool = False
    """``swap_basket``: a root validator sells one basket holding and buys another (BasketTradingEnabled)."""
    basket_trade_band: float = 200 / 10_000
    """Each leg must fill within this fraction of the stricter of EMA and spot price
    (BASKET_TRADE_MAX_SLIPPAGE_BPS = 200)."""
    basket_turnover_cap: float = 6_553 / U16_MAX
    """Turnover bucket capacity, fraction of fund NAV (BasketDailyTurnoverCap, u16::MAX/10)."""
    basket_refill_blocks: int = 7_200
    """Blocks for an empty turnover bucket to refill (BASKET_TRADE_REFILL_BLOCKS)."""
    basket_liquidity_cap: float = 6_553 / U16_MAX
    """A trade may not leave the fund holding more than this fraction of the destination pool's alpha
    reserve (BasketLiquidityCap, u16::MAX/10)."""

    # --- price EMA -------------------------------------------------------------------------
    ema_base_alpha: float = 0.0003
    """SubnetMovingAlpha: base EMA coefficient per block (docs: mainnet 0.0003; code 3e-6)."""
    ema_halving_blocks: int = 201_600
    """Age ramp of the EMA coefficient, blocks: a_eff = base * age / (age + halving)."""
    ema_slow_start: bool = True
    """Whether the age ramp applies (added 2025-03-19)."""
    ema_input_cap: float = 1.0
    """Spot prices are capped at this value before entering the EMA, TAO per alpha."""

    # --- staking ---------------------------------------------------------------------------
    min_stake: float = 2_000_000 / RAO_PER_TAO
    """Smallest stake, TAO (DefaultMinStake)."""

    # --- epochs and Yuma consensus -----------------------------------------------------------
    tempo: int = 360
    """Blocks between epochs."""
    epoch_schedule: EpochSchedule = "last_epoch_block"
    """Epoch scheduler: legacy (b + netuid + 1) mod (tempo + 1) or LastEpochBlock + tempo."""
    max_epochs_per_block: int = 2
    """At most this many epochs run network-wide per block; the rest are deferred a block."""
    kappa: float = 32_767 / U16_MAX
    """Majority threshold of the stake-weighted median."""
    bonds_penalty: float = 1.0
    """Beta: how much bonds use clipped rather than raw weights."""
    bonds_moving_average: float = 900_000 / 1_000_000
    """Bonds EMA retention; EMA coefficient alpha = 1 - this."""
    yuma3: bool = True
    """Yuma 3 bonds and dividends (True for new subnets) or the original Yuma."""
    liquid_alpha: bool = False
    """Per-bond EMA coefficient from a sigmoid of weight-consensus distance (Yuma 3 only)."""
    alpha_low: float = 45_875 / U16_MAX
    """Liquid-alpha lower bound."""
    alpha_high: float = 58_982 / U16_MAX
    """Liquid-alpha upper bound."""
    alpha_sigmoid_steepness: float = 1_000.0
    """Liquid-alpha sigmoid steepness (used as steepness/100)."""
    liquid_alpha_consensus: LiquidAlphaConsensus = "current"
    """Which consensus sets liquid alpha's bond rates (LiquidAlphaConsensusMode, RaoFoundation/subtensor#3070):
    this epoch's, the previous epoch's, or ``auto`` (the previous one where the bonds penalty is 1)."""
    activity_cutoff_factor_milli: int = 13_889
    """Activity cutoff in thousandths of a tempo (5,000 blocks at tempo 360)."""
    stake_threshold: float = 0.0
    """Stake weight below which a UID is zeroed for the epoch, TAO-equivalent."""

    # --- subnet lifecycle ------------------------------------------------------------------
    subnet_limit: int = 128
    """Most non-root subnets."""
    network_immunity_blocks: int = 864_000
    """Blocks after registration during which a subnet cannot be pruned."""
    network_min_lock: float = 1.0
    """Floor of the subnet lock cost, TAO."""
    lock_reduction_interval: int = 115_200
    """``NetworkLockReductionInterval`` as stored: the doubled lock cost falls back by one lock over this many
    blocks times the block emission in TAO (57,600 blocks, 8 days, at 0.5 TAO a block).  115,200 since the
    halving era: the lock cost's decay quoted in RaoFoundation/subtensor#2291 (15 December 2025) gives an
    effective 57,600 blocks to the rao, issue #3024 (July 2026) is summarised as reporting 115,200 stored, and
    the snapshot's registrations of February to April 2026 come every 6-8 days (docs/MODEL.md section 7.7)."""
    network_rate_limit_blocks: int = 14_400
    """``NetworkRateLimit``: blocks from one subnet registration to the next (2 days).  The mainnet deploy of
    25 September 2025 (RaoFoundation/subtensor#2066) raised it to 4 days; the snapshot of 11 April 2026 has two
    registrations 14,401 blocks apart (15 December 2025) and three more pairs under 28,800, so by then it was
    2 days again."""
    subnet_pruning: bool = True
    """At the subnet limit a registration dissolves the lowest-EMA-price non-immune subnet (live since
    2025-09-17); False: registrations at the limit fail."""
    lock_to_pool: bool = True
    """The whole lock seeds the new pool at the median price (since 2026-04-22); False: the pool gets
    ``network_min_lock`` TAO and as much alpha (price 1) and the rest of the lock is recycled."""
    start_call_delay_blocks: int = 0
    """Blocks from registration until the owner may call ``start_call`` (StartCallDelay)."""
    new_subnet_emission_enabled: bool = False
    """SubnetEmissionEnabled of a newly registered subnet (False since 2026-06-23: no TAO injection
    until governance enables it)."""
    dissolution_pool_alpha_claims: bool = True
    """Subnets registered under this regime count their pool alpha as a claimant of the dissolution
    pot (TaoInRefund deployment, 2026-06-02); the pool's share is recycled."""

    # --- neuron lifecycle ------------------------------------------------------------------
    max_uids: int = 256
    """UIDs per subnet."""
    max_validators: int = 64
    """Validator permits per subnet."""
    neuron_immunity_blocks: int = 5_000
    """Blocks after registration during which a UID is immune from pruning."""
    min_non_immune_uids: int = 10
    """A non-immune UID is pruned only if more than this many exist."""
    neuron_burn_initial: float = 1.0
    """Registration burn of a new subnet, TAO."""
    neuron_burn_min: float = 500_000 / RAO_PER_TAO
    """Floor of the registration burn, TAO."""
    neuron_burn_max: float = 100.0
    """Ceiling of the registration burn, TAO."""
    burn_half_life_blocks: int = 360
    """Half-life of the per-block burn decay, blocks."""
    burn_increase_mult: float = 1.26
    """Burn multiplier after each registration."""

    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Free-form notes (sources), never read by kernels."""

    # ------------------------------------------------------------------------------------
    @property
    def root_sell_always(self) -> bool:
        """True when root dividends are paid whatever the sum of EMA prices."""
        return not self.root_sell_needs_price_sum_above_one

    def replace(self, **changes: Any) -> Regime:
        """A copy with some fields changed (a hypothetical regime); checks names and types."""
        return with_overrides(self, changes)

    def to_dict(self) -> dict[str, Any]:
        """All fields except ``extra`` as a plain dict (for manifests and result metadata)."""
        d = dataclasses.asdict(self)
        d.pop("extra", None)
        return d


# ---------------------------------------------------------------------------------------------
# The dated registry
# ---------------------------------------------------------------------------------------------

LAUNCH_2025_02 = Regime(
    name="launch-2025-02",
    start_date="2025-02-13",
    description=(
        "dTAO launch: constant-product pools with no swap fee (flat 50,000 rao stake fee to the "
        "pool), emission shares by EMA price, alpha_in = min(tao_in/price, alpha emission) with all "
        "TAO injected, root alpha dividends sold every block, legacy epoch schedule, original Yuma."
    ),
    amm="constant_product",
    fee_rate=0.0,
    flat_stake_fee=50_000 / RAO_PER_TAO,
    min_reserve=10_000_000 / RAO_PER_TAO,
    share_rule="ema_price",
    alpha_in_cap="alpha_emission",
    excess_tao="inject",
    chain_buy_alpha="recycle",
    root_dividends="sell_every_block",
    root_sell_needs_price_sum_above_one=False,
    ema_slow_start=False,
    min_stake=500_000 / RAO_PER_TAO,
    epoch_schedule="legacy_netuid_offset",
    yuma3=False,
    network_min_lock=1.0,
    subnet_limit=128,
    subnet_pruning=False,
    lock_to_pool=False,
    start_call_delay_blocks=50_400,
    new_subnet_emission_enabled=True,
    dissolution_pool_alpha_claims=False,
    # the migration's EIGHT_DAYS; the snapshot's registrations of February-June 2025 are 7,200 and 7,201
    # blocks apart at the closest (the code default), so the rate limit was one day then
    lock_reduction_interval=57_600,
    network_rate_limit_blocks=7_200,
)

V3_2025_07 = dataclasses.replace(
    LAUNCH_2025_02,
    name="v3-2025-07",
    start_date="2025-07-01",
    description=(
        "Uniswap-V3 swap pallet with only the protocol's full-range position (mathematically "
        "constant product) and the 33/65535 fee; EMA slow start; subsidy rule: TAO emission above "
        "the capped injection buys alpha that is recycled."
    ),
    fee_rate=33 / U16_MAX,
    flat_stake_fee=0.0,
    min_reserve=1_000_000 / RAO_PER_TAO,
    ema_slow_start=True,
    excess_tao="chain_buy",
    chain_buy_alpha="recycle",
)

TAOFLOW_2025_11 = dataclasses.replace(
    V3_2025_07,
    name="taoflow-2025-11",
    start_date="2025-11-04",
    description=(
        "TAO-flow era: shares by the EMA (30-day half-life) of net user TAO staking flow, offset "
        "by the lowest negative flow; root claim (dividends swapped to TAO by default); subsidy "
        "mode (no root sell) when the sum of EMA prices is at most 1; excess TAO chain buys "
        "recycled."
    ),
    share_rule="tao_flow",
    root_dividends="claim_swap",
    root_sell_needs_price_sum_above_one=True,
    min_stake=2_000_000 / RAO_PER_TAO,
    subnet_pruning=True,
    lock_reduction_interval=115_200,
    network_rate_limit_blocks=14_400,
)

LOCK_POOL_2026_04 = dataclasses.replace(
    TAOFLOW_2025_11,
    name="lock-pool-2026-04",
    start_date="2026-04-22",
    description=(
        "TAO-flow shares as before; a new subnet's pool is seeded with the whole lock at the median subnet "
        "price (SubnetTAO = max(lock, MinLock), SubnetAlphaIn = SubnetTAO / median) instead of MinLock TAO and "
        "MinLock alpha at price 1 with the rest recycled. Not modelled: the owner's alpha at registration "
        "(given from 2026-04-22, removed by the 2026-05-08 hotfix)."
    ),
    lock_to_pool=True,
)

NETFLOW_2026_05 = dataclasses.replace(
    LOCK_POOL_2026_04,
    name="netflow-2026-05",
    start_date="2026-05-27",
    description=(
        "Net TAO flow: user-flow EMA minus the normalized protocol-flow EMA (injection + chain "
        "buys - root sells); alpha_in capped at min(alpha emission, block emission)."
    ),
    share_rule="net_flow",
    alpha_in_cap="min_alpha_emission_block_emission",
    lock_to_pool=True,
    start_call_delay_blocks=0,
)

PRICE_BURN_2026_06 = Regime(
    name="price-burn-2026-06",
    start_date="2026-06-30",
    description=(
        "The chain today (subtensor HEAD 2026-06-30): weighted (Balancer) pools with the "
        "33/65535 fee, shares by EMA price x (1 - miner burn), alpha injection capped at "
        "root_proportion x alpha emission, chain-bought alpha kept as protocol alpha, root claim, "
        "stateful epoch scheduler, Yuma 3."
    ),
)

GATE_2026_07 = dataclasses.replace(
    PRICE_BURN_2026_06,
    name="gate-2026-07",
    start_date="2026-07-27",
    description=(
        "Emission gate (v440, RaoFoundation/subtensor#2990): shares by EMA price x (1 - miner burn), then "
        "the Hill gate s/(1 + (θ/s)^3) with the bar θ the 32nd-largest share, recomputed every 360 blocks, "
        "renormalized; emission-disabled subnets' shares redistributed after the gate."
    ),
    emission_gate=True,
)

ROOT_REBORN_2026_08 = dataclasses.replace(
    GATE_2026_07,
    name="root-reborn-2026-08",
    start_date="2026-08-04",
    description=(
        "Root Reborn (spec 441; RaoFoundation/subtensor#2968, #2759; staking/claim_root.rs, basket_flush.rs, "
        "basket_views.rs): root dividends go into per-validator beta baskets (escrowed funds of subnet alpha) "
        "whose shares mint at realizable NAV; claim_root redeems pro rata into root TAO; only root-registered "
        "validators earn root dividends (burn-based root seats, the lowest-staked non-immune seat evicted when "
        "full); root unstakes held after a root stake change; set_root_claim_type and auto-claims retired. "
        "Launched gated: set_root_weights off, so every fund is uncurated and dividends accumulate in place."
    ),
    root_dividends="beta_baskets",
    root_registration=True,
    root_unstake_hold_blocks=360,
)

PRICE_GATE_2026_08 = dataclasses.replace(
    ROOT_REBORN_2026_08,
    name="price-gate-2026-08",
    start_date="2026-08-06",
    description="Pure price emissions (v444, #3057): the gate on EMA-price shares, without the burn reweight.",
    share_rule="ema_price",
)

BURN_GATE_2026_08 = dataclasses.replace(
    ROOT_REBORN_2026_08,
    name="burn-gate-2026-08",
    start_date="2026-08-11",
    description="Burn reweight restored (#3071): EMA price x (1 - miner burn), renormalized, then the gate.",
)

LA_AUTO_2026_08 = dataclasses.replace(
    BURN_GATE_2026_08,
    name="la-auto-2026-08",
    start_date="2026-08-12",
    description=(
        "Liquid alpha consensus mode (release 446, #3070/#3077): subnets with liquid alpha set bond rates from "
        "the previous epoch's consensus where the bonds penalty is 1 (Auto, the default), else the current one. "
        "Injection reservoirs (#2758; merge date unconfirmed, assumed live by now): the chain buy first, then the "
        "part of an injection that would push a pool weight past [0.01, 0.99] is held and offered again."
    ),
    liquid_alpha_consensus="auto",
    injection_reservoir=True,
)

ROOT_WEIGHTS_2026_08 = dataclasses.replace(
    LA_AUTO_2026_08,
    name="root-weights-2026-08",
    start_date="2026-08-21",
    description=(
        "Root weight setting on (release 449, RaoFoundation/subtensor#3109): root validators' set_root_weights "
        "vectors steer their baskets (the dividend alpha is sold on its origin pool and the TAO bought into the "
        "destinations, netuid 0 held as TAO); no destination may take more than RootWeightsCap = 4096/65535 "
        "(~1/16) of a vector, so at least 16 destinations (skipped while fewer exist), at least 8 positive."
    ),
    root_weights=True,
)

BASKET_TRADING_2026_09 = dataclasses.replace(
    ROOT_WEIGHTS_2026_08,
    name="basket-trading-2026-09",
    start_date="2026-09-20",
    description=(
        "Basket trading (spec 468, RaoFoundation/subtensor#3184; staking/basket_trade.rs): swap_basket sells one "
        "holding and buys another, each leg within 2% of the stricter of EMA and spot price, at most 10% of NAV "
        "per day through a token bucket, a holding at most 10% of the pool's alpha reserve and 1/16 of NAV. "
        "Launched gated off (BasketTradingEnabled = false): basket_trading is False here; a config can switch it on."
    ),
    basket_trading=False,
)

_REGISTRY: dict[str, Regime] = {
    r.name: r for r in (LAUNCH_2025_02, V3_2025_07, TAOFLOW_2025_11, LOCK_POOL_2026_04, NETFLOW_2026_05,
                        PRICE_BURN_2026_06,
                        GATE_2026_07, ROOT_REBORN_2026_08, PRICE_GATE_2026_08, BURN_GATE_2026_08, LA_AUTO_2026_08,
                        ROOT_WEIGHTS_2026_08, BASKET_TRADING_2026_09)
}

DEFAULT_REGIME = BASKET_TRADING_2026_09.name

# ---------------------------------------------------------------------------------------------
# Proposals: rule sets the chain has switched off or not deployed.  Named, never dated: no date picks them
# (``regime_for_date``) and they are not chain eras (``regime_names``); a config names one to opt in.
# ---------------------------------------------------------------------------------------------

SUPERELLIPSE_PROPOSED = dataclasses.replace(
    LA_AUTO_2026_08,
    name="superellipse-proposed",
    description=(
        "Proposed, not deployed (release page 'Pool Reserves and Native Lending', pallets/swap/src/pallet/"
        "superellipse.rs, migrations/migrate_balancer_to_superellipse.rs): the rules of la-auto-2026-08 with root "
        "dividends as before Root Reborn (whose baskets' trades are not modelled on curved pools) and every pool a "
        "translated superellipse X^2 b^2 + Y^2 a^2 = K calibrated to its Balancer price and local depth; injections "
        "translate the centres (price unchanged); reserves outside the curve's range go to lending vaults."
    ),
    amm="superellipse",
    root_dividends=GATE_2026_07.root_dividends,
    root_registration=GATE_2026_07.root_registration,
    root_unstake_hold_blocks=GATE_2026_07.root_unstake_hold_blocks,
)

SHORTS_SWITCHED_ON = dataclasses.replace(
    BASKET_TRADING_2026_09,
    name="shorts-switched-on",
    start_date="2026-09-02",
    description=(
        "Switched off on chain (pallet-derivatives, RaoFoundation/subtensor#3135, release v463 'Shorts, "
        "September 2026', launched with DerivativesEnabled = false): today's rules (basket-trading-2026-09) with "
        "the switch on; shorts lend at most 25% of a pool per side at 52%/yr collected weekly and paid to the "
        "pool, no price-triggered liquidation; longs stay off (LongsEnabled = false)."
    ),
    derivatives_enabled=True,
)

_PROPOSALS: dict[str, Regime] = {r.name: r for r in (SUPERELLIPSE_PROPOSED, SHORTS_SWITCHED_ON)}


def regime_names() -> list[str]:
    """Names of the registered (dated) regimes, oldest first."""
    return sorted(_REGISTRY, key=lambda n: _REGISTRY[n].start_date)


def all_regimes() -> list[Regime]:
    """The registered (dated) regimes, oldest first."""
    return [_REGISTRY[n] for n in regime_names()]


def proposal_names() -> list[str]:
    """Names of the proposals: rule sets switched off or not deployed on chain (never chosen by date)."""
    return sorted(_PROPOSALS)


def all_proposals() -> list[Regime]:
    """The proposals (:func:`proposal_names` order)."""
    return [_PROPOSALS[n] for n in proposal_names()]


def get_regime(name: str) -> Regime:
    """The registered regime or proposal called ``name``; :class:`ConfigError` naming the choices otherwise."""
    if isinstance(name, Regime):
        return name
    try:
        return _REGISTRY[name] if name in _REGISTRY else _PROPOSALS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"regime: unknown regime {name!r}; allowed: {', '.join(regime_names() + proposal_names())}"
        ) from None


def regime_for_date(date: str | _dt.date) -> Regime:
    """The regime in force on ``date`` (ISO string or date): the latest one started on or before it."""
    try:
        d = date if isinstance(date, _dt.date) else _dt.date.fromisoformat(str(date))
    except ValueError:
        raise ConfigError(f"regime: date {date!r} is not an ISO date (YYYY-MM-DD)") from None
    chosen = None
    for r in all_regimes():
        if _dt.date.fromisoformat(r.start_date) <= d:
            chosen = r
    if chosen is None:
        raise ConfigError(
            f"regime: date {d.isoformat()} is before dTAO launch ({LAUNCH_2025_02.start_date})"
        )
    return chosen


def register_regime(regime: Regime, *, overwrite: bool = False) -> Regime:
    """Add a (hypothetical) regime to the registry so configs can name it."""
    if (regime.name in _REGISTRY or regime.name in _PROPOSALS) and not overwrite:
        raise ConfigError(f"regime: a regime named {regime.name!r} is already registered")
    check_regime(regime)
    _REGISTRY[regime.name] = regime
    return regime


_FIELD_TYPES = {f.name: f for f in dataclasses.fields(Regime)}
_LITERALS: dict[str, tuple[str, ...]] = {
    "amm": AmmKind.__args__,  # type: ignore[attr-defined]
    "share_rule": ShareRule.__args__,  # type: ignore[attr-defined]
    "alpha_in_cap": AlphaInCap.__args__,  # type: ignore[attr-defined]
    "excess_tao": ExcessTao.__args__,  # type: ignore[attr-defined]
    "chain_buy_alpha": ChainBuyAlpha.__args__,  # type: ignore[attr-defined]
    "root_dividends": RootDividends.__args__,  # type: ignore[attr-defined]
    "epoch_schedule": EpochSchedule.__args__,  # type: ignore[attr-defined]
    "liquid_alpha_consensus": LiquidAlphaConsensus.__args__,  # type: ignore[attr-defined]
}
_NONNEGATIVE = {
    "fee_rate", "flat_stake_fee", "min_reserve", "max_input_multiple", "min_pool_weight",
    "flow_ema_alpha", "flow_exponent", "ema_base_alpha", "ema_halving_blocks", "min_stake",
    "tempo", "kappa", "bonds_penalty", "bonds_moving_average", "alpha_low", "alpha_high",
    "stake_threshold", "tao_weight", "owner_cut", "miner_share_of_remainder", "validator_take",
    "max_supply", "base_block_emission", "network_min_lock", "neuron_burn_initial",
    "neuron_burn_min", "neuron_burn_max", "burn_increase_mult", "gate_exponent", "gate_bar_rank",
    "root_validator_slots", "root_immunity_blocks", "root_burn_initial", "root_unstake_hold_blocks",
    "root_weights_cap", "root_min_weights", "root_claim_threshold", "basket_trade_band", "basket_turnover_cap",
    "basket_refill_blocks", "basket_liquidity_cap",
    "derivatives_pool_share", "short_interest_rate", "long_interest_rate", "max_short_leverage",
    "max_long_leverage", "derivatives_min_deposit", "superellipse_impact_target", "superellipse_impact_trade",
}
_FRACTIONS = {
    "fee_rate", "owner_cut", "miner_share_of_remainder", "validator_take", "kappa", "bonds_penalty",
    "bonds_moving_average", "alpha_low", "alpha_high", "ema_base_alpha", "flow_ema_alpha",
    "min_pool_weight", "gate_bar_quantile", "tao_weight", "root_weights_cap", "basket_trade_band",
    "basket_turnover_cap", "basket_liquidity_cap",
    "derivatives_pool_share", "superellipse_impact_target",
}
_NONNEGATIVE |= _FRACTIONS | {
    "block_seconds", "max_buy_price", "min_sell_price", "ema_input_cap", "alpha_sigmoid_steepness",
    "gate_bar_interval", "ema_halving_blocks", "blocks_per_day", "max_epochs_per_block", "activity_cutoff_factor_milli",
    "subnet_limit", "network_immunity_blocks", "lock_reduction_interval", "network_rate_limit_blocks",
    "start_call_delay_blocks", "max_uids", "max_validators", "neuron_immunity_blocks",
    "burn_half_life_blocks",
}
_AT_LEAST_ONE = {"blocks_per_day", "tempo", "max_epochs_per_block", "gate_bar_interval", "max_uids",
                 "lock_reduction_interval", "basket_refill_blocks"}
"""Whole numbers of blocks or things that must be at least 1 (a division, a loop's step)."""
_POSITIVE = {"block_seconds", "max_supply", "base_block_emission", "max_buy_price"}
"""Numbers that must be above 0."""
MAX_WHOLE = 2**53
"""The largest whole-number field (blocks, counts): exact in float64, and block numbers plus it stay in int64."""
MAX_AMOUNT = 1e12
"""The largest max supply, TAO (47,619 times the chain's 21M): amounts stay far from float64's limits."""
MAX_NETUIDS = 65_535
"""Netuids and uids are u16 on chain: at most 65,535 subnets (``subnet_limit``) and uids per subnet."""


def with_overrides(base: Regime | str, overrides: dict[str, Any] | None, *, name: str | None = None) -> Regime:
    """``base`` with the fields in ``overrides`` replaced, each checked for name, type and range.

    Raises :class:`ConfigError` naming ``regime.<field>``, the value and what is allowed.
    """
    regime = get_regime(base) if isinstance(base, str) else base
    if not overrides and name is None:
        return regime
    changes: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key in ("name", "start_date", "extra") or key not in _FIELD_TYPES:
            allowed = sorted(k for k in _FIELD_TYPES if k not in ("name", "start_date", "extra"))
            raise ConfigError(
                f"regime.{key}: unknown regime field (value {value!r}); allowed: {', '.join(allowed)}"
            )
        current = getattr(regime, key)
        if key in _LITERALS:
            if value not in _LITERALS[key]:
                raise ConfigError(
                    f"regime.{key}: {value!r} is not allowed; allowed: {', '.join(_LITERALS[key])}"
                )
        elif isinstance(current, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected true or false")
        elif isinstance(current, int | float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected a number")
            if value != value or value in (float("inf"), float("-inf")):
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected a finite number")
            if isinstance(current, int) and not float(value).is_integer():
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected a whole number")
            if key in _NONNEGATIVE and value < 0:
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected a number >= 0")
            if key in _FRACTIONS and value > 1:
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected a fraction in [0, 1]")
            if key in _POSITIVE and not value > 0:
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected a number > 0")
            if key in _AT_LEAST_ONE and value < 1:
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected at least 1")
            if isinstance(current, int) and abs(value) > MAX_WHOLE:
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected a whole number of at most "
                                  f"2**53 ({MAX_WHOLE:,})")
            if key in ("subnet_limit", "max_uids") and value > MAX_NETUIDS:
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected at most {MAX_NETUIDS:,} (netuids "
                                  "and uids are u16 on chain)")
            if key == "ema_input_cap" and value < 1e-9:
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected at least 1e-9 TAO per alpha "
                                  "(one rao per alpha)")
            if key == "max_supply" and value > MAX_AMOUNT:
                raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected at most {MAX_AMOUNT:.0e} TAO")
            value = int(value) if isinstance(current, int) else float(value)
        elif isinstance(current, str) and not isinstance(value, str):
            raise ConfigError(f"regime.{key}: {value!r} is not allowed; expected a string")
        changes[key] = value
    new = dataclasses.replace(regime, **changes)
    _check_together(new, changes)
    new_name = name or (regime.name + "+custom" if changes else regime.name)
    out = dataclasses.replace(new, name=new_name)
    check_regime(out)
    return out


def _check_together(r: Regime, changes: dict[str, Any]) -> None:
    """Rules between fields of a regime with overrides (``changes``): :class:`ConfigError` names a changed field."""

    def blame(*keys: str) -> str:
        return next((k for k in keys if k in changes), keys[0])

    if r.base_block_emission > r.max_supply:
        key = blame("base_block_emission", "max_supply")
        raise ConfigError(f"regime.{key}: {changes.get(key)!r} is not allowed; base_block_emission "
                          f"({r.base_block_emission!r} TAO a block) must be at most max_supply ({r.max_supply!r})")
    base_rao = r.base_block_emission * RAO_PER_TAO
    if base_rao * r.lock_reduction_interval >= 2**63:
        key = blame("lock_reduction_interval", "base_block_emission")
        raise ConfigError(f"regime.{key}: {changes.get(key)!r} is not allowed; lock_reduction_interval x "
                          "base_block_emission (in rao) must stay below 2**63 (the chain's integer arithmetic)")
    for low, high in (("alpha_low", "alpha_high"), ("neuron_burn_min", "neuron_burn_max"),
                      ("min_sell_price", "max_buy_price")):
        if getattr(r, low) > getattr(r, high):
            key = blame(low, high)
            raise ConfigError(f"regime.{key}: {changes.get(key)!r} is not allowed; {low} ({getattr(r, low)!r}) must "
                              f"be at most {high} ({getattr(r, high)!r})")


def check_regime(regime: Regime) -> None:
    """Raise :class:`ConfigError` where fields of ``regime`` contradict each other or the chain's own checks."""
    r = regime
    for key in ("short_interest_rate", "long_interest_rate"):
        if not getattr(r, key) > 0:
            raise ConfigError(f"regime.{key}: {getattr(r, key)!r} is not allowed; expected a rate > 0 per year (the "
                              f"chain refuses a zero rate: ZeroInterestRate)")
    for key in ("max_short_leverage", "max_long_leverage", "interest_period_blocks", "superellipse_impact_trade"):
        if not getattr(r, key) > 0:
            raise ConfigError(f"regime.{key}: {getattr(r, key)!r} is not allowed; expected a number > 0")
    if not r.superellipse_impact_target < 1:
        raise ConfigError(f"regime.superellipse_impact_target: {r.superellipse_impact_target!r} is not allowed; "
                          f"expected a fraction in [0, 1)")
    if r.amm == "superellipse" and r.flat_stake_fee > 0:
        raise ConfigError(f"regime.flat_stake_fee: {r.flat_stake_fee!r} is not allowed; expected 0 with amm = "
                          f"'superellipse' (the launch-era flat fee credited a constant-product pool's reserve)")
    if r.amm == "superellipse" and r.root_dividends == "beta_baskets":
        raise ConfigError("regime.root_dividends: 'beta_baskets' is not allowed; with amm = 'superellipse' expected "
                          "another root dividend rule: the beta baskets' deposits and trades are modelled on Balancer "
                          "pools only")
    if r.derivatives_enabled and r.amm != "weighted":
        raise ConfigError(f"regime.derivatives_enabled: True is not allowed; with amm = {r.amm!r} expected false: "
                          f"pallet-derivatives lends price-neutral slices of Balancer pools (amm = 'weighted'); the "
                          f"superellipse proposal lends from its vaults instead, which is not modelled")
    if r.derivatives_enabled and not r.injection_reservoir:
        raise ConfigError("regime.derivatives_enabled: True is not allowed; with injection_reservoir = false expected "
                          "false: the pallet hands liquidity back through the pools' injection reservoirs (#2758), "
                          "which it came after")
