"""Read and write campwatch's JSON documents: deterministic bytes, features streamed one per line."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from campwatch.document import CheckReport, JSONValue, LazyList, PairReport, SeriesReport, check_schema
from campwatch.errors import InputError

#: The kinds of report a caller takes.
Report = TypeVar("Report", bound="PairReport | SeriesReport | CheckReport")

__all__ = ["LazyList", "clean", "write_json", "write_json_atomic", "read_document", "read_report",
           "reading_report"]


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


def read_document(path: str | Path) -> JSONValue:
    """A JSON document campwatch reads (a report, a series, a check), as JSON: not yet checked.

    Raises
    ------
    InputError
        If the file is missing or not JSON (or nested too deep to read).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: report not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a campwatch report (not JSON: {exc})") from exc
    except RecursionError:
        raise InputError(f"{path}: not a campwatch report (JSON nested too deep)") from None


def read_report(path: str | Path, *kinds: type[Report]) -> Report:
    """A campwatch report of one of ``kinds`` (:class:`~campwatch.document.PairReport`,
    :class:`~campwatch.document.SeriesReport`, :class:`~campwatch.document.CheckReport`), read typed:
    the kind its ``schema`` names.

    Raises
    ------
    InputError
        If the file is missing, not JSON, or not such a document (of another kind, of a newer
        campwatch, or malformed: :meth:`campwatch.document.PairReport.from_geojson`).
    """
    doc = read_document(path)
    schema = check_schema(doc, tuple(kind.schema for kind in kinds), source=str(path))
    kind = next(kind for kind in kinds if kind.schema == schema)
    return cast(Report, kind.from_geojson(doc, source=str(path)))


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


def write_json(data: Mapping[str, object], path: str | Path) -> None:
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


def write_json_atomic(data: Mapping[str, object], path: str | Path) -> None:
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
