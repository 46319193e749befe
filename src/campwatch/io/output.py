"""Write a run's output files atomically: the whole new set appears, or the old set stays.

Every run stages its outputs in a hidden folder of its own (``.campwatch-partial-*``) and
commits them together:

- into a new folder, or over a folder that holds nothing but an earlier campwatch run's
  outputs (named in its manifest, ``.campwatch-outputs``), the staged folder takes the
  folder's place in one atomic exchange (``renameat2(RENAME_EXCHANGE)`` on Linux; two
  renames elsewhere, between which the folder is briefly absent, never mixed);
- into a folder that also holds files of someone else's (``figures --out`` into a series
  folder, ``--out .``), file by file, the report last; the outputs this set replaces that
  are reports of an earlier run go first, so that no report ever stands beside files it does
  not describe.

A staging folder is locked by the process that made it for as long as it lives; a later run
removes the staging and swapped-out folders of dead runs (their lock is free), and never
those of a live one.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from campwatch.errors import OutputError
from campwatch.io.jsonio import as_umask

__all__ = ["OutputSet", "FileOnlyWhileLocked", "check_writable", "clear_dead_runs", "disk_full", "STAGING_PREFIX",
           "MANIFEST"]

logger = logging.getLogger(__name__)

#: The names of a run's staging folders (inside or beside the output folder).
STAGING_PREFIX = ".campwatch-partial-"
#: The folder an exchange swapped out, until it is removed.
_OLD_PREFIX = ".campwatch-old-"
#: The file in each committed folder that lists what the run wrote there (top-level names).
MANIFEST = ".campwatch-outputs"
_LOCK = ".campwatch-lock"


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


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says that the disk or the user's quota is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(exc).lower()
        if "no space left on device" in text or "disk quota exceeded" in text or "database or disk is full" in text:
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


class FileOnlyWhileLocked:
    """An exclusive lock on a file beside the one it guards (``history.gpkg.lock``) that is gone once released.

    The lock file is removed while the lock is still held; a process that waited on the
    removed file finds, once it has it, that the path no longer names that file and takes the
    lock again on a new one (so two processes never both hold it). Where the system has no
    ``flock`` (Windows), a :class:`filelock.FileLock`, whose file stays.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._fallback: FileLock | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            self._fallback = FileLock(str(self.path))
            self._fallback.acquire()
            return
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                held = os.fstat(fd)
                now = os.stat(self.path)
            except FileNotFoundError:
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                raise
            if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                self._fd = fd
                return
            os.close(fd)  # the file was removed and made again while we waited: lock the new one

    def release(self) -> None:
        if self._fallback is not None:
            self._fallback.release()
            self._fallback = None
            return
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)  # closing releases the flock
        self._fd = None

    def __enter__(self) -> FileOnlyWhileLocked:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _alive(folder: Path) -> bool:
    """Whether the run that made ``folder`` (a staging or swapped-out folder) still holds its lock."""
    lock_path = folder / _LOCK
    if not lock_path.exists():
        return False
    try:
        with FileLock(str(lock_path), timeout=0):
            return False
    except Timeout:
        return True
    except OSError:
        return True  # cannot tell: leave it


def _leftover_target(entry: Path) -> Path | None:
    """The output folder a staging or swapped-out folder ``entry`` was made for (None: not one)."""
    name = entry.name
    if name.startswith(STAGING_PREFIX) or name.startswith(_OLD_PREFIX):
        return entry.parent  # staged inside the folder it was for
    if name.startswith("."):
        for prefix in (STAGING_PREFIX, _OLD_PREFIX):
            at = name.find(prefix, 1)
            if at > 1:
                return entry.parent / name[1:at]
    return None


