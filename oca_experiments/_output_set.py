"""The output folder of ``oca run``: one consistent set (results.json, manifest.json, report/, artifacts/) that
switches as a whole, one writer at a time, and nothing half-written left behind.

Layout of ``OUT`` (the folder given as ``--out``)::

    OUT/.oca/runs/<id>/              one complete run each: results.json, manifest.json, report/, artifacts/
    OUT/.oca/current -> runs/<id>    the pointer, switched by a single atomic rename
    OUT/.oca/lock                    locked (flock) by the run writing into OUT; holds its pid
    OUT/results.json  -> .oca/current/results.json      fixed links: they never change, the pointer does
    OUT/manifest.json -> .oca/current/manifest.json
    OUT/report        -> .oca/current/report            (only while the current run has a report)
    OUT/artifacts     -> .oca/current/artifacts         (only while the current run has artifacts)

A run builds its whole set in a fresh ``runs/<id>/`` and then replaces the pointer with one ``os.replace``, so a
reader sees the old set or the new one, never a new report beside old results; a kill at any moment leaves the last
good set in place. A folder under ``runs/`` that the pointer does not name is the staging of a run that died: the
next run removes it (under the lock) and no reader ever looks there. Other files in ``OUT`` (e.g. input data) are
left alone. The destination is checked before any work (``prepare``), and a failure while writing removes what the
run wrote (and ``OUT`` itself if the run created it) before it is reported as an ``OutputError``.

Where the file system has no symlinks (Windows without the privilege) the entries are real files and folders,
replaced one after the other (the set is then switched entry by entry, as before).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from ._atomic import fsync_directory
from .errors import OutputError

__all__ = ["CONTROL_DIR", "ENTRIES", "OutputSet", "fault_point"]

CONTROL_DIR = ".oca"
RUNS_DIR = "runs"
POINTER = "current"
LOCK_FILE = "lock"
ENTRIES = ("results.json", "manifest.json", "report", "artifacts")
#: Names of the staging siblings older versions (and ``_atomic``) leave when killed: ``.<entry>.<purpose>-<pid>-<hex>``
_LEGACY_STAGING = (".oca-run-",) + tuple(f".{entry}.{purpose}-" for entry in ENTRIES
                                        for purpose in ("staging", "old", "tmp"))


_EDQUOT = getattr(errno, "EDQUOT", -1)


def fault_point(step: str) -> None:
    """Called at every write step of a run (``step`` names it). A no-op; tests replace it to inject a failure or a
    kill exactly there, so that fault tolerance is tested step by step instead of by timing."""


def _symlinks_work(folder: Path) -> bool:
    probe = folder / f".symlink-probe-{secrets.token_hex(4)}"
    try:
        os.symlink("target", probe)
    except (OSError, NotImplementedError):
        return False
    probe.unlink()
    return True


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


class OutputSet:
    """The output folder ``out``; see the module docstring for its layout."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.control = self.out / CONTROL_DIR
        self.runs = self.control / RUNS_DIR
        self.pointer = self.control / POINTER
        self.created_out = False

    # ------------------------------------------------------------------ before any work

    def prepare(self) -> None:
        """Check the destination before anything is estimated: a folder (created if missing) that can be written."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise OutputError("--out names a file, not a folder", path=str(out),
                              fix="give a folder path (it is created if missing), e.g. --out build/run")
        existing = next((p for p in (out, *out.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise OutputError(f"the output folder cannot be created: {existing} is a file", path=str(out),
                              fix="choose a location under a folder with --out")
        try:
            self.created_out = not out.exists()
            out.mkdir(parents=True, exist_ok=True)
            self.runs.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._write_error(exc, "the output folder cannot be created") from None
        if not os.access(out, os.W_OK | os.X_OK) or not os.access(self.control, os.W_OK | os.X_OK):
            raise OutputError("the output folder is not writable (read-only mount or no permission)", path=str(out),
                              fix="choose a writable location with --out")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold ``OUT/.oca/lock`` for the whole run: a second run into the same folder fails naming the holder."""
        path = self.control / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise self._write_error(exc, "the output folder's lock file cannot be created") from None
        try:
            self._acquire(fd, path)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            self._release(fd)
            os.close(fd)

    def _acquire(self, fd: int, path: Path) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: an exclusive lock of the first byte
            import msvcrt

            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                self._busy(path)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._busy(path)

    @staticmethod
    def _release(fd: int) -> None:
        with contextlib.suppress(Exception):
            try:
                import fcntl
            except ImportError:
                import msvcrt

                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
                return
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _busy(self, path: Path) -> None:
        try:
            holder = path.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            holder = "unknown"
        raise OutputError(f"another oca run (pid {holder}) is writing to this output folder", path=str(self.out),
                          fix="wait until it has finished, or give this run another --out")

    # ------------------------------------------------------------------ stale staging

    def current(self) -> Path | None:
        """The folder of the current set, or ``None`` (no run yet, or a folder written by an older oca)."""
        if not self.pointer.is_symlink():
            return None
        target = self.control / os.readlink(self.pointer)
        return target if target.is_dir() else None

    def clean_stale(self) -> list[Path]:
        """Remove what killed runs left: run folders the pointer does not name and older versions' staging
        siblings. Call with the lock held. Returns what was removed."""
        current = self.current()
        removed: list[Path] = []
        if self.runs.is_dir():
            for folder in self.runs.iterdir():
                if current is None or folder.name != current.name:
                    _remove(folder)
                    removed.append(folder)
        for folder in (self.out, self.control, *([current] if current is not None else [])):
            for path in folder.iterdir() if folder.is_dir() else ():
                if path.name.startswith(_LEGACY_STAGING) or path.name.startswith(f".{POINTER}.tmp-"):
                    _remove(path)
                    removed.append(path)
        return removed

    # ------------------------------------------------------------------ writing a new set

    @contextlib.contextmanager
    def new_version(self, *, copy_from_current: tuple[str, ...] = ()) -> Iterator[Path]:
        """Yield an empty run folder under ``.oca/runs/``; publish it as the current set if the block succeeds.

        ``copy_from_current`` names entries to take over from the current set first (hard links where possible),
        e.g. the results when only the report is rebuilt. On any failure the folder is removed (and ``OUT`` too when
        this run created it and nothing else is in it); an ``OSError`` becomes an ``OutputError`` naming the path.
        """
        self.runs.mkdir(parents=True, exist_ok=True)
        version = self.runs / f"{secrets.token_hex(8)}"
        try:
            version.mkdir()
            fault_point("version_created")
            self._copy_from_current(version, copy_from_current)
            yield version
            self._publish(version)
        except BaseException as exc:
            if self.current() == version:  # already switched: only the previous set's leftovers remain
                self.clean_stale()
            else:
                _remove(version)
                self.discard_if_created()
            if isinstance(exc, OSError):
                raise self._write_error(exc, "writing the outputs failed; the previous outputs are unchanged") \
                    from None
            raise

    def _copy_from_current(self, version: Path, names: tuple[str, ...]) -> None:
        current = self.current() or (self.out if any(self._is_real(self.out / n) for n in names) else None)
        if current is None:
            return
        for name in names:
            source = current / name
            if source.is_dir():
                shutil.copytree(source, version / name, copy_function=_link_or_copy)
            elif source.is_file():
                _link_or_copy(source, version / name)

    def _publish(self, version: Path) -> None:
        if not _symlinks_work(self.control):
            self._publish_without_symlinks(version)
            return
        self._migrate_real_entries()
        previous = self.current()
        fault_point("before_links")
        for name in ENTRIES:  # a link to an entry the new set has; it dangles until the pointer moves
            if (version / name).exists() and not (self.out / name).is_symlink():
                os.symlink(Path(CONTROL_DIR, POINTER, name), self.out / name,
                           target_is_directory=(version / name).is_dir())
        fault_point("before_pointer")
        temporary = self.control / f".{POINTER}.tmp-{secrets.token_hex(4)}"
        os.symlink(Path(RUNS_DIR, version.name), temporary, target_is_directory=True)
        os.replace(temporary, self.pointer)  # the switch: one rename
        fsync_directory(self.control)
        fault_point("after_pointer")
        for name in ENTRIES:  # an entry the new set lacks (e.g. --no-report) is absent, not a stale one
            if (self.out / name).is_symlink() and not (version / name).exists():
                (self.out / name).unlink()
        if previous is not None and previous != version:
            _remove(previous)
        fault_point("published")

    @staticmethod
    def _is_real(path: Path) -> bool:
        return path.exists() and not path.is_symlink()

    def _migrate_real_entries(self) -> None:
        """Entries written by an older oca (real files): moved into a run folder the pointer names, then linked.

        The pointer is set first, so that each moved entry is reachable again as soon as its link exists; a kill
        in between leaves the entry in that folder and the next run links it."""
        real = [name for name in ENTRIES if self._is_real(self.out / name)]
        if not real or self.current() is not None:
            for name in real:  # a real entry beside a versioned set (e.g. copied in by hand) is not output
                _remove(self.out / name)
            return
        legacy = self.runs / f"legacy-{secrets.token_hex(4)}"
        legacy.mkdir()
        temporary = self.control / f".{POINTER}.tmp-{secrets.token_hex(4)}"
        os.symlink(Path(RUNS_DIR, legacy.name), temporary, target_is_directory=True)
        os.replace(temporary, self.pointer)
        for name in real:
            os.rename(self.out / name, legacy / name)
            os.symlink(Path(CONTROL_DIR, POINTER, name), self.out / name,
                       target_is_directory=(legacy / name).is_dir())

    def _publish_without_symlinks(self, version: Path) -> None:
        for name in ENTRIES:
            target = self.out / name
            if (version / name).exists():
                aside = self.out / f".{name}.old-{os.getpid()}-{secrets.token_hex(4)}"
                if target.exists():
                    os.rename(target, aside)
                os.rename(version / name, target)
                _remove(aside)
            elif target.exists():
                _remove(target)
        _remove(version)

    # ------------------------------------------------------------------ failures

    def discard_if_created(self) -> None:
        """A failed first run into a folder it created leaves no empty folder behind (a full disk did), whether it
        failed while writing or before (bad data found after the destination was checked)."""
        if not self.created_out or self.current() is not None:
            return
        if self.runs.is_dir() and any(self.runs.iterdir()):
            return
        others = [p for p in self.out.iterdir() if p.name != CONTROL_DIR] if self.out.is_dir() else []
        if not others:
            shutil.rmtree(self.out, ignore_errors=True)

    def _write_error(self, exc: OSError, what: str) -> OutputError:
        reason = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
                  errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                  _EDQUOT: "the disk quota is exceeded"}.get(exc.errno or 0, exc.strerror or type(exc).__name__)
        fix = ("free disk space, or choose another location with --out" if exc.errno in (errno.ENOSPC, _EDQUOT)
               else "choose a writable location with --out")
        return OutputError(f"{what}: {reason}", path=str(self.out), fix=fix)


def _link_or_copy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
