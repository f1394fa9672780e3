"""Provenance of a run: ``manifest.json``, and reuse of a previous run when nothing it depends on changed.

Every run writes ``RUN_DIR/manifest.json`` and a copy in ``RUN_DIR/report/manifest.json`` (so a report folder
says where it came from). The manifest records what decides the numbers and nothing that varies by the clock:

- ``study``: the folder, the SHA-256 of ``study.yaml``, of each spec, contract suite, ``analysis/`` file and the
  report notebook, and each spec's content (the report's methods section is generated from it);
- ``preregistration``: the lock state and the declared deviations (from ``oca_experiments.prereg`` when present);
- ``data``: per source the path (relative to the run folder when inside it), SHA-256, rows and columns;
- ``seeds``, ``annotate`` (extra keys merged into results.json, e.g. the demo's truth);
- ``environment``: Python and the version of every installed distribution; ``git``: the commit of the checkout;
- ``command``: the command line; ``outputs``: SHA-256 of results.json, report/index.html and artifacts/**;
- ``keys``: the cache keys. ``results`` hashes every input of the analysis (package code, dependency versions,
  study files, data, annotate); ``report`` adds the report notebook. A run whose keys match the manifest of the
  folder it would write, and whose outputs still hash as recorded, is reused instead of recomputed.

No timestamps: two builds of the same inputs give the same manifest apart from ``command`` and ``git``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oca_experiments._atomic import atomic_write_json
from oca_experiments._layout import ANALYSIS_DIR, ARTIFACTS_DIR, INDEX_HTML, MANIFEST_FILE, REPORT_DIR, RESULTS_FILE

if TYPE_CHECKING:  # the runner imports this module lazily; importing it here at runtime would be circular
    from oca_experiments.results import RunResult
    from oca_experiments.runner import Study

__all__ = [
    "MANIFEST_FILE",
    "MANIFEST_SCHEMA_VERSION",
    "collect_manifest",
    "finish_manifest",
    "read_manifest",
    "reuse_demo_outputs",
    "reuse_outputs",
    "run_result_from_dict",
    "sha256_file",
]

MANIFEST_SCHEMA_VERSION = 1
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_HASH_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def package_code_sha256() -> str:
    """One hash over the package's own files: a code change (e.g. a new estimator) invalidates reuse."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in {".py", ".po", ".pot", ".json",
                                                                                  ".j2", ".yaml", ".stan"}:
            digest.update(path.relative_to(_PACKAGE_DIR).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Python and every installed distribution's version (sorted by normalised name)."""
    packages: dict[str, str] = {}
    # Once imported (e.g. by a cold numba/PyTensor compilation) setuptools puts its vendored packages
    # (setuptools/_vendor) on sys.path; they are not installed distributions and must not make a cold run's
    # manifest differ from a warm one's.
    paths = [entry for entry in sys.path if "_vendor" not in Path(entry).parts]
    for dist in metadata.distributions(path=paths):
        name = dist.metadata.get("Name")
        if name:
            packages.setdefault(name.lower().replace("_", "-"), dist.version)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": f"{sys.platform}-{platform.machine()}",
        "packages": dict(sorted(packages.items())),
    }


