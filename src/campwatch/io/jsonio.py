"""Read and write campwatch's JSON documents: deterministic bytes, features streamed one per line."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from campwatch.document import Provenance
from campwatch.errors import InputError

__all__ = ["LazyList", "clean", "write_json", "write_json_atomic", "load_report", "read_report",
           "reading_report"]


class LazyList(list):  # type: ignore[type-arg]
    """A list that yields its items from a function when iterated (once per iteration), holding none.

    ``json`` writes it as a list (:func:`write_json`): a report's features are made one at
    a time as they are written, so that a scene with a hundred thousand changes does not
    hold them all as dicts.
    """

    def __init__(self, items: Any, length: int) -> None:
        super().__init__()
        self._items = items
        self._length = length

    def __iter__(self) -> Any:
        return iter(self._items())

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0


def clean(value: Any) -> Any:
    """Make ``value`` JSON-safe: NaN and infinity become None, numpy scalars Python ones."""
    if isinstance(value, LazyList):
        return value  # cleaned item by item as it is iterated
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def load_report(path: str | Path, schemas: tuple[str, ...]) -> dict[str, Any]:
    """Read a campwatch JSON document (report, series report) whose ``schema`` is one of ``schemas``
    (:func:`read_report`, without its provenance)."""
    return read_report(path, schemas)[0]


def read_report(path: str | Path, schemas: tuple[str, ...]) -> tuple[dict[str, Any], Provenance]:
    """A campwatch JSON document whose ``schema`` is one of ``schemas``, and its provenance, checked.

    Raises
    ------
    InputError
        If the file is missing, not JSON, or not such a document (of another kind, of a newer
        campwatch, or with malformed records: :meth:`campwatch.document.Provenance.from_geojson`).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: report not found")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a campwatch report (not JSON: {exc})") from exc
    except RecursionError:
        raise InputError(f"{path}: not a campwatch report (JSON nested too deep)") from None
    return doc, Provenance.from_geojson(doc, schemas, source=str(path))  # its kind, version and records


@contextlib.contextmanager
def reading_report(path: str | Path) -> Iterator[None]:
    """Inside this, a report that lacks a member or holds one of the wrong type is 'not a campwatch
    report' (an :class:`InputError`, exit 2), not a crash."""
    try:
        yield
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise InputError(f"{path}: not a campwatch report (malformed: {type(exc).__name__}: {exc})") from exc


def write_json(data: dict[str, Any], path: str | Path) -> None:
    """Write ``data`` as UTF-8 JSON, keys in insertion order, deterministic bytes.

    Indented by one space per level, except the items of a :class:`LazyList` (a report's
    features), which are written one per line as they are made, so that none is held
    after it is written and the C encoder does the work.
    """
    with open(path, "w", encoding="utf-8") as f:
        _write_value(f, data, 0)
        f.write("\n")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _holds_lazy(value: Any) -> bool:
    if isinstance(value, LazyList):
        return True
    if isinstance(value, dict):
        return any(_holds_lazy(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_lazy(v) for v in value)
    return False


def _write_value(f: Any, value: Any, level: int) -> None:
    pad = " " * (level + 1)
    if isinstance(value, LazyList):
        if not value:
            f.write("[]")
            return
        f.write("[")
        first = True
        for item in value:
            f.write(("\n" if first else ",\n") + pad + _dumps(item))
            first = False
        f.write("\n" + " " * level + "]")
    elif isinstance(value, dict) and value and _holds_lazy(value):
        f.write("{")
        for i, (key, item) in enumerate(value.items()):
            f.write(("\n" if i == 0 else ",\n") + pad + _dumps(str(key)) + ": ")
            _write_value(f, item, level + 1)
        f.write("\n" + " " * level + "}")
    elif isinstance(value, (list, tuple)) and value and _holds_lazy(value):
        f.write("[")
        for i, item in enumerate(value):
            f.write(("\n" if i == 0 else ",\n") + pad)
            _write_value(f, item, level + 1)
        f.write("\n" + " " * level + "]")
    else:
        f.write(json.dumps(value, indent=1, ensure_ascii=False, allow_nan=False).replace("\n", "\n" + " " * level))


def write_json_atomic(data: dict[str, Any], path: str | Path) -> None:
    """Write ``data`` as :func:`write_json` does, to a temporary file beside ``path`` renamed over it.

    A reader sees the old file or the new one, never half of one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        as_umask(tmp)
        write_json(data, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def as_umask(path: str | Path, *, directory: bool = False) -> None:
    """Give a file or folder made by :mod:`tempfile` (mode 0600 or 0700) the mode any other new one gets.

    A staged output renamed into place keeps its mode: without this, under a umask of 022 the
    analyst's outputs would be readable by the analyst alone.
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, (0o777 if directory else 0o666) & ~mask)
