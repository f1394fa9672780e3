"""``oca run`` / ``oca demo`` with nothing changed, answered before the scientific stack is imported (issue 21).

After a successful ``oca run`` or ``oca demo`` (a real run or a reuse), the command line records a *stamp* in the
user's cache (``<cache>/rerun/<key>.json``), keyed on the exact command line: the working folder, the arguments,
every ``OCA_*`` environment variable, the interpreter and its version. The stamp holds the fingerprint (size,
modification time and SHA-256) of every file the answer depends on, the file lists of the folders whose new files
would matter, and the text the command printed:

- inputs: study.yaml, every spec, everything under ``hypotheses/`` (the registry lock, the deviations log) and
  ``analysis/``, the data contracts, XLSForms, the report notebook and every data file given;
- the code: every file of the installed ``oca_experiments`` package (its version lives in ``_version.py``), and the
  installed distributions (names and versions of the ``*.dist-info`` folders on ``sys.path``, and those folders'
  modification times);
- the outputs: results.json, manifest.json, report/, artifacts/ (and the demo's data/) as they were left.

The next identical command line checks all of that with ``os``/``hashlib`` only (no numpy, pandas, pydantic, yaml
or typer) and, when every fingerprint matches, prints the recorded text and exits 0 without touching the outputs.
Any difference (an edited or new file, another option, another package version, a run holding the output folder's
lock) falls through to the full command, whose own reuse check (``report.reuse_outputs``) then decides; this file
only ever makes that decision sooner, never differently. ``OCA_CACHE=off`` turns stamps off with the other caches.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

STAMP_VERSION = 1
MAX_STAMPS = 200
_CHUNK = 1 << 20
#: Files modified this close to (or after) the command's start are not trusted for a stamp: the run may have read
#: the old content (file systems stamp times from a coarse clock, hence a margin).
_RACE_MARGIN_NS = 2_000_000_000
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_DIST_SUFFIXES = (".dist-info", ".egg-info", ".egg-link", ".pth")
#: The study's own report notebook when study.yaml names none (``report._build``'s rule; a test keeps them equal).
CONVENTIONAL_NOTEBOOK = "reports/report.ipynb"


class _Context:
    """What the check learned at the start of the command, for the stamp written at its end."""

    def __init__(self, path: str, started_ns: int, environment: list[Any]) -> None:
        self.path = path
        self.started_ns = started_ns
        self.environment = environment


_CONTEXT: _Context | None = None


def command_key(argv: list[str], cwd: str, environ: Mapping[str, str]) -> str:
    parts = [STAMP_VERSION, sys.version, sys.executable, cwd, list(argv),
             sorted((k, v) for k, v in environ.items() if k.startswith("OCA_"))]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


def environment_stamp(path_entries: Iterable[str]) -> list[Any]:
    """The installed distributions: per folder on ``sys.path`` that holds any, its modification time and the names
    of its ``*.dist-info``/``*.egg-info``/``*.pth`` entries (a wheel's folder name carries its version)."""
    stamp = []
    entries = sorted({os.path.abspath(e or os.curdir) for e in path_entries})
    # A folder inside another entry belongs to a distribution that entry already versions: importing setuptools
    # puts ``site-packages/setuptools/_vendor`` (full of dist-infos) on sys.path mid-process, and a stamp written
    # after that must still match a fresh process.
    roots = [e for e in entries if not any(e.startswith(other + os.sep) for other in entries if other != e)]
    for entry in roots:
        try:
            names = sorted(n for n in os.listdir(entry) if n.endswith(_DIST_SUFFIXES))
            if names:
                stamp.append([entry, os.stat(entry).st_mtime_ns, names])
        except OSError:
            continue
    return stamp


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fingerprint(path: str) -> list[Any] | None:
    try:
        stat = os.stat(path)
        return [stat.st_size, stat.st_mtime_ns, sha256_file(path)]
    except OSError:
        return None


def _tree(folder: str) -> list[str] | None:
    """Every file under ``folder`` (following the output set's links), relative, sorted; ``None`` when absent."""
    if not os.path.isdir(folder):
        return None
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [os.path.relpath(os.path.join(root, f), folder) for f in files if not f.endswith((".pyc", ".pyo"))]
    return sorted(found)


# --- the check, at the start of ``oca run`` / ``oca demo`` ----------------------------------------------------------

@contextlib.contextmanager
def _output_lock_free(out: str) -> Iterator[bool]:
    """True while no run holds ``OUT/.oca/lock`` (held shared for the duration, so none starts meanwhile)."""
    path = os.path.join(out, ".oca", "lock")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        yield True  # no output set yet (or the demo's folder, replaced as a whole): nothing to wait for
        return
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except ImportError:  # Windows: no shared lock; the full command checks
            yield False
            return
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _matches(stamp: Mapping[str, Any], environment: list[Any]) -> bool:
    if stamp.get("version") != STAMP_VERSION or stamp.get("environment") != environment:
        return False
    if any(os.path.exists(path) for path in stamp.get("absent") or ()):
        return False
    for folder, listing in (stamp.get("trees") or {}).items():
        if _tree(folder) != listing:
            return False
    return all(_fingerprint(path) == recorded for path, recorded in (stamp.get("files") or {}).items())


def _encodable(text: str, stream: Any) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8", errors=getattr(stream, "errors", None) or "strict")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def answer_unchanged(argv: list[str], cache_dir: str | None) -> int | None:
    """Print the recorded answer and return its exit code when nothing the command depends on changed; else
    ``None`` (and remember what the stamp written after the full command needs)."""
    global _CONTEXT
    started_ns = time.time_ns()
    if cache_dir is None or not os.path.isabs(cache_dir):
        return None
    try:
        cwd = os.getcwd()
    except OSError:
        return None
    path = os.path.join(cache_dir, "rerun", command_key(argv, cwd, os.environ) + ".json")
    environment = environment_stamp(sys.path)
    _CONTEXT = _Context(path, started_ns, environment)
    try:
        with open(path, encoding="utf-8") as handle:
            stamp = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or not isinstance(stamp.get("out"), str):
        return None
    stdout, stderr = str(stamp.get("stdout", "")), str(stamp.get("stderr", ""))
    if not (_encodable(stdout, sys.stdout) and _encodable(stderr, sys.stderr)):
        return None  # the full command reports what this stream cannot print
    with _output_lock_free(stamp["out"]) as free:
        if not free or not _matches(stamp, environment):
            return None
        sys.stdout.write(stdout)
        sys.stdout.flush()
        sys.stderr.write(stderr)
        sys.stderr.flush()
    return int(stamp.get("code", 0))


# --- the stamp, at the end of a successful full command -------------------------------------------------------------

def study_inputs(study: Any) -> tuple[list[str], list[str], list[str]]:
    """(files, folders, absent files) of a loaded study that decide a run: what ``report._manifest`` hashes for
    reuse, and the study's own report notebook when the built-in one stands in for it (creating it changes the
    report)."""
    root = os.path.abspath(study.path)
    files = [os.path.join(root, "study.yaml"), *(os.path.join(root, s.path) for s in study.specs)]
    for source in study.plan.sources:
        files.append(os.path.abspath(source.contract))
        if source.xlsform is not None:
            files.append(os.path.abspath(source.xlsform))
    from .report import study_notebook

    notebook = os.path.abspath(study_notebook(study.path, study.config.report))
    absent = [] if study.config.report else [os.path.join(root, *CONVENTIONAL_NOTEBOOK.split("/"))]
    (files if os.path.isfile(notebook) else absent).append(notebook)
    return files, [os.path.join(root, "hypotheses"), os.path.join(root, "analysis")], [
        p for p in absent if not os.path.exists(p)]


def output_folders(out: str, *, demo: bool) -> tuple[list[str], list[str]]:
    out = os.path.abspath(out)
    folders = [os.path.join(out, "report"), os.path.join(out, "artifacts")]
    if demo:
        folders.append(os.path.join(out, "data"))
    return [os.path.join(out, "results.json"), os.path.join(out, "manifest.json")], folders


def record(*, out: str, inputs: Iterable[str], input_folders: Iterable[str], outputs: Iterable[str],
           output_folders_: Iterable[str], stdout: str, stderr: str = "", code: int = 0,
           data: Mapping[str, str | None] | None = None, absent: Iterable[str] = ()) -> bool:
    """Write the stamp of a command that just succeeded (only when ``answer_unchanged`` ran at its start). ``data``:
    each data file given, with the SHA-256 the run's loader read. Returns whether a stamp was written: not when an
    input changed while the command ran (a data file no longer hashing as it was read, any input modified since
    the command started)."""
    context = _CONTEXT
    if context is None or code != 0:
        return False
    for path, read in (data or {}).items():
        fingerprint = _fingerprint(os.path.abspath(path))
        if read is None or fingerprint is None or fingerprint[2] != read:
            return False
    inputs = [*inputs, *(data or {})]
    files: dict[str, Any] = {}
    trees: dict[str, Any] = {PACKAGE_DIR: _tree(PACKAGE_DIR)}
    for folder in input_folders:
        trees[os.path.abspath(folder)] = _tree(os.path.abspath(folder))
    input_files = [*inputs, *(os.path.join(d, name) for d, listing in trees.items() for name in listing or ())]
    for path in input_files:
        fingerprint = _fingerprint(os.path.abspath(path))
        if fingerprint is None or fingerprint[1] >= context.started_ns - _RACE_MARGIN_NS:
            return False  # gone, or changed while the run read it: the next run checks in full
        files[os.path.abspath(path)] = fingerprint
    for folder in output_folders_:
        listing = _tree(folder)
        trees[folder] = listing
        files.update({os.path.join(folder, name): _fingerprint(os.path.join(folder, name)) for name in listing or ()})
    files.update({os.path.abspath(p): _fingerprint(os.path.abspath(p)) for p in outputs})
    stamp = {"version": STAMP_VERSION, "out": os.path.abspath(out), "environment": context.environment,
             "trees": trees, "files": files, "absent": sorted(os.path.abspath(p) for p in absent), "stdout": stdout, "stderr": stderr, "code": code}
    try:
        os.makedirs(os.path.dirname(context.path), exist_ok=True)
        temporary = f"{context.path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(stamp, handle)
        os.replace(temporary, context.path)
        _prune(os.path.dirname(context.path))
    except OSError:
        return False  # a cache that cannot be written only costs the next run its speed
    return True


def _prune(folder: str) -> None:
    """Keep the ``MAX_STAMPS`` most recently written stamps (one per command line: output folders of tests and
    temporary runs would otherwise pile up)."""
    entries = [e for e in os.scandir(folder) if e.name.endswith(".json")]
    if len(entries) <= MAX_STAMPS:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns)
    for entry in entries[:len(entries) - MAX_STAMPS]:
        with contextlib.suppress(OSError):
            os.remove(entry.path)


def active() -> _Context | None:
    """The context of the check run at this command's start, if any."""
    return _CONTEXT


def forget() -> None:
    """Drop the context (tests; a command that failed)."""
    global _CONTEXT
    _CONTEXT = None