def git_state(start: Path) -> dict[str, Any]:
    """The commit checked out around ``start``, read from ``.git`` directly (no git binary needed).

    Uncommitted edits are not visible this way; the file hashes in ``study`` are what pins the inputs.
    """
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                dot_git = (folder / text.partition(":")[2].strip()).resolve()
        if not dot_git.is_dir():
            continue
        try:
            head = (dot_git / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            return {"commit": None, "ref": None}
        if not head.startswith("ref:"):
            return {"commit": head or None, "ref": None}
        ref = head.partition(":")[2].strip()
        common = dot_git
        commondir = dot_git / "commondir"
        if commondir.is_file():
            common = (dot_git / commondir.read_text(encoding="utf-8").strip()).resolve()
        for base in (dot_git, common):
            ref_file = base / ref
            if ref_file.is_file():
                return {"commit": ref_file.read_text(encoding="utf-8").strip() or None, "ref": ref}
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                sha, _, name = line.partition(" ")
                if name.strip() == ref:
                    return {"commit": sha, "ref": ref}
        return {"commit": None, "ref": ref}  # a branch without commits yet
    return {"commit": None, "ref": None}


def _study_files(study: Study) -> dict[str, Any]:
    root = study.path
    specs = {s.spec.id: {"file": s.path, "sha256": sha256_file(root / s.path)} for s in study.specs}
    contracts = {s.name: {"file": s.contract_display, "sha256": sha256_file(s.contract)}
                 for s in study.plan.sources}
    analysis_dir = root / ANALYSIS_DIR
    analysis = {}
    if analysis_dir.is_dir():
        # Every file, not only *.py: study code may read a lookup table next to it, and what the run reads must
        # invalidate the cache when it changes (plan.py keeps function references inside this folder).
        analysis = {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(analysis_dir.rglob("*"))
                    if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}}
    # Other files next to the specs (the registry lock, the deviations log) change what the report says.
    spec_files = {s.path for s in study.specs}
    hypotheses_dir = root / "hypotheses"
    registry = {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(hypotheses_dir.rglob("*"))
                if p.is_file() and p.relative_to(root).as_posix() not in spec_files} if hypotheses_dir.is_dir() else {}
    from oca_experiments.report._build import study_notebook  # lazily: _build imports the Jupyter stack

    notebook = study_notebook(root, study.config.report)
    inside = notebook.resolve().is_relative_to(root.resolve())
    # The XLSForm's labels are recorded with the results: a changed form must rebuild them. Only present when a
    # source registers one, so that a study without forms keeps its keys.
    forms = {s.name: {"file": study.config.sources[s.name].xlsform, "sha256": sha256_file(s.xlsform)}
             for s in study.plan.sources if s.xlsform is not None}
    return {
        **({"xlsforms": forms} if forms else {}),
        "name": study.config.name,
        "path": str(root),
        "study_yaml": sha256_file(root / "study.yaml"),
        "specs": specs,
        "contracts": contracts,
        "analysis": analysis,
        "registry": registry,
        "report_notebook": {"file": notebook.resolve().relative_to(root.resolve()).as_posix() if inside
                            else "(built-in)",
                            "sha256": sha256_file(notebook) if notebook.is_file() else None},
    }


def _form_labels(study: Study) -> dict[str, Any]:
    """``labels``: per source with a registered XLSForm, the labels (every language) of the columns its
    hypotheses read, so the report shows them without opening the form. Absent when no source has a form."""
    from oca_experiments.io import read_form_labels

    labels = {}
    for source in study.plan.sources:
        if source.xlsform is None:
            continue
        columns = {c for spec_file in study.specs if spec_file.spec.id in source.hypotheses
                   for c in spec_file.spec.columns()}
        labels[source.name] = read_form_labels(source.xlsform, sorted(columns)).to_json()
    return {"labels": labels} if labels else {}


def _spec_contents(study: Study) -> dict[str, Any]:
    return {s.spec.id: s.spec.model_dump(mode="json") for s in study.specs}


def _preregistration(study: Study) -> dict[str, Any]:
    """Lock state and deviations (``available`` stays in the manifest format; it is always true now)."""
    from oca_experiments.prereg import manifest_state

    return {"available": True, **manifest_state(study.path)}


