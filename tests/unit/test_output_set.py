"""The output folder of ``run_to_directory`` (issue 18 items 5, 11, 12, 13; acceptance 2).

Faults are injected at every write step through ``_output_set.fault_point`` - as an exception (the run cleans up)
and as a kill (``os._exit`` in a forked child: no cleanup code runs) - never by timing. After each, the last good
output must be intact and consistent (results.json, manifest.json, report/ and artifacts/ of one run), and no
staging may be left once the next run has started.

Estimation and the notebook are replaced by stubs here (they are not what is tested): ``Study.run`` returns a fixed
result and the report is a small page naming the run's generation.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest

from oca_experiments import _output_set, api, runner
from oca_experiments._output_set import CONTROL_DIR, OutputSet
from oca_experiments.errors import OutputError
from oca_experiments.report._manifest import run_result_from_dict

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "unit" / "fixtures" / "report" / "results.json"
STEPS = ("version_created", "results_written", "artifacts_written", "manifest_written", "report_built",
         "manifest_finished", "before_links", "before_pointer", "after_pointer", "published")
#: Steps after which the new set is the current one (the pointer has moved).
SWITCHED = {"after_pointer", "published"}


@pytest.fixture(scope="module")
def study():
    return runner.load_study(REPO)


@pytest.fixture()
def stubbed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Study.run returns the fixture result (counting calls); the report and artifacts name the generation."""
    calls: list[int] = []
    fixed = run_result_from_dict(json.loads(FIXTURE.read_text(encoding="utf-8")))

    def fake_run(self, data, *, show_values=False, on_inputs_checked=None):  # no kernel: the report is a stub
        calls.append(1)
        return fixed

    def fake_report(run_dir, *, notebook, out_dir, timeout=600, kernel=None):
        generation = json.loads((Path(run_dir) / "results.json").read_text(encoding="utf-8"))["generation"]
        out_dir.mkdir()
        (out_dir / "index.html").write_text(f"<html>generation {generation}</html>\n", encoding="utf-8")
        return out_dir / "index.html"

    def fake_artifacts(run, stage):
        generation = json.loads((stage / "results.json").read_text(encoding="utf-8"))["generation"]
        (stage / "artifacts").mkdir()
        (stage / "artifacts" / "draws.txt").write_text(f"generation {generation}\n", encoding="utf-8")

    monkeypatch.setattr(runner.Study, "run", fake_run)
    monkeypatch.setattr("oca_experiments.report.build_report", fake_report)
    monkeypatch.setattr(api, "_write_artifacts", fake_artifacts)
    return calls


def _run(study, out: Path, generation: int, *, build_html: bool = True) -> None:
    api.run_to_directory(study, {}, out, annotate={"generation": generation}, reuse=False, build_html=build_html)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _generation(out: Path) -> int:
    """The generation of the set a reader sees, after checking that the set is one run's, complete."""
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    generation = results["generation"]
    assert manifest["annotate"]["generation"] == generation
    assert manifest["outputs"]["results.json"] == _sha(out / "results.json")
    assert manifest["outputs"]["report/index.html"] == _sha(out / "report" / "index.html")
    assert (out / "report" / "index.html").read_text(encoding="utf-8") == f"<html>generation {generation}</html>\n"
    assert (out / "artifacts" / "draws.txt").read_text(encoding="utf-8") == f"generation {generation}\n"
    assert json.loads((out / "report" / "manifest.json").read_text(encoding="utf-8"))["annotate"] == \
        {"generation": generation}
    return generation


def _staging_left(out: Path) -> list[str]:
    outputs = OutputSet(out)
    current = outputs.current()
    left = [p.name for p in outputs.runs.iterdir() if current is None or p.name != current.name]
    for folder in (out, outputs.control, *([current] if current else [])):
        left += [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != CONTROL_DIR]
    return left


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_any_write_step_keeps_the_last_good_output(study, stubbed, tmp_path, monkeypatch, step):
    out = tmp_path / "out"
    _run(study, out, 1)
    assert _generation(out) == 1

    def fail(name: str) -> None:
        if name == step:
            raise RuntimeError(f"injected at {name}")

    monkeypatch.setattr(_output_set, "fault_point", fail)
    with pytest.raises(RuntimeError, match="injected"):
        _run(study, out, 2)
    assert _generation(out) == (2 if step in SWITCHED else 1)
    assert _staging_left(out) == []


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to kill a run mid-write")
@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_any_write_step_keeps_the_last_good_output_and_the_next_run_cleans_up(
        study, stubbed, tmp_path, monkeypatch, step):
    out = tmp_path / "out"
    _run(study, out, 1)

    def kill(name: str) -> None:
        if name == step:
            os._exit(9)  # no finally, no except: what SIGKILL leaves

    pid = os.fork()
    if pid == 0:  # the child: a run that dies at `step`
        try:
            monkeypatch.setattr(_output_set, "fault_point", kill)
            _run(study, out, 2)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9, "the child did not reach the step"
    assert _generation(out) == (2 if step in SWITCHED else 1)  # readers never see a mixed or partial set
    monkeypatch.setattr(_output_set, "fault_point", lambda name: None)
    _run(study, out, 3)
    assert _generation(out) == 3
    assert _staging_left(out) == []


