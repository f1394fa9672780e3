"""Atomic file and directory writes, so that a failed run never replaces the last good output.

Files are written to a temporary sibling, flushed to disk and moved over the target with ``os.replace``
(atomic on POSIX and Windows when source and target share a file system, hence the same directory).
Directories are built in a hidden staging sibling and swapped into place only when building succeeded.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "staged_directory",
    "fsync_directory",
]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: readers see the old file or the new one, never a torn one."""
    target = Path(path)
    if target.is_symlink():  # write the file the link names (an output set's entry), never replace the link
        target = target.resolve()
    temporary = _sibling_name(target, "tmp")
    # O_EXCL: never write through a file someone else created; mode 0o666 lets the umask decide, as open() does.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_directory(target.parent)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` atomically. Line endings are written exactly as given (no platform translation)."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as JSON atomically: insertion order kept, indent 2, UTF-8, NaN written as ``null``.

    Infinities still raise ``ValueError``: unlike NaN ("no value") they carry meaning that null would hide.
    """
    text = json.dumps(_nan_to_none(obj), indent=2, ensure_ascii=False, allow_nan=False)
    return atomic_write_text(path, text + "\n")


@contextlib.contextmanager
def staged_directory(final_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty staging directory that replaces ``final_dir`` only if the ``with`` block succeeds.

    The staging directory is a hidden sibling of ``final_dir`` (same parent, so renames stay on one file
    system). On success the old directory is renamed aside, the staging directory renamed into place and
    the old one deleted; on an exception the staging directory is deleted and ``final_dir`` is untouched.
    Between the two renames ``final_dir`` is briefly absent: POSIX has no portable atomic directory swap.
    """
    final = Path(final_dir)
    if final.is_symlink():  # replace the folder the link names (an output set's entry), never the link
        final = final.resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = _make_sibling_directory(final, "staging")
    try:
        yield staging
        _swap_into_place(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_into_place(staging: Path, final: Path) -> None:
    if not final.exists() and not final.is_symlink():
        os.rename(staging, final)
        fsync_directory(final.parent)
        return
    aside = _sibling_name(final, "old")
    os.rename(final, aside)
    try:
        os.rename(staging, final)
    except BaseException:
        os.rename(aside, final)  # put the last good output back before reporting the failure
        raise
    fsync_directory(final.parent)
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink(missing_ok=True)


def _sibling_name(target: Path, purpose: str) -> Path:
    # pid says which process left a stray file behind; the random part keeps threads and retries apart.
    return target.with_name(f".{target.name}.{purpose}-{os.getpid()}-{secrets.token_hex(4)}")


def _make_sibling_directory(target: Path, purpose: str) -> Path:
    while True:
        candidate = _sibling_name(target, purpose)
        try:
            candidate.mkdir(mode=0o777)  # the umask decides, as for a normal mkdir
        except FileExistsError:
            continue
        return candidate


def fsync_directory(directory: Path) -> None:
    """Persist a rename: on POSIX the directory entry itself must be flushed. Windows cannot open directories."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (e.g. certain network mounts) refuse fsync on directories
    finally:
        os.close(fd)


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Mapping):
        return {key: _nan_to_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(item) for item in value]
    return value
