from __future__ import annotations

import threading
import time

from hub.reports.recent import RecentAnswers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_recent__reused_while_young_then_computed_again() -> None:
    clock, computed = Clock(), []
    answers: RecentAnswers[int] = RecentAnswers(clock=clock)

    def compute() -> int:
        computed.append(clock.now)
        return len(computed)

    assert answers.get("a", compute, max_age_s=30) == 1
    clock.now = 30
    assert answers.get("a", compute, max_age_s=30) == 1
    clock.now = 30.5
    assert answers.get("a", compute, max_age_s=30) == 2
    assert answers.get("b", compute, max_age_s=30) == 3  # another store or window
    clock.now = 31
    assert answers.get("a", compute, max_age_s=0) == 4  # a caller who wants it fresh


def test_recent__bounded_least_recently_used_first() -> None:
    answers: RecentAnswers[str] = RecentAnswers(size=2)
    answers.get("a", lambda: "a1", max_age_s=60)
    answers.get("b", lambda: "b1", max_age_s=60)
    answers.get("a", lambda: "a2", max_age_s=60)  # a used again: b is the oldest
    answers.get("c", lambda: "c1", max_age_s=60)
    assert answers.get("a", lambda: "a3", max_age_s=60) == "a1"
    assert answers.get("b", lambda: "b2", max_age_s=60) == "b2"


def test_recent__concurrent_misses_compute_once() -> None:
    answers: RecentAnswers[int] = RecentAnswers()
    calls: list[int] = []
    started = threading.Event()

    def slow() -> int:
        started.set()
        time.sleep(0.2)
        calls.append(1)
        return 7

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(
        answers.get("k", slow, max_age_s=60))) for _ in range(4)]
    threads[0].start()
    started.wait(5)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert (results, calls) == ([7, 7, 7, 7], [1])
