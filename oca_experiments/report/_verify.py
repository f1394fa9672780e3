"""``oca report verify``: rebuild a run from its manifest's inputs in a temporary folder and compare every number.

What is compared, in this order:

1. the recorded outputs: ``results.json`` must still hash as the manifest says (an edited file is named);
2. the inputs: study files (``study.yaml``, specs, contract suites, ``analysis/``, the report notebook) and each
   data file's SHA-256 against the manifest;
3. the rebuild: every leaf of ``results.json`` (hypothesis numbers, counts, extras, contract results, data
   fingerprints) against the rebuilt one. Numbers must be equal exactly: every oca result is seeded or
   deterministic. ``rtol``/``atol`` exist for verifying on another platform, where floating-point sums may
   differ in the last bits.

The rebuilt report's HTML is compared too, but only as a note: different library builds may encode the same
picture in different PNG bytes.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oca_experiments.errors import DataError, ReportError
from oca_experiments.report._manifest import (
    INDEX_HTML,
    MANIFEST_FILE,
    REPORT_DIR,
    RESULTS_FILE,
    read_manifest,
    sha256_file,
)

__all__ = ["Difference", "VerifyResult", "verify_run"]

# Leaves that name where something lives, not what was computed: they may differ between machines.
_LOCATION_KEYS = frozenset({"suite_path", "file", "path"})


@dataclass(frozen=True)
class Difference:
    """One thing that differs. ``kind``: output, study, data, number, value, missing."""

    kind: str
    where: str
    recorded: Any = None
    rebuilt: Any = None
    note: str = ""

    def __str__(self) -> str:
        if self.kind == "output":
            return f"{self.where}: {self.note}"
        if self.kind in {"study", "data"}:
            return f"{self.where}: {self.note} (recorded {_short(self.recorded)}, now {_short(self.rebuilt)})"
        if self.kind == "missing":
            return f"{self.where}: {self.note}"
        return f"{self.where}: recorded {_show(self.recorded)}, rebuilt {_show(self.rebuilt)}"


@dataclass(frozen=True)
class VerifyResult:
    manifest: Path
    differences: tuple[Difference, ...]
    notes: tuple[str, ...] = ()
    n_compared: int = 0
    hypotheses: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.differences


def _short(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64:
        return value[:12] + "…"
    return "missing" if value is None else str(value)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, float) else json.dumps(value, ensure_ascii=False)


def locate_manifest(directory: Path) -> tuple[Path, Path, dict[str, Any]]:
    """(manifest path, run folder, manifest) for a run folder or its ``report/`` folder."""
    directory = Path(directory)
    path = directory / MANIFEST_FILE
    if directory.is_file() and directory.name == MANIFEST_FILE:
        path, directory = directory, directory.parent
    manifest = read_manifest(path)
    if manifest is None:
        raise ReportError(
            "no readable manifest.json (schema version 1) in this folder",
            path=str(path),
            fix="pass a run folder or its report/ folder written by oca demo, oca run or oca report build",
        )
    run_dir = (directory / manifest.get("run_dir", ".")).resolve()
    return path, run_dir, manifest


def _resolve_data(manifest: Mapping[str, Any], run_dir: Path,
                  overrides: Mapping[str, Path]) -> dict[str, Path]:
    data: dict[str, Path] = {}
    for name, record in (manifest.get("data") or {}).items():
        if name in overrides:
            data[name] = Path(overrides[name])
            continue
        recorded = record.get("path") if isinstance(record, Mapping) else None
        if not recorded:
            raise DataError(f"the manifest has no file for source '{name}' (it was given as a DataFrame)",
                            fix=f"pass --data {name}=PATH")
        candidate = Path(recorded)
        candidate = candidate if candidate.is_absolute() else run_dir / candidate
        if not candidate.is_file():
            raise DataError(f"data file of source '{name}' not found where the manifest says",
                            file=str(candidate), fix=f"pass --data {name}=PATH")
        data[name] = candidate
    unknown = sorted(set(overrides) - set(data))
    if unknown:
        raise DataError(f"--data names source '{unknown[0]}', which the manifest does not record",
                        fix=f"use one of: {', '.join(sorted(data))}")
    return data


def _compare_study(manifest: Mapping[str, Any], current: Mapping[str, Any]) -> list[Difference]:
    recorded = manifest.get("study") or {}
    out: list[Difference] = []

    def check(label: str, old: Any, new: Any) -> None:
        if old != new:
            out.append(Difference("study", label, old, new,
                                  "changed since the build" if old and new else "added or removed since the build"))

    check("study.yaml", recorded.get("study_yaml"), current.get("study_yaml"))
    for group in ("specs", "contracts"):
        old_group, new_group = recorded.get(group) or {}, current.get(group) or {}
        for key in sorted(set(old_group) | set(new_group)):
            old, new = old_group.get(key) or {}, new_group.get(key) or {}
            check(old.get("file") or new.get("file") or key, old.get("sha256"), new.get("sha256"))
    for group in ("analysis", "registry"):
        old_files, new_files = recorded.get(group) or {}, current.get(group) or {}
        for key in sorted(set(old_files) | set(new_files)):
            check(key, old_files.get(key), new_files.get(key))
    old_nb, new_nb = recorded.get("report_notebook") or {}, current.get("report_notebook") or {}
    check(old_nb.get("file") or "report notebook", old_nb.get("sha256"), new_nb.get("sha256"))
    return out


def _leaves(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """Flatten results.json into (path, leaf); lists of records are keyed by their id/source, not position."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in _LOCATION_KEYS:
                continue
            yield from _leaves(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            name = None
            if isinstance(item, Mapping):
                name = item.get("id") or item.get("source")
            yield from _leaves(item, f"{prefix}[{name or position}]")
    else:
        yield prefix, value


def _results_leaves(results: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in results.items():
        if key == "hypotheses" and isinstance(value, list):
            for h in value:  # "h1_horizontal_trust.estimate" reads better than "hypotheses[h1…].estimate"
                if isinstance(h, Mapping):
                    flat.update(_leaves(h, str(h.get("id"))))
        else:
            flat.update(_leaves(value, key))
    return flat


def _equal(old: Any, new: Any, *, rtol: float, atol: float) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return old == new
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        if math.isnan(old) and math.isnan(new):
            return True
        return old == new or math.isclose(old, new, rel_tol=rtol, abs_tol=atol)
    return old == new


def compare_results(recorded: Mapping[str, Any], rebuilt: Mapping[str, Any], *, rtol: float = 0.0,
                    atol: float = 0.0) -> tuple[list[Difference], int]:
    """Differences between two results.json payloads, leaf by leaf; also the number of leaves compared."""
    old, new = _results_leaves(recorded), _results_leaves(rebuilt)
    differences: list[Difference] = []
    for key in old.keys() | new.keys():
        if key not in new:
            differences.append(Difference("missing", key, old[key], None, "recorded but not in the rebuild"))
        elif key not in old:
            differences.append(Difference("missing", key, None, new[key], "in the rebuild but not recorded"))
        elif not _equal(old[key], new[key], rtol=rtol, atol=atol):
            kind = "number" if isinstance(old[key], (int, float)) and not isinstance(old[key], bool) else "value"
            differences.append(Difference(kind, key, old[key], new[key]))
    order = {key: i for i, key in enumerate(old)}
    differences.sort(key=lambda d: order.get(d.where, len(order)))
    return differences, len(old.keys() & new.keys())


def verify_run(directory: str | Path, *, rebuild: Callable[..., Any], study_dir: str | Path | None = None,
               data: Mapping[str, Path] | None = None, rtol: float = 0.0, atol: float = 0.0,
               keep: Path | None = None) -> VerifyResult:
    """Rebuild the run recorded in ``directory`` (a run folder or its report/) and list what differs.

    ``study_dir`` and ``data`` override the manifest's inputs (for a study or data moved since the build).
    ``keep`` copies the rebuild there for inspection. ``rebuild`` writes a run folder as a build does (the api's
    ``run_to_directory``, passed in so that the report never imports the layer above it). Raises ``ReportError``/``DataError`` when the manifest or
    an input cannot be found; differences are returned, not raised.
    """
    from oca_experiments.report._manifest import _study_files
    from oca_experiments.runner import load_study

    manifest_path, run_dir, manifest = locate_manifest(Path(directory))
    differences: list[Difference] = []
    notes: list[str] = []

    results_path = run_dir / RESULTS_FILE
    if not results_path.is_file():
        raise ReportError("results.json of the run not found next to its manifest", path=str(results_path),
                          fix="pass the run folder that holds results.json and manifest.json")
    recorded_hash = (manifest.get("outputs") or {}).get(RESULTS_FILE)
    if recorded_hash and sha256_file(results_path) != recorded_hash:
        differences.append(Difference("output", RESULTS_FILE, note="edited after the build (its SHA-256 differs "
                                                                   "from the manifest)"))
    recorded = json.loads(results_path.read_text(encoding="utf-8"))

    study_path = Path(study_dir) if study_dir is not None else Path((manifest.get("study") or {}).get("path", ""))
    if not (study_path / "study.yaml").is_file():
        raise ReportError("the study folder recorded in the manifest has no study.yaml", path=str(study_path),
                          fix="pass --study DIR with the study folder the run was built from")
    study = load_study(study_path)
    differences += _compare_study(manifest, _study_files(study))

    inputs = _resolve_data(manifest, run_dir, data or {})
    for name, path in inputs.items():
        old = ((manifest.get("data") or {}).get(name) or {}).get("sha256")
        new = sha256_file(path)
        if old != new:
            shown = (manifest["data"][name].get("path") or name) if name not in (data or {}) else str(path)
            differences.append(Difference("data", f"data file of source '{name}' ({shown})", old, new,
                                          "SHA-256 differs from the manifest"))

    scratch = Path(tempfile.mkdtemp(prefix="oca-verify-"))
    try:
        rebuild(study, inputs, scratch / "run", build_html=(run_dir / REPORT_DIR).is_dir(),
                annotate=manifest.get("annotate") or None, reuse=False)
        rebuilt = json.loads((scratch / "run" / RESULTS_FILE).read_text(encoding="utf-8"))
        number_differences, n_compared = compare_results(recorded, rebuilt, rtol=rtol, atol=atol)
        differences += number_differences
        old_html, new_html = run_dir / REPORT_DIR / INDEX_HTML, scratch / "run" / REPORT_DIR / INDEX_HTML
        if old_html.is_file() and new_html.is_file() and sha256_file(old_html) != sha256_file(new_html):
            notes.append("report/index.html differs from the rebuilt one byte for byte" +
                         ("" if number_differences else " although every number matches (e.g. other library "
                                                       "versions draw the figures differently)"))
        if keep is not None:
            shutil.copytree(scratch / "run", keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ids = tuple(str(h.get("id")) for h in recorded.get("hypotheses") or [] if isinstance(h, Mapping))
    return VerifyResult(manifest=manifest_path, differences=tuple(differences), notes=tuple(notes),
                        n_compared=n_compared, hypotheses=ids)
