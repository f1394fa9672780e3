"""``hypotheses/registry.lock.json``: the append-only, hash-chained registry lock.

Each entry records one spec (``kind: spec``) or one declared deviation (``kind: deviation``) at the time it was
locked, or a design diagnosis saved after its spec was locked (``kind: power_justification``; a spec locked after its
diagnosis carries it in its own entry). Tamper evidence, checked on every read:

- ``sha256`` is the SHA-256 of the canonical spec (or deviation) stored in the entry;
- ``entry_sha256`` is the SHA-256 of the canonical entry without itself, so an edited field shows;
- ``previous_entry_sha256`` is the previous entry's ``entry_sha256`` and ``seq`` counts 1, 2, 3…, so a removed or
  reordered entry shows;
- ``head`` repeats the number of entries and the last ``entry_sha256``, so a removed *last* entry shows.

A file rewritten consistently from scratch (every hash recomputed) passes these checks: that is what the git history
of the file and the head hash pasted into the registry (``oca prereg export``) are for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._layout import LOCK_FILE
from ..errors import PreregistrationError
from ..spec import HYPOTHESES_DIR
from ._canonical import sha256_json

LOCK_SCHEMA_VERSION = 1
ABOUT = ("Registry lock written by `oca prereg lock`. Append-only: never edit it by hand. Each entry hashes its "
         "spec (or declared deviation) and the entry before it, so an edited or removed entry is detected by "
         "`oca prereg check` and `oca check`.")
ENTRY_KEYS = {
    "spec": ("seq", "kind", "spec_id", "spec_file", "sha256", "spec", "contracts", "analysis", "locked_at",
             "git_commit", "oca_version", "previous_entry_sha256", "entry_sha256"),
    "deviation": ("seq", "kind", "spec_id", "sha256", "deviation", "locked_at", "git_commit", "oca_version",
                  "previous_entry_sha256", "entry_sha256"),
    # A design diagnosis saved after its spec was locked (oca design diagnose); sha256 is the diagnosis file's.
    "power_justification": ("seq", "kind", "spec_id", "sha256", "power_justification", "locked_at", "git_commit",
                            "oca_version", "previous_entry_sha256", "entry_sha256"),
}


@dataclass(frozen=True)
class LockProblem:
    """Something in the lock file that does not hold; ``spec_id`` and ``field`` name where."""

    message: str
    spec_id: str | None = None
    field: str | None = None
    entry: int | None = None

    def as_error(self) -> PreregistrationError:
        where = f"{LOCK_FILE}" + (f" entry {self.entry}" if self.entry is not None else "")
        return PreregistrationError(f"{where}: {self.message}", spec_id=self.spec_id, field=self.field,
                                    fix="restore the file from version control; never edit the lock by hand")


@dataclass(frozen=True)
class Lock:
    """The parsed lock file. ``problems`` is empty when every check above holds."""

    path: Path
    exists: bool
    entries: tuple[Mapping[str, Any], ...] = ()
    problems: tuple[LockProblem, ...] = ()
    head: str | None = None

    @property
    def intact(self) -> bool:
        return not self.problems

    def spec_entries(self) -> dict[str, Mapping[str, Any]]:
        """The first spec entry of each id: the registered version (later lock runs never replace it)."""
        found: dict[str, Mapping[str, Any]] = {}
        for entry in self.entries:
            if entry.get("kind") == "spec" and isinstance(entry.get("spec_id"), str):
                found.setdefault(entry["spec_id"], entry)
        return found

    def deviation_entries(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(e for e in self.entries if e.get("kind") == "deviation")

    def power_justifications(self) -> dict[str, str]:
        """The latest recorded design-diagnosis SHA-256 per spec (from its spec entry or a later justification)."""
        found: dict[str, str] = {}
        for entry in self.entries:
            record = entry.get("power_justification")
            if isinstance(record, Mapping) and isinstance(entry.get("spec_id"), str) and record.get("sha256"):
                found[entry["spec_id"]] = str(record["sha256"])
        return found


def entry_hash(entry: Mapping[str, Any]) -> str:
    return sha256_json({k: v for k, v in entry.items() if k != "entry_sha256"})


def _content_hash(entry: Mapping[str, Any]) -> str | None:
    if entry.get("kind") == "power_justification":  # the diagnosis file's own hash, repeated from its record
        record = entry.get("power_justification")
        return record.get("sha256") if isinstance(record, Mapping) else None
    content = entry.get("spec") if entry.get("kind") == "spec" else entry.get("deviation")
    return sha256_json(content) if isinstance(content, Mapping) else None


def verify_entries(entries: Sequence[Any], head: Any) -> list[LockProblem]:
    problems: list[LockProblem] = []
    previous: str | None = None
    seen_specs: dict[str, int] = {}
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            problems.append(LockProblem("is not an object", entry=position))
            previous = None
            continue
        spec_id = entry.get("spec_id") if isinstance(entry.get("spec_id"), str) else None
        kind = entry.get("kind")
        if kind not in ENTRY_KEYS:
            problems.append(LockProblem(f"unknown kind {kind!r}", spec_id, "kind", position))
            previous = entry.get("entry_sha256")
            continue
        missing = [k for k in ENTRY_KEYS[kind] if k not in entry]
        if missing:
            problems.append(LockProblem(f"lacks {', '.join(missing)}", spec_id, missing[0], position))
        if entry.get("seq") != position:
            problems.append(LockProblem(f"is number {entry.get('seq')!r} but stands at position {position}: an "
                                        "entry before it was removed or the entries were reordered",
                                        spec_id, "seq", position))
        if entry.get("previous_entry_sha256") != previous:
            problems.append(LockProblem("does not chain to the entry before it (previous_entry_sha256 differs): "
                                        "an entry was removed, reordered or edited", spec_id,
                                        "previous_entry_sha256", position))
        if entry.get("sha256") != _content_hash(entry):
            what = {"spec": "spec", "deviation": "deviation"}.get(kind, "power justification")
            problems.append(LockProblem(f"sha256 does not match the stored {what}: the hash or the {what} was "
                                        "edited", spec_id, "sha256", position))
        if entry.get("entry_sha256") != entry_hash(entry):
            problems.append(LockProblem("entry_sha256 does not match the entry's content: the entry was edited",
                                        spec_id, "entry_sha256", position))
        if kind == "spec":
            stored = entry.get("spec")
            if isinstance(stored, Mapping) and stored.get("id") != spec_id:
                problems.append(LockProblem(f"spec_id {spec_id!r} differs from the stored spec's id "
                                            f"{stored.get('id')!r}", spec_id, "spec_id", position))
            if spec_id is not None and spec_id in seen_specs:
                problems.append(LockProblem(f"locks spec {spec_id} a second time (first at entry "
                                            f"{seen_specs[spec_id]})", spec_id, "spec_id", position))
            if spec_id is not None:
                seen_specs.setdefault(spec_id, position)
        previous = entry.get("entry_sha256")
    last = entries[-1].get("entry_sha256") if entries and isinstance(entries[-1], Mapping) else None
    if not isinstance(head, Mapping) or head.get("entries") != len(entries) or head.get("entry_sha256") != last:
        recorded = head.get("entries") if isinstance(head, Mapping) else None
        problems.append(LockProblem(f"head records {recorded!r} entries ending in a different entry than the "
                                    f"{len(entries)} in the file: the last entry was removed or the head edited",
                                    None, "head"))
    return problems


def _top_level_problems(payload: Mapping[str, Any]) -> list[LockProblem]:
    """The parts outside the entries are not hashed: oca writes them verbatim, so any other content is an edit."""
    problems = []
    unknown = sorted(set(payload) - {"schema_version", "about", "head", "entries"})
    if unknown:
        problems.append(LockProblem(f"has key(s) oca does not write: {', '.join(unknown)}", field=unknown[0]))
    if payload.get("about") != ABOUT:
        problems.append(LockProblem("'about' differs from the text oca writes: the file was edited by hand",
                                    field="about"))
    return problems


def read_lock(study_dir: Path) -> Lock:
    """Parse and verify the lock. Never raises for a broken file: the problems say what is wrong."""
    path = Path(study_dir) / LOCK_FILE
    if not path.is_file():
        return Lock(path=path, exists=False)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        return Lock(path=path, exists=True,
                    problems=(LockProblem(f"is not valid UTF-8 JSON{f' (line {line})' if line else ''}"),))
    if not isinstance(payload, Mapping) or not isinstance(payload.get("entries"), list):
        return Lock(path=path, exists=True, problems=(LockProblem("has no 'entries' list", field="entries"),))
    if payload.get("schema_version") != LOCK_SCHEMA_VERSION:
        return Lock(path=path, exists=True, problems=(LockProblem(
            f"has schema_version {payload.get('schema_version')!r}; this oca reads {LOCK_SCHEMA_VERSION}",
            field="schema_version"),))
    entries = payload["entries"]
    problems = _top_level_problems(payload) + verify_entries(entries, payload.get("head"))
    valid = tuple(e for e in entries if isinstance(e, Mapping))
    head = valid[-1].get("entry_sha256") if valid else None
    return Lock(path=path, exists=True, entries=valid, problems=tuple(problems), head=head)


@dataclass
class LockWriter:
    """Appends entries to a verified lock; ``payload()`` is the new file content."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    locked_at: str = ""
    git_commit: str | None = None
    oca_version: str = ""
    added: int = 0

    def append(self, kind: str, **content: Any) -> dict[str, Any]:
        previous = self.entries[-1]["entry_sha256"] if self.entries else None
        entry: dict[str, Any] = {"seq": len(self.entries) + 1, "kind": kind, **content, "locked_at": self.locked_at,
                                 "git_commit": self.git_commit, "oca_version": self.oca_version,
                                 "previous_entry_sha256": previous}
        entry["entry_sha256"] = entry_hash(entry)
        self.entries.append(entry)
        self.added += 1
        return entry

    def payload(self) -> dict[str, Any]:
        last = self.entries[-1]["entry_sha256"] if self.entries else None
        return {"schema_version": LOCK_SCHEMA_VERSION, "about": ABOUT,
                "head": {"entries": len(self.entries), "entry_sha256": last}, "entries": self.entries}


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def git_commit(start: Path) -> str | None:
    """The commit checked out around ``start``, read from ``.git`` (no git binary); ``None`` outside a repository.

    Uncommitted edits are not visible this way: the lock's own hashes are what pin the specs.
    """
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_file():  # a worktree: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            dot_git = (folder / text.partition(":")[2].strip()).resolve() if text.startswith("gitdir:") else dot_git
        if not dot_git.is_dir():
            continue
        try:
            head = (dot_git / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if not head.startswith("ref:"):
            return head or None
        ref = head.partition(":")[2].strip()
        common = dot_git
        if (dot_git / "commondir").is_file():
            common = (dot_git / (dot_git / "commondir").read_text(encoding="utf-8").strip()).resolve()
        for base in (dot_git, common):
            if (base / ref).is_file():
                return (base / ref).read_text(encoding="utf-8").strip() or None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                sha, _, name = line.partition(" ")
                if name.strip() == ref:
                    return sha
        return None
    return None
