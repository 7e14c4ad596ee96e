"""A call in a second thread: its value, its error in the caller's thread, and the model's overlap of the
weight reveal with the block loop."""

from __future__ import annotations

import copy

import pytest

from dtaosim import DTaoModel
from dtaosim.background import Background
from tests.conftest import SMALL


def test_background_returns_the_value_and_raises_the_error_in_the_caller():
    assert Background(sum, [1, 2, 3]).result() == 6

    def fails() -> None:
        raise KeyError("in the thread")

    with pytest.raises(KeyError, match="in the thread"):
        Background(fails).result()


def test_a_failing_reveal_stops_the_tick_with_its_error():
    cfg = copy.deepcopy(SMALL)
    cfg["consensus"] = {"mode": "yuma", "miners_per_subnet": 4}
    cfg["validators"] = [{"strategy": "honest", "count": 2}]
    model = DTaoModel(cfg)
    model.step()

    def broken(neurons, block):
        raise RuntimeError(f"reveal at block {block}")

    model.weight_book.reveal = broken
    with pytest.raises(RuntimeError, match="reveal at block"):
        model.step()
