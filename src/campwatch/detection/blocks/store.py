"""Lists kept in a scratch file, not in memory: a large pair's changes, as its blocks find them.

A pair analysed by blocks may hold hundreds of thousands of changes (a dense town at 30,000 px).
They go to a file in the run's scratch folder as they come, one pickled record after the other;
memory holds only where each record starts (8 bytes a change). The file is the run's own, in a
folder only it writes (``tempfile.mkdtemp``): it is never an input.
"""

from __future__ import annotations

import dataclasses
import pickle
import threading
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Generic, Self, TypeVar, overload

import shapely

from campwatch.detection.results import ChangeRegion

__all__ = ["ScratchList", "ChangeStore", "with_precision"]

T = TypeVar("T")


class ScratchList(Sequence[T], Generic[T]):
    """A list that grows by :meth:`append` into the file ``path``; read back in order or by index.

    Iterating reads the file once from its start; an index reads one record. Items are copies:
    what is read is a new object equal to what was appended. The file is removed with its folder
    (the owner's scratch), not by the list.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._offsets = array("q")
        self._writer: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115 - open while the list grows
        self._reader: BinaryIO | None = None
        self._lock = threading.Lock()

    def _dump(self, item: T) -> Any:
        return item

    def _load(self, record: Any) -> T:
        return record  # type: ignore[no-any-return]

    def append(self, item: T) -> int:
        """Write ``item`` at the end; its index."""
        with self._lock:
            if self._writer is None:
                raise ValueError(f"{self.path}: the list is finished; nothing more can be appended")
            self._offsets.append(self._writer.tell())
            pickle.dump(self._dump(item), self._writer, protocol=pickle.HIGHEST_PROTOCOL)
            return len(self._offsets) - 1

    def finish(self) -> Self:
        """No more appends: the file is closed for writing (reading stays open). Returns the list."""
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        return self

    def close(self) -> None:
        """Let go of the file (for writing and reading)."""
        self.finish()
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self._offsets)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of a list of {n}")
        with self._lock:
            if self._writer is not None:
                self._writer.flush()
            if self._reader is None:
                self._reader = self._open()
            self._reader.seek(self._offsets[index])
            record = pickle.load(self._reader)
        return self._load(record)

    def __iter__(self) -> Iterator[T]:
        n = len(self._offsets)
        if n == 0:
            return
        with self._lock:
            if self._writer is not None:
                self._writer.flush()
        with self._open() as f:
            for _ in range(n):  # records follow one another from the start of the file
                yield self._load(pickle.load(f))

    def _open(self) -> BinaryIO:
        try:
            return open(self.path, "rb")
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{self.path} is gone: the changes of a pair analysed by blocks are read from its scratch folder, "
                "removed when the result is closed; read them before (with analyse_pair(...) as result: ...)"
            ) from None

    def __getstate__(self) -> dict[str, Any]:
        if self._writer is not None:
            raise ValueError(f"{self.path}: a list still growing cannot be sent to another process")
        return {"path": self.path, "offsets": self._offsets}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path, self._offsets = state["path"], state["offsets"]
        self._writer, self._reader, self._lock = None, None, threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, {len(self)} items)"


class ChangeStore(ScratchList[ChangeRegion]):
    """Changes in a scratch file, each read back exactly as it was appended.

    Pickling a shapely geometry keeps its coordinates bit for bit but not its precision grid
    (``shapely.get_precision``), which later overlays use: the grid is kept beside it and set
    again on reading (coordinates on the grid already, so they do not move).
    """

    def _dump(self, item: ChangeRegion) -> Any:
        return item, float(shapely.get_precision(item.geometry))

    def _load(self, record: Any) -> ChangeRegion:
        region, grid = record
        return with_precision(region, grid)


def with_precision(region: ChangeRegion, grid: float) -> ChangeRegion:
    """``region`` with its geometry's precision grid set to ``grid`` again (0: none), its coordinates unmoved."""
    if grid <= 0:
        return region
    # Pointwise: coordinates on the grid stay as they are. An empty polygon is set as it is by the default mode
    # (pointwise makes it an empty ring).
    mode = "valid_output" if region.geometry.is_empty else "pointwise"
    return dataclasses.replace(region, geometry=shapely.set_precision(region.geometry, grid, mode=mode))
