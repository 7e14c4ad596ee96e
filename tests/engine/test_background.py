"""A call in a second thread: its value, its error in the caller's thread, and the model's overlap of the
weight reveal with the block loop."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

from dtaosim import DTaoModel
from dtaosim.engine.background import Background
from tests.conftest import SMALL


def test_background_returns_the_value_and_raises_the_error_in_the_caller():
    assert Background(sum, [1, 2, 3]).result() == 6

    def fails() -> None:
        raise KeyError("in the thread")

    with pytest.raises(KeyError, match="in the thread"):
        Background(fails).result()


def test_calls_run_in_one_kept_thread_other_than_the_callers():
    names = [Background(lambda: threading.current_thread()).result() for _ in range(3)]
    assert names[0] is not threading.current_thread()
    assert names[0] is names[1] is names[2]  # kept between calls, not started each time
    other: list = []
    caller = threading.Thread(target=lambda: other.append(Background(threading.current_thread).result()))
    caller.start()
    caller.join()
    assert other[0] not in (names[0], caller)  # each calling thread has its own


def test_a_failing_reveal_stops_the_tick_with_its_error(monkeypatch):
    import dtaosim.model

    # reveals go to a background thread when the kernels have 2 threads or more; on a machine (or with
    # NUMBA_NUM_THREADS=1) that gives one, say two, so that the background path is the one tested
    monkeypatch.setattr(dtaosim.model, "get_threads", lambda: 2)
    # and this small network's few rows go to the background thread too (by default the main thread writes them)
    monkeypatch.setattr(dtaosim.model, "BACKGROUND_REVEAL_ROWS", 0)
    cfg = copy.deepcopy(SMALL)
    cfg["consensus"] = {"mode": "yuma", "miners_per_subnet": 4}
    cfg["validators"] = [{"strategy": "honest", "count": 2}]
    model = DTaoModel(cfg)
    model.step()

    class Broken:  # fails in the background thread only; the main thread finds nothing left to reveal
        rows = 1

        def __init__(self, block):
            self.block = block

        def work(self, neurons):
            if threading.current_thread() is not threading.main_thread():
                raise RuntimeError(f"reveal at block {self.block}")
            return 0

    model.weight_book.take_ready = Broken
    with pytest.raises(RuntimeError, match="reveal at block"):
        model.step()


def test_a_reveal_shared_by_threads_writes_the_rows_of_one_in_commit_order():
    """Two threads taking validators from one queue give the weights of revealing every commit in order, a
    validator's later commit over its earlier one."""
    cfg = copy.deepcopy(SMALL)
    cfg["consensus"] = {"mode": "yuma", "miners_per_subnet": 6}
    cfg["validators"] = [{"strategy": "honest", "count": 3}, {"strategy": "copier", "count": 2}]
    model = DTaoModel(cfg)
    for _ in range(3):
        model.step()
    nn = model.neurons
    netuids = np.flatnonzero(model.state.subnet_mask)
    rng = np.random.default_rng(5)
    for v in (0, 3, 0, 4, 1):  # validator 0 twice: the second rows must win
        model.commit_weights(v, netuids, rng.random((netuids.size, nn.n_uids)))
    block = model.state.block + model.reveal_delay
    serial = copy.deepcopy(nn)
    pending = list(model.weight_book.pending)
    assert model.weight_book.reveal(serial, block) == len(pending)
    model.weight_book.pending = pending
    queue = model.weight_book.take_ready(block)
    done = [0]
    start = threading.Barrier(2)

    def other_work() -> None:
        start.wait()
        done[0] = queue.work(nn)

    other = threading.Thread(target=other_work)
    other.start()
    start.wait()
    mine = queue.work(nn)
    other.join()
    assert mine + done[0] == len(pending)
    np.testing.assert_array_equal(nn.weights, serial.weights)
    np.testing.assert_array_equal(nn.last_update, serial.last_update)