def test_the_set_switches_as_a_whole_and_old_runs_go(study, stubbed, tmp_path):
    out = tmp_path / "out"
    (tmp_path / "out").mkdir()
    (out / "survey.csv").write_text("kept\n", encoding="utf-8")  # other files in OUT are left alone
    for generation in (1, 2, 3):
        _run(study, out, generation)
        assert _generation(out) == generation
    assert len(list(OutputSet(out).runs.iterdir())) == 1
    assert (out / "survey.csv").read_text(encoding="utf-8") == "kept\n"
    _run(study, out, 4, build_html=False)  # a set without a report has none: no stale report beside new results
    assert not (out / "report").exists() and json.loads((out / "results.json").read_text())["generation"] == 4


def test_stale_staging_of_older_versions_is_removed_and_never_read(study, stubbed, tmp_path):
    out = tmp_path / "out"
    _run(study, out, 1)
    stale = out / ".oca-run-abc123"
    stale.mkdir()
    (stale / "results.json").write_text('{"generation": 99}', encoding="utf-8")
    (out / ".report.staging-123-abcd").mkdir()
    (OutputSet(out).runs / "deadbeef").mkdir()
    assert _generation(out) == 1
    _run(study, out, 2)
    assert _staging_left(out) == [] and not stale.exists()


def test_an_output_folder_of_an_older_oca_is_taken_over(study, stubbed, tmp_path):
    out = tmp_path / "out"
    _run(study, out, 1)
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in ("results.json", "manifest.json", "report", "artifacts"):  # real files, as older versions wrote
        source = out / name
        if source.is_dir():
            import shutil

            shutil.copytree(source, legacy / name)
        else:
            (legacy / name).write_bytes(source.read_bytes())
    _run(study, legacy, 2)
    assert _generation(legacy) == 2 and (legacy / "results.json").is_symlink()


def test_the_destination_is_checked_before_any_work(study, stubbed, tmp_path):
    a_file = tmp_path / "out.txt"
    a_file.write_text("not a folder", encoding="utf-8")
    with pytest.raises(OutputError, match="--out names a file") as err:
        _run(study, a_file, 1)
    assert err.value.exit_code == 4 and str(a_file) in str(err.value) and "Fix:" in str(err.value)
    with pytest.raises(OutputError, match="is a file"):
        _run(study, a_file / "sub", 1)
    assert stubbed == []  # nothing was estimated


def test_a_full_disk_leaves_nothing_behind(study, stubbed, tmp_path, monkeypatch):
    def full(name: str) -> None:
        if name == "results_written":
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_output_set, "fault_point", full)
    out = tmp_path / "new" / "out"
    with pytest.raises(OutputError, match="the disk is full") as err:
        _run(study, out, 1)
    assert err.value.exit_code == 4 and "free disk space" in str(err.value)
    assert not out.exists()  # no empty out/ left behind


def test_a_concurrent_run_into_the_same_folder_fails_naming_the_holder(study, stubbed, tmp_path):
    out = tmp_path / "out"
    _run(study, out, 1)
    outputs = OutputSet(out)
    with outputs.lock():
        with pytest.raises(OutputError, match=f"another oca run \\(pid {os.getpid()}\\)") as err:
            _run(study, out, 2)
    assert err.value.exit_code == 4 and "another --out" in str(err.value)
    assert stubbed == [1]  # the loser estimated nothing
    assert _generation(out) == 1
    _run(study, out, 2)  # released: the next run proceeds
    assert _generation(out) == 2


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork for a second process")
def test_the_lock_holds_against_another_process(study, stubbed, tmp_path):
    out = tmp_path / "out"
    _run(study, out, 1)
    ready_read, ready_write = os.pipe()
    done_read, done_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            with OutputSet(out).lock():
                os.write(ready_write, b"1")
                os.read(done_read, 1)  # hold the lock until the parent has tried
        finally:
            os._exit(0)
    os.read(ready_read, 1)
    try:
        with pytest.raises(OutputError, match=f"pid {pid}"):
            _run(study, out, 2)
    finally:
        os.write(done_write, b"1")
        os.waitpid(pid, 0)
    assert _generation(out) == 1


def test_a_run_that_fails_before_writing_leaves_no_empty_folder(study, stubbed, tmp_path, monkeypatch):
    from oca_experiments.errors import DataError

    def bad_data(self, data, *, show_values=False, on_inputs_checked=None):
        raise DataError("the data file does not exist", file="survey.csv")

    monkeypatch.setattr(runner.Study, "run", bad_data)
    out = tmp_path / "fresh"
    with pytest.raises(DataError):
        _run(study, out, 1)
    assert not out.exists()
    out.mkdir()  # a folder the user made stays, even when the run failed
    with pytest.raises(DataError):
        _run(study, out, 1)
    assert out.is_dir()
