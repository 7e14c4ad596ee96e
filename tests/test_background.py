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


def test_calls_run_in_one_kept_thread_other_than_the_callers():
    import threading

    names = [Background(lambda: threading.current_thread()).result() for _ in range(3)]
    assert names[0] is not threading.current_thread()
    assert names[0] is names[1] is names[2]  # kept between calls, not started each time
    other: list = []
    caller = threading.Thread(target=lambda: other.append(Background(threading.current_thread).result()))
    caller.start()
    caller.join()
    assert other[0] not in (names[0], caller)  # each calling thread has its own


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
