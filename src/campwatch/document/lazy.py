"""A list a document's features are made into one at a time, as they are written or read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["LazyList"]


class LazyList(list):  # type: ignore[type-arg]
    """A list that yields its items from a function when iterated (once per iteration), holding none.

    ``json`` writes it as a list (:func:`campwatch.io.jsonio.write_json`): a report's features are
    made one at a time as they are written, so that a scene with a hundred thousand changes does
    not hold them all as dicts.
    """

    def __init__(self, items: Callable[[], Iterable[Any]], length: int) -> None:
        super().__init__()
        self._items = items
        self._length = length

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items())

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0

    def mapped(self, function: Callable[[Any], Any]) -> LazyList:
        """The same items, each passed through ``function`` as it is made."""
        return LazyList(lambda: (function(item) for item in self), self._length)
