"""Tests of campwatch.detection.threads: independent parts at once, in order, the same answers."""

from __future__ import annotations

import threading

import pytest

from campwatch.detection.threads import for_each, using_threads


def test_parts_run_in_threads_only_within_using_threads_and_come_back_in_order():
    seen: list[str] = []

    def work(x: int) -> int:
        seen.append(threading.current_thread().name)
        return x * 10

    assert for_each(work, [1, 2, 3]) == [10, 20, 30]
    assert all(name == threading.main_thread().name for name in seen)
    seen.clear()
    with using_threads(2):
        assert for_each(work, [1, 2, 3]) == [10, 20, 30]
    assert all(name.startswith("campwatch-part") for name in seen)
    seen.clear()
    assert for_each(work, [4]) == [40] and seen == [threading.main_thread().name]  # back to one after the block


def test_a_part_that_has_parts_runs_them_one_after_the_other():
    names: list[str] = []

    def inner(x: int) -> int:
        names.append(threading.current_thread().name)
        return x

    def outer(x: int) -> list[int]:
        mine = threading.current_thread().name
        got = for_each(inner, [x, x + 1])
        assert names[-2:] == [mine, mine]  # in the part's own thread
        return got

    with using_threads(2):
        assert for_each(outer, [0, 10]) == [[0, 1], [10, 11]]


def test_an_error_in_a_part_is_raised_where_the_parts_were_asked_for():
    def work(x: int) -> int:
        if x == 2:
            raise ValueError("part 2 failed")
        return x

    with using_threads(2), pytest.raises(ValueError, match="part 2 failed"):
        for_each(work, [1, 2, 3])