def clear_dead_runs(folder: Path) -> list[Path]:
    """Remove what dead runs left in ``folder`` (staging and swapped-out folders, for it or for the
    folders in it) and beside it for it; a live run's are left alone. An earlier set that a run
    dying mid-commit left aside is put back first. Returns what was removed."""
    folder = Path(folder)
    removed: list[Path] = []
    for place in (folder, folder.absolute().parent):
        if not place.is_dir():
            continue
        for entry in sorted(place.iterdir()):
            target = _leftover_target(entry)
            if target is None or not entry.is_dir():
                continue
            if place != folder and target.name != folder.name:
                continue  # beside the folder, only what was made for it
            if _alive(entry):
                continue
            if _OLD_PREFIX in entry.name and (entry / "set").is_dir() and not target.exists():
                # A run died between moving the old set aside and the new one in: put the old one back.
                os.replace(entry / "set", target)
                logger.warning("%s: put back the outputs of an earlier run (a later run died committing)", target)
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    if removed:
        logger.info("removed what %d dead run(s) left: %s", len(removed), ", ".join(p.name for p in removed))
    return removed


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(a))


#: How often a commit is tried when another run commits the same folder at the same moment.
_COMMIT_TRIES = 5


class OutputSet:
    """A set of output files written to a staging folder and committed together.

    Use as a context manager; ask :meth:`path` for where to write each file. On a clean
    exit the set is committed (see the module's notes): the old set or the new one is in
    ``out_dir`` at every moment, and the report, asked for last, is never beside files of
    another run. On an error the staging folder is removed, and ``out_dir`` too if this
    run created it and it is empty.

    Raises
    ------
    OutputError
        When the folder cannot be written, naming it; when the disk is full, saying so.
    """

    def __init__(self, out_dir: str | Path, *, recorded_as: str | Path | None = None) -> None:
        self.out_dir = Path(out_dir)
        #: The folder the outputs' documents record their paths from (:meth:`recorded_folder`).
        self.recorded_as = Path(recorded_as) if recorded_as is not None else None
        #: Where the files go: the output folder, or the folder its symbolic link leads to (the link stays).
        self._dir = self.out_dir
        self._created = False
        self._staging: Path | None = None
        self._lock: FileLock | None = None
        self._beside = False
        self._names: list[str] = []

    def __enter__(self) -> OutputSet:
        check_writable(self.out_dir)
        if self.out_dir.is_symlink():
            self._dir = Path(os.path.realpath(self.out_dir))
        try:
            clear_dead_runs(self._dir)
            parent = self._dir.absolute().parent
            if self._dir.name and os.access(parent, os.W_OK | os.X_OK) and parent.is_dir():
                # Beside the folder, on its file system: the staged folder can take its place.
                self._staging = Path(tempfile.mkdtemp(prefix=f".{self._dir.name}{STAGING_PREFIX}", dir=parent))
                as_umask(self._staging, directory=True)
                self._beside = True
            else:
                if not self._dir.exists():
                    self._dir.mkdir(parents=True)
                    self._created = True
                self._staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self._dir))
                as_umask(self._staging, directory=True)
            self._lock = FileLock(str(self._staging / _LOCK))
            self._lock.acquire()
        except OSError as exc:
            raise self._error(exc) from exc
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

    def recorded_folder(self, prefix: str = "") -> Path:
        """The folder a document written under ``prefix`` records its paths from
        (:func:`campwatch.io.recorded.publish_paths`): where it will be once committed, or, for a
        re-run that ``campwatch verify`` makes elsewhere, where the report it checks is."""
        return (self.recorded_as if self.recorded_as is not None else self.out_dir) / (prefix or ".")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._staging is not None
        if exc_type is not None:
            self._cleanup()
            if exc is not None and not isinstance(exc, OutputError) and disk_full(exc):
                raise self._error(exc) from exc
            return
        try:
            for name in self._names:
                if not (self._staging / name).exists():
                    raise OutputError(f"output {name} was not written")
            self._commit()
        except BaseException as failure:
            self._cleanup()
            if not isinstance(failure, OutputError) and (isinstance(failure, OSError) or disk_full(failure)):
                raise self._error(failure) from failure
            raise
        self._cleanup()

    # -- commit --------------------------------------------------------------------------

    def _top_names(self) -> list[str]:
        return list(dict.fromkeys(Path(n).parts[0] for n in self._names))

    def _owned(self) -> bool:
        """Whether ``out_dir`` holds nothing but campwatch outputs this set may replace whole."""
        if not self._dir.exists():
            return True
        if not self._dir.is_dir():
            return False
        allowed = self._manifest()  # a file of an output's name that it does not list is someone else's
        for entry in self._dir.iterdir():
            if entry.name in (MANIFEST, _LOCK) or entry.name in allowed:
                continue
            return False  # someone else's file, or a live run's staging
        return True

    def _commit(self) -> None:
        assert self._staging is not None
        if self._beside and self._owned():
            (self._staging / MANIFEST).write_text(json.dumps(self._top_names()), encoding="utf-8")
            self._fsync_all()
            staging, self._staging = self._staging, None
            for attempt in range(_COMMIT_TRIES):
                try:
                    self._replace_with(staging)
                    return
                except OSError as exc:
                    # Another run committed the same folder at the same moment (it appeared, or went
                    # aside for a moment): the set it put there is replaced as any old set is.
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOENT) or attempt == _COMMIT_TRIES - 1:
                        self._staging = staging  # cleared by __exit__
                        raise
                    time.sleep(0.05 * (attempt + 1))
        self._commit_files()

    def _replace_with(self, staging: Path) -> None:
        """Put the staged folder where the output folder is: whole, never mixed with the old set."""
        if not self._dir.exists():
            os.replace(staging, self._dir)  # the new folder appears whole
        elif _exchange(staging, self._dir):
            # One atomic step: the staged set is the output folder; the old set is where the staging was.
            shutil.rmtree(staging, ignore_errors=True)
        else:
            # Two steps: the folder is briefly absent, never mixed; a run that dies between them
            # leaves the old set aside, and the next run puts it back (clear_dead_runs).
            old = Path(tempfile.mkdtemp(prefix=f".{self._dir.name}{_OLD_PREFIX}", dir=self._dir.parent))
            os.replace(self._dir, old / "set")
            try:
                os.replace(staging, self._dir)
            except OSError:
                if not self._dir.exists():
                    os.replace(old / "set", self._dir)  # the old set back where it was
                raise  # (else another run's set took its place meanwhile: the old one goes)
            finally:
                shutil.rmtree(old, ignore_errors=True)

    def _manifest(self) -> set[str]:
        """The names of the folder's campwatch outputs, as its manifest lists them (none without one)."""
        try:
            names = json.loads((self._dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            return set()
        return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()

    def _commit_files(self) -> None:
        """File by file into a folder shared with others' files: earlier reports out first, this report last.

        A file of an output's name that the folder's manifest does not list is someone else's
        (an analyst's ``report.html``): it is never overwritten, and nothing is written.
        """
        assert self._staging is not None
        ours = self._manifest()
        for name in self._names:
            dest = self._dir / name
            if (dest.exists() or dest.is_symlink()) and Path(name).parts[0] not in ours:
                raise OutputError(f"{dest}: is not campwatch's (its folder's {MANIFEST} does not list it); campwatch "
                                  "does not overwrite it and wrote nothing: move it, or give another --out")
        self._dir.mkdir(parents=True, exist_ok=True)
        for name in self._names:
            if Path(name).suffix in (".geojson", ".json", ".html"):
                with contextlib.suppress(FileNotFoundError):
                    (self._dir / name).unlink()
        self._fsync_all()
        for name in self._names:
            dest = self._dir / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._staging / name, dest)
        # The folder's manifest lists what campwatch wrote there, this set's outputs among them.
        manifest = self._dir / MANIFEST
        tmp = manifest.with_name(manifest.name + ".tmp")
        tmp.write_text(json.dumps(sorted(ours | set(self._top_names()))), encoding="utf-8")
        os.replace(tmp, manifest)

    def _fsync_all(self) -> None:
        assert self._staging is not None
        for name in self._names:
            with open(self._staging / name, "rb") as fh:
                os.fsync(fh.fileno())

    # -- failure -------------------------------------------------------------------------

    def _cleanup(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.release()
            self._lock = None
            # After a whole-folder commit the lock file came along with the set.
            with contextlib.suppress(OSError):
                (self._dir / _LOCK).unlink()
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if self._created:
            with contextlib.suppress(OSError):
                self._dir.rmdir()

    def _error(self, exc: BaseException) -> OutputError:
        if disk_full(exc):
            return OutputError(f"output folder {self.out_dir}: the disk is full (no space left to write the outputs); "
                               "nothing was written: free some space and run again")
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return OutputError(f"output folder {self.out_dir}: cannot be written ({detail})")
