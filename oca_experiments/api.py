"""The library's entry points: a study's in-memory pipeline composed with files, report, reuse and the run's
side effects.

``load_study`` and ``Study.run`` come from the pipeline (``runner.py``), which returns a ``RunResult`` and writes
nothing. Here: ``run_to_directory`` (results.json, manifest.json, artifacts/, report/, reuse of an unchanged run),
``run_demo``, ``verify_run`` (``oca report verify``) and ``run_gate`` (``oca check``). The CLI calls these; nothing
below this module imports it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._atomic import atomic_write_bytes, atomic_write_json, staged_directory
from ._layout import ARTIFACTS_DIR, MANIFEST_FILE, REPORT_DIR, RESULTS_FILE
from .demo import DEFAULT_SEED, generate_demo
from .errors import DataError
from .results import RunResult
from .runner import DataInput, Study, require_report_notebook
from .runner import load_study as _plan_study
from .runtime import RunSettings

__all__ = ["DataInput", "RunSettings", "Study", "demo_study_dir", "load_study", "run_demo", "run_gate",
           "run_to_directory", "verify_run"]


def load_study(path: str | Path, *, settings: RunSettings | None = None) -> Study:
    """Parse and plan a study folder (``SpecError`` names file and field on any bad spec). Its runs use
    ``settings`` for caches, warm-up and progress; by default the environment's (``RunSettings.from_environment``:
    the user's cache folder unless ``OCA_CACHE=off`` or ``OCA_CACHE_DIR``, warm-up and progress on)."""
    return _plan_study(path, settings=settings if settings is not None else RunSettings.from_environment())


def _write_artifacts(run: RunResult, stage: Path) -> None:
    """Files estimators returned (e.g. a posterior's NetCDF, check plots), under ``stage/artifacts/``."""
    for hypothesis in run.hypotheses:
        for relative, content in (hypothesis.result.artifacts if hypothesis.result is not None else {}).items():
            parts = Path(relative).parts
            if not parts or parts[0] != ARTIFACTS_DIR or ".." in parts or Path(relative).is_absolute():
                raise ValueError(f"artifact path {relative!r} must lie under {ARTIFACTS_DIR}/")
            target = stage.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, content)


class _ReportKernelLauncher:
    """Starts the report's kernel once the run's inputs have passed their checks (``Study.run`` calls ``start``
    after the data are read and the contracts run, before the first hypothesis), so that its start-up and the
    notebook's imports overlap the fits, not the contract checks, and bad input never starts one
    (``report.ReportKernel``). Nothing starts when warm-up is off; ``close`` shuts an unused kernel down."""

    def __init__(self, study: Study, cwd: Path) -> None:
        settings = study.settings if study.settings is not None else RunSettings.from_environment()
        self._study, self._cwd, self._enabled = study, cwd, settings.warmup
        self.kernel: Any = None

    def start(self) -> None:
        if not self._enabled or self.kernel is not None:
            return
        from .report import ReportKernel, study_notebook

        self.kernel = ReportKernel.start(study_notebook(self._study.path, self._study.config.report), cwd=self._cwd)

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.close()


def _write_run_outputs(study: Study, run: RunResult, stage: Path, *, build_html: bool,
                       annotate: Mapping[str, Any] | None, data: Mapping[str, DataInput] | None = None,
                       run_dir: Path | None = None, kernel: Any = None) -> None:
    """results.json, artifacts/, manifest.json and report/ into ``stage`` (a fresh folder nobody reads yet)."""
    from . import _output_set
    from .report import build_report, collect_manifest, finish_manifest, study_notebook

    payload = run.to_dict()
    if annotate:
        payload.update(annotate)
    atomic_write_json(stage / RESULTS_FILE, payload)
    _output_set.fault_point("results_written")
    _write_artifacts(run, stage)
    _output_set.fault_point("artifacts_written")
    # Provenance before the report, so the report can show it; output hashes are added once the report exists.
    manifest = collect_manifest(study, payload, data or {}, run_dir=run_dir or stage, stage=stage, annotate=annotate)
    atomic_write_json(stage / MANIFEST_FILE, manifest)
    _output_set.fault_point("manifest_written")
    if build_html:
        build_report(stage, notebook=study_notebook(study.path, study.config.report), out_dir=stage / REPORT_DIR,
                     kernel=kernel)
        _output_set.fault_point("report_built")
    finish_manifest(manifest, stage, build_html=build_html)
    _output_set.fault_point("manifest_finished")