def _find_seeds(value: Any, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if "seed" in str(key).lower() and isinstance(item, (int, str)) and not isinstance(item, bool):
                found[path] = item
            else:
                found.update(_find_seeds(item, path))
    return found


def _data_paths(data: Mapping[str, Any]) -> dict[str, Path | None]:
    """Paths of file inputs; ``None`` for in-memory frames (they can be fingerprinted but not re-read)."""
    return {name: Path(value).resolve() if isinstance(value, (str, os.PathLike)) else None
            for name, value in data.items()}


def _display_path(path: Path | None, roots: tuple[Path, ...]) -> str | None:
    if path is None:
        return None
    for root in roots:
        try:
            return path.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def _data_section(results: Mapping[str, Any], data: Mapping[str, Any], roots: tuple[Path, ...]) -> dict[str, Any]:
    paths = _data_paths(data)
    section: dict[str, Any] = {}
    for name, fingerprint in (results.get("data") or {}).items():
        section[name] = {"path": _display_path(paths.get(name), roots), **dict(fingerprint)}
    return section


def _keys(study_files: Mapping[str, Any], data_hashes: Mapping[str, Any], annotate: Any) -> dict[str, str]:
    analysis_inputs = {
        "package": package_code_sha256(),
        "packages": environment()["packages"],
        "python": environment()["python"],
        "study": {k: v for k, v in study_files.items() if k not in {"path", "report_notebook"}},
        "data": dict(sorted(data_hashes.items())),
        "annotate": annotate,
    }
    results_key = _sha256_json(analysis_inputs)
    report_key = _sha256_json({"results": results_key, "notebook": study_files["report_notebook"]})
    return {"results": results_key, "report": report_key}


def collect_manifest(study: Study, results: Mapping[str, Any], data: Mapping[str, Any], *,
                     run_dir: Path, stage: Path | None = None, annotate: Mapping[str, Any] | None = None,
                     command: list[str] | None = None) -> dict[str, Any]:
    """Everything but the output hashes (``finish_manifest`` adds those once the outputs exist).

    ``run_dir`` is where the outputs end up; ``stage`` where they are being built (data files inside either are
    recorded relative to the run folder, so the folder can be moved).
    """
    run_dir = Path(run_dir)
    roots = tuple(p for p in (stage, run_dir) if p is not None)
    study_files = _study_files(study)
    data_section = _data_section(results, data, roots)
    annotate = json.loads(json.dumps(dict(annotate or {}), default=str))
    seeds = {**_find_seeds(_spec_contents(study), "specs"), **_find_seeds(annotate, "annotate")}
    for h in results.get("hypotheses") or []:
        seeds.update(_find_seeds(h.get("extras") or {}, f"results.{h.get('id')}.extras"))
    if command is None:
        command = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else []
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "oca_version": results.get("oca_version"),
        "study": study_files,
        "specs": _spec_contents(study),
        "preregistration": _preregistration(study),
        "data": data_section,
        **_form_labels(study),
        "seeds": seeds,
        "annotate": annotate,
        "environment": environment(),
        "package_sha256": package_code_sha256(),
        "git": git_state(study.path),
        "command": list(command),
        "keys": _keys(study_files, {k: v.get("sha256") for k, v in data_section.items()}, annotate),
        "outputs": {},
    }


def finish_manifest(manifest: dict[str, Any], stage: Path, *, build_html: bool) -> dict[str, Any]:
    """Record the output hashes and write ``manifest.json`` into ``stage`` (and ``stage/report`` when built)."""
    outputs = {RESULTS_FILE: sha256_file(stage / RESULTS_FILE)}
    index = stage / REPORT_DIR / INDEX_HTML
    if build_html and index.is_file():
        outputs[f"{REPORT_DIR}/{INDEX_HTML}"] = sha256_file(index)
        decision = stage / REPORT_DIR / "decision.html"  # the one-page decision summary (report/_decision.py)
        if decision.is_file():
            outputs[f"{REPORT_DIR}/decision.html"] = sha256_file(decision)
    artifacts = stage / ARTIFACTS_DIR  # estimators' files (posterior NetCDF, check plots): reuse needs them intact
    if artifacts.is_dir():
        outputs.update({p.relative_to(stage).as_posix(): sha256_file(p) for p in sorted(artifacts.rglob("*"))
                        if p.is_file()})
    manifest = {**manifest, "outputs": outputs}
    atomic_write_json(stage / MANIFEST_FILE, manifest)
    if (stage / REPORT_DIR).is_dir():
        atomic_write_json(stage / REPORT_DIR / MANIFEST_FILE, {**manifest, "run_dir": ".."})
    return manifest


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest at ``path``, or ``None`` when absent or unreadable (reuse then simply does not happen)."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) and value.get("schema_version") == MANIFEST_SCHEMA_VERSION else None


