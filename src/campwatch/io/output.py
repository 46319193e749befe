"""Write a run's output files atomically: all of them appear, or none does."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from campwatch.errors import OutputError

__all__ = ["OutputSet", "check_writable"]

logger = logging.getLogger(__name__)


def check_writable(out_dir: str | Path) -> None:
    """Raise ``OutputError`` unless ``out_dir`` exists as a writable folder or can be made one.

    Creates nothing: called before any work so that a run fails early.
    """
    out = Path(out_dir)
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError(f"output folder {out}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {out}: {probe} is not writable; choose another --out")


class OutputSet:
    """A set of output files written to a staging folder and moved into place together.

    Use as a context manager; ask :meth:`path` for where to write each file. On a clean
    exit the files are renamed into ``out_dir`` (same file system, so each rename is
    atomic), in the order asked, so the last one (the report) appears only when all others
    are in place. On an error the staging folder is removed, and ``out_dir`` too if this
    run created it and it is empty.
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self._created = False
        self._staging: Path | None = None
        self._names: list[str] = []

    def __enter__(self) -> OutputSet:
        check_writable(self.out_dir)
        try:
            if not self.out_dir.exists():
                self.out_dir.mkdir(parents=True)
                self._created = True
            self._staging = Path(tempfile.mkdtemp(prefix=".campwatch-partial-", dir=self.out_dir))
        except OSError as exc:
            raise OutputError(f"output folder {self.out_dir}: cannot be written ({exc.strerror})") from exc
        return self

    def path(self, name: str) -> Path:
        """Return the staging path to write output ``name`` to.

        ``name`` may hold sub-folders (``"pairs/a_b/report.geojson"``); they are made.
        """
        if self._staging is None:
            raise RuntimeError("OutputSet used outside its 'with' block")
        if name not in self._names:
            self._names.append(name)
        path = self._staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def names(self) -> list[str]:
        """The outputs asked for so far, in commit order."""
        return list(self._names)

    def final_path(self, name: str) -> Path:
        """Where output ``name`` will be once committed."""
        return self.out_dir / name

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._staging is not None
        try:
            if exc_type is None:
                for name in self._names:
                    src = self._staging / name
                    if not src.exists():
                        raise OutputError(f"output {name} was not written")
                    dest = self.out_dir / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(src, dest)
        except BaseException:
            self._cleanup(remove_outputs=True)
            raise
        else:
            if exc_type is not None:
                self._cleanup(remove_outputs=False)
            else:
                shutil.rmtree(self._staging, ignore_errors=True)

    def _cleanup(self, *, remove_outputs: bool) -> None:
        assert self._staging is not None
        shutil.rmtree(self._staging, ignore_errors=True)
        if remove_outputs:
            # A failed commit may have moved some files: take them back out, report first.
            for name in reversed(self._names):
                try:
                    (self.out_dir / name).unlink()
                except FileNotFoundError:
                    pass
                for parent in Path(name).parents[:-1]:  # sub-folders the commit made, if empty
                    try:
                        (self.out_dir / parent).rmdir()
                    except OSError:
                        break
        if self._created:
            try:
                self.out_dir.rmdir()
            except OSError:
                pass