def run_to_directory(study: Study, data: Mapping[str, DataInput], out_dir: str | Path, *, build_html: bool = True,
                     show_values: bool = False, annotate: Mapping[str, Any] | None = None,
                     reuse: bool = True) -> RunResult:
    """Run the study and write ``results.json``, ``manifest.json``, ``report/`` (and ``artifacts/``) into ``out_dir``.

    The destination is checked and locked before any work (``OutputError``: not a folder, not writable, another run
    holds it). The whole set is built in a new run folder and switched in with one atomic rename, so the previous
    set stays as it was until the new one is complete (see ``_output_set``); what a killed run left is removed
    first. Other files in ``out_dir`` (for example the input data) are left alone. With ``reuse``, a previous run
    in ``out_dir`` whose manifest shows the same inputs is returned instead of recomputed.
    """
    from ._output_set import OutputSet
    from .report import reuse_outputs

    if build_html:
        require_report_notebook(study)
    outputs = OutputSet(out_dir)
    outputs.prepare()
    try:
        with outputs.lock():
            outputs.clean_stale()
            if reuse and not show_values:
                reused = reuse_outputs(study, data, outputs.out, build_html=build_html, annotate=annotate)
                if reused is not None:
                    return reused
            launcher = _ReportKernelLauncher(study, outputs.out) if build_html else None
            try:
                run = study.run(data, show_values=show_values,
                                on_inputs_checked=launcher.start if launcher is not None else None)
                with outputs.new_version() as version:
                    _write_run_outputs(study, run, version, build_html=build_html, annotate=annotate, data=data,
                                       run_dir=outputs.out, kernel=launcher.kernel if launcher else None)
            finally:
                if launcher is not None:
                    launcher.close()  # unless the report took it (a failed run: the kernel is not needed)
    except BaseException:
        outputs.discard_if_created()  # a first run that failed leaves no empty output folder
        raise
    return run


def run_demo(out_dir: str | Path, *, study_dir: str | Path | None = None, seed: int | None = None,
             build_html: bool = True, reuse: bool = True) -> RunResult:
    """Generate the embedded demo's data, run its study and build the report, all into ``out_dir``.

    ``out_dir`` is owned by the demo and replaced as a whole, only when everything succeeded. With ``reuse``,
    a previous demo in ``out_dir`` built from the same code, seed and study files is returned as it is.
    """
    from .report import reuse_demo_outputs

    study = load_study(study_dir if study_dir is not None else demo_study_dir())
    if reuse:
        reused = reuse_demo_outputs(study, Path(out_dir), seed=DEFAULT_SEED if seed is None else seed,
                                    build_html=build_html)
        if reused is not None:
            return reused
    with staged_directory(out_dir) as stage:
        launcher = _ReportKernelLauncher(study, stage) if build_html else None
        try:
            files = generate_demo(stage / "data", seed=DEFAULT_SEED if seed is None else seed)
            data = {"survey": files.survey, "engagement": files.engagement, "community": files.community}
            run = study.run(data, on_inputs_checked=launcher.start if launcher is not None else None)
            truth = json.loads(Path(files.truth).read_text(encoding="utf-8"))
            annotate = {"truth": truth.get("hypotheses", {}), "demo_seed": truth.get("seed")}
            _write_run_outputs(study, run, stage, build_html=build_html, annotate=annotate, data=data,
                               run_dir=Path(out_dir), kernel=launcher.kernel if launcher else None)
        finally:
            if launcher is not None:
                launcher.close()
    return run


def demo_study_dir() -> Path:
    """The embedded demo study: the repository root in a source checkout."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "_demo_study", package_dir.parent):
        if (candidate / "study.yaml").is_file() and (candidate / "hypotheses").is_dir():
            return candidate
    raise DataError("the embedded demo study is not installed next to the package",
                    fix="run from a source checkout (pip install -e .) or pass --study DIR")


def verify_run(directory: str | Path, **options: Any) -> Any:
    """``oca report verify``: rebuild the run recorded in ``directory`` with ``run_to_directory`` and list what
    differs (``report.verify_run``; options as there)."""
    from .report import verify_run as verify

    return verify(directory, rebuild=run_to_directory, **options)


def run_gate(study_dir: str | Path, data: Mapping[str, Any], **options: Any) -> Any:
    """``oca check``: rerun the study on ``data`` and check lock, contracts, rerun, expected numbers and
    diagnostics (``report.run_gate``; options as there)."""
    from .report import run_gate as gate

    return gate(load_study(study_dir), data, **options)
