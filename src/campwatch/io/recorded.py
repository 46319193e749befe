"""Paths as published documents record them: relative to the document, never absolute.

A report, series, check or model card may be handed to people outside the analyst's machine;
an absolute path in it names the analyst's user and folders. Every path such a document records
(an input's ``path`` and ``scene``, the AOI's ``file``, a model's ``path`` and ``card``, the ``model`` parameter
when it is a file, a check's ``report_folder``, an inventory's ``image`` and ``aoi``, a batch's ``root``) is written relative to the folder the document is in (``../images/a.tif``),
so that a report folder moved with its images, or handed over with them, still finds them.
Reading a document back resolves its paths from its own folder (absolute paths of older
documents are read as they are). ``report.html`` is stricter still: a path that climbs more
than two folders shows as the file's name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["PATH_KEYS", "published_path", "publish_paths", "recorded_path"]

#: The members of a document that hold a path (wherever they are, except in its features).
PATH_KEYS = frozenset({"path", "scene", "file", "image", "aoi", "root", "card", "report_folder", "model"})


def published_path(target: str | Path, folder: str | Path) -> str:
    """``target`` as a document in ``folder`` records it: relative, with POSIX separators (its name
    alone when no relative path leads there: another drive)."""
    try:
        return Path(os.path.relpath(os.path.realpath(target), os.path.realpath(folder))).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(target).name


def publish_paths(doc: Any, folder: str | Path) -> Any:
    """Return ``doc`` with every absolute path under :data:`PATH_KEYS` made :func:`published_path`.

    Dicts and lists are copied where they change; ``features`` are left as they are (they hold
    file names only, and may be long).
    """
    if isinstance(doc, dict):
        out = {}
        for key, value in doc.items():
            if key in PATH_KEYS and isinstance(value, str) and os.path.isabs(value):
                out[key] = published_path(value, folder)
            elif key == "features" or not isinstance(value, (dict, list)):
                out[key] = value
            else:
                out[key] = publish_paths(value, folder)
        return out
    if isinstance(doc, list):
        return [publish_paths(v, folder) if isinstance(v, (dict, list)) else v for v in doc]
    return doc


def recorded_path(value: str, folder: str | Path) -> Path:
    """The file a document in ``folder`` names by ``value``: a relative ``value`` is from ``folder``,
    an absolute one (older documents) is as it is."""
    return Path(value) if os.path.isabs(value) else Path(os.path.normpath(Path(folder) / value))
