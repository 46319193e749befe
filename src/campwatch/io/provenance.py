"""The provenance of a run's inputs: one record per file, with its SHA-256 (:class:`campwatch.document.InputRecord`).

The one builder of input records: a pair's (``detect``, each pair of a series), a series' and a
check's images, AOI, mask and model all come from here.
"""

from __future__ import annotations

from pathlib import Path

from campwatch.document import InputRecord
from campwatch.io.scene import scene_files, sha256_file

__all__ = ["file_record", "scene_records"]


def file_record(role: str, path: str | Path, *, sha256: str | None = None, date: str | None = None) -> InputRecord:
    """The record of one input file: its absolute path and SHA-256 (``sha256``: already known, of a
    scene read as a whole)."""
    return InputRecord(role=role, path=str(Path(path).resolve()), sha256=sha256 or sha256_file(path), date=date)


def scene_records(role: str, scene: str | Path, *, date: str | None = None, date_given: str | None = None,
                  bands_given: str | None = None) -> list[InputRecord]:
    """The records of a scene's files (one for a file; one per tile of a folder, per band of a Sentinel-2
    scene, with the scene they make up), and what the user said of its date and bands."""
    records = []
    for f in scene_files(scene):
        part_of = str(Path(scene).resolve()) if f != Path(scene) else None
        records.append(InputRecord(role=role, path=str(f.resolve()), sha256=sha256_file(f), date=date,
                                   date_given=date_given, bands_given=bands_given, scene=part_of))
    return records
