"""The run's timeline of regimes: eras, ticks cut at an era's first block, the chain's dated eras."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from dtaosim.errors import ConfigError
from dtaosim.protocol.regimes import get_regime
from dtaosim.protocol.timeline import Era, Timeline, chain_eras, date_offset, day_offset

A, B, C = (get_regime(n) for n in ("price-burn-2026-06", "gate-2026-07", "la-auto-2026-08"))


def test_the_chain_eras_from_a_date():
    eras = chain_eras(dt.date(2026, 7, 20))
    found = [(d.isoformat(), r.name) for d, r in eras]
    assert found[0] == ("2026-07-20", "price-burn-2026-06")
    assert {("2026-07-27", "gate-2026-07"), ("2026-08-06", "price-gate-2026-08"), ("2026-08-11", "burn-gate-2026-08"),
            ("2026-08-12", "la-auto-2026-08")} <= set(found)
    assert all(get_regime(name).start_date == d for d, name in found[1:])
    assert [d for d, _ in found] == sorted({d for d, _ in found})  # in time order, one era a date
    # on a regime's own start date that regime is in force from the start
    assert chain_eras(dt.date(2026, 7, 27))[0][1].name == "gate-2026-07"
    with pytest.raises(ConfigError, match="before dTAO launch"):
        chain_eras(dt.date(2024, 1, 1))


def test_offsets_of_days_and_dates():
    assert day_offset(2.5, 7200) == 18_000
    assert date_offset(dt.date(2026, 7, 27), dt.date(2026, 7, 20), 7200) == 50_400


def test_a_tick_is_cut_at_the_next_era_and_the_horizon():
    tl = Timeline([Era(0, A), Era(14_400, B)])
    assert tl.tick_blocks(0, 5_000, 30_000) == 5_000
    assert tl.tick_blocks(10_000, 5_000, 30_000) == 4_400  # cut at the era's first block
    assert tl.tick_blocks(14_400, 5_000, 30_000) == 5_000
    assert tl.tick_blocks(29_400, 5_000, 30_000) == 600  # cut at the horizon
    assert tl.n_ticks(5_000, 30_000) == 3 + 4  # 14,400 = 5,000 + 5,000 + 4,400; 15,600 = 3 x 5,000 + 600
    assert tl.regime_at(14_399) is A and tl.regime_at(14_400) is B
    assert tl.next_switch(0) == 14_400 and tl.next_switch(14_400) is None
    assert [e.regime for e in tl.within(14_400)] == [A]


def test_eras_must_start_with_the_run_and_go_in_time_order():
    with pytest.raises(ConfigError, match="an era at the start is not allowed"):
        Timeline([Era(10, A)])
    with pytest.raises(ConfigError, match=r"'la-auto-2026-08' at block \+100 is not allowed; it must come after"):
        Timeline([Era(0, A), Era(200, B), Era(100, C)])


@settings(max_examples=200, deadline=None)
@given(per_tick=hs.integers(1, 9_000), horizon=hs.integers(1, 60_000),
       offsets=hs.lists(hs.integers(1, 70_000), max_size=4, unique=True))
def test_ticks_cover_the_horizon_and_every_era_starts_on_a_tick(per_tick, horizon, offsets):
    tl = Timeline([Era(0, A)] + [Era(o, B) for o in sorted(offsets)])
    done, starts = 0, []
    for _ in range(tl.n_ticks(per_tick, horizon)):
        starts.append(done)
        n = tl.tick_blocks(done, per_tick, horizon)
        assert 1 <= n <= per_tick
        done += n
    assert done == horizon  # n_ticks ticks run exactly the horizon
    assert {o for o in offsets if o < horizon} <= set(starts)
