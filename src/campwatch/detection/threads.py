"""Independent parts of a stage at once, in threads: both cores busy on a pair analysed whole.

A pair smaller than one block is analysed whole, in one process: ``--workers N`` has no blocks
to share out. Much of its work is the same work done on independent parts: each date's objects
and fence lines, each date's edges for the shift, each tile's residual shift. Within
:func:`using_threads`, :func:`for_each` runs those parts in up to N threads, each part computed
from its own inputs alone, so the result is the same, byte for byte, whatever N (the kernels
the parts spend their time in, NumPy's, OpenCV's, SciPy's, let go of the interpreter while they
work). A part that itself calls :func:`for_each` runs its parts one after the other.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["using_threads", "for_each"]

T = TypeVar("T")
R = TypeVar("R")

#: How many parts may run at once (1: one after the other).
_THREADS = [1]
_PART = threading.local()


@contextlib.contextmanager
def using_threads(threads: int) -> Iterator[None]:
    """Within the block, :func:`for_each` runs up to ``threads`` parts at once."""
    before = _THREADS[0]
    _THREADS[0] = max(1, int(threads))
    try:
        yield
    finally:
        _THREADS[0] = before


def for_each(work: Callable[[T], R], inputs: Sequence[T]) -> list[R]:
    """``[work(x) for x in inputs]``, in threads when :func:`using_threads` allows; in order.

    Examples
    --------
    >>> with using_threads(2):
    ...     for_each(lambda x: x * x, [2, 3, 4])
    [4, 9, 16]
    """
    threads = min(_THREADS[0], len(inputs))
    if threads < 2 or getattr(_PART, "inside", False):
        return [work(x) for x in inputs]

    def part(x: T) -> R:
        _PART.inside = True
        try:
            return work(x)
        finally:
            _PART.inside = False

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="campwatch-part") as pool:
        return list(pool.map(part, inputs))