# --- reuse -------------------------------------------------------------------------------------------------------

def _outputs_intact(manifest: Mapping[str, Any], run_dir: Path, name: str) -> bool:
    recorded = (manifest.get("outputs") or {}).get(name)
    path = run_dir / name
    return bool(recorded) and path.is_file() and sha256_file(path) == recorded


def reuse_outputs(study: Study, data: Mapping[str, Any], run_dir: Path, *, build_html: bool,
                  annotate: Mapping[str, Any] | None = None) -> RunResult | None:
    """The previous run in ``run_dir`` when every input is unchanged, else ``None``.

    When only the report notebook changed, the results are reused and the report is rebuilt from them.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir / MANIFEST_FILE)
    paths = _data_paths(data)
    if manifest is None or any(p is None or not p.is_file() for p in paths.values()):
        return None
    if set(paths) != set(manifest.get("data") or {}):
        return None
    study_files = _study_files(study)
    annotate_json = json.loads(json.dumps(dict(annotate or {}), default=str))
    keys = _keys(study_files, {name: sha256_file(path) for name, path in paths.items() if path}, annotate_json)
    if (manifest.get("keys") or {}).get("results") != keys["results"]:
        return None
    recorded_outputs = manifest.get("outputs") or {}
    if not _outputs_intact(manifest, run_dir, RESULTS_FILE) or not all(
            _outputs_intact(manifest, run_dir, name) for name in recorded_outputs
            if name.startswith(f"{ARTIFACTS_DIR}/")):
        return None
    results = json.loads((run_dir / RESULTS_FILE).read_text(encoding="utf-8"))
    report_current = (manifest["keys"].get("report") == keys["report"]
                      and _outputs_intact(manifest, run_dir, f"{REPORT_DIR}/{INDEX_HTML}")
                      and (run_dir / REPORT_DIR / MANIFEST_FILE).is_file())
    if build_html and not report_current:
        _rebuild_report_only(study, manifest, run_dir, keys)
    return run_result_from_dict(results)


def _rebuild_report_only(study: Study, manifest: Mapping[str, Any], run_dir: Path, keys: Mapping[str, str]) -> None:
    """A new set with the same results and artifacts and a rebuilt report, switched in as a whole."""
    from oca_experiments._output_set import OutputSet
    from oca_experiments.report._build import build_report, study_notebook

    with OutputSet(run_dir).new_version(copy_from_current=(RESULTS_FILE, ARTIFACTS_DIR)) as version:
        build_report(version, notebook=study_notebook(study.path, study.config.report), out_dir=version / REPORT_DIR)
        updated = {**manifest, "study": _study_files(study), "keys": dict(keys), "git": git_state(study.path)}
        finish_manifest(updated, version, build_html=True)


def reuse_demo_outputs(study: Study, out_dir: Path, *, seed: int, build_html: bool) -> RunResult | None:
    """The previous demo in ``out_dir`` when it was built with this seed and nothing else changed.

    The generator is part of the package code hash, so the same code and seed give the same data: the data
    files in ``out_dir`` must still hash as recorded (an edited data file means a rebuild).
    """
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir / MANIFEST_FILE)
    if manifest is None or (manifest.get("annotate") or {}).get("demo_seed") != seed:
        return None
    data: dict[str, Path] = {}
    for name, record in (manifest.get("data") or {}).items():
        relative = record.get("path") if isinstance(record, Mapping) else None
        if not relative or Path(relative).is_absolute():
            return None
        data[name] = out_dir / relative
    return reuse_outputs(study, data, out_dir, build_html=build_html, annotate=manifest.get("annotate"))


def run_result_from_dict(payload: Mapping[str, Any]) -> RunResult:
    """Rebuild a read-only ``RunResult`` from results.json (the inverse of ``RunResult.to_dict``)."""
    from oca_experiments.results import RunResult

    return RunResult.from_dict(payload)
