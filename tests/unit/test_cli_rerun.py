"""A rerun with nothing changed answers before the scientific stack is imported (issue 21, ``_cli_rerun``).

Not timed: the tests check *whether* the estimation ran (``Study.run`` is replaced by a counting stub, as in
test_output_set.py) and *which* modules a fresh interpreter loaded. Every kind of change (data, spec, registry lock,
analysis code, a new spec file, options, package code, installed distributions, the outputs) must reach the full
command again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oca_experiments import __main__ as entry
from oca_experiments import _cli_rerun, api, runner
from oca_experiments.report._manifest import run_result_from_dict

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "unit" / "fixtures" / "report" / "results.json"
PAST = 1_600_000_000  # inputs older than the command's start (a file changed while a run reads it is not stamped)
HEAVY = ("numpy", "pandas", "scipy", "pydantic", "yaml", "typer", "click", "rich", "great_expectations", "pymc",
         "nutpie", "arviz", "statsmodels", "matplotlib", "oca_experiments.cli", "oca_experiments.runner")


def _age(path: Path, offset: int = 0) -> None:
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(item, (PAST + offset, PAST + offset))


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo study with two small data files, an output folder and its own cache; cwd is the copy."""
    study = tmp_path / "study"
    study.mkdir()
    for name in ("study.yaml",):
        shutil.copy2(REPO / name, study / name)
    for folder in ("hypotheses", "analysis", "data_contracts", "reports"):
        shutil.copytree(REPO / folder, study / folder, ignore=shutil.ignore_patterns("__pycache__", "*.html"))
    (tmp_path / "survey.csv").write_text("id,y\n1,2\n", encoding="utf-8")
    (tmp_path / "engagement.csv").write_text("page,day\n1,1\n", encoding="utf-8")
    for item in (study, tmp_path / "survey.csv", tmp_path / "engagement.csv"):
        _age(item)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OCA_CACHE", raising=False)
    _cli_rerun.forget()
    yield tmp_path
    _cli_rerun.forget()


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``Study.run`` returns the fixture result and counts its calls; the report is a small page."""
    counted: list[int] = []
    fixed = run_result_from_dict(json.loads(FIXTURE.read_text(encoding="utf-8")))

    def fake_run(self, data, *, show_values=False, on_inputs_checked=None):  # no kernel: the report is a stub
        counted.append(1)  # the data as the loader would have read them (the stamp checks the files still match)
        return dataclasses.replace(fixed, data={name: {"sha256": _cli_rerun.sha256_file(str(path))}
                                                for name, path in data.items()})

    def fake_report(run_dir, *, notebook, out_dir, timeout=600, kernel=None):
        out_dir.mkdir()
        (out_dir / "index.html").write_text("<html>report</html>\n", encoding="utf-8")
        return out_dir / "index.html"

    monkeypatch.setattr(runner.Study, "run", fake_run)
    monkeypatch.setattr("oca_experiments.report.build_report", fake_report)
    monkeypatch.setattr(api, "_write_artifacts", lambda run, stage: None)
    return counted


@pytest.fixture()
def reached(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the calls that reached the full command line (no answer from the stamp); its own reuse check may
    still reuse the results, which is right for changes that do not touch them (another option, another code
    version whose numbers are the same is its decision, not the stamp's)."""
    import oca_experiments.cli as cli

    counted: list[int] = []
    real = cli.main
    monkeypatch.setattr(cli, "main", lambda: counted.append(1) or real())
    return counted


ARGS = ["run", "study", "-d", "survey=survey.csv", "-d", "engagement=engagement.csv", "--out", "out", "--no-report"]


def _oca(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``oca ARGS`` in this process through the console script's entry point: (exit code, stdout)."""
    monkeypatch.setattr(sys, "argv", ["oca", *args])
    _cli_rerun.forget()
    capsys.readouterr()
    try:
        entry.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, capsys.readouterr().out


def _stamped(workspace: Path) -> list[Path]:
    return sorted((workspace / "cache" / "rerun").glob("*.json"))


def test_an_unchanged_rerun_prints_the_same_answer_without_running(workspace, calls, monkeypatch, capsys) -> None:
    code, first = _oca(ARGS, monkeypatch, capsys)
    assert code == 0 and len(calls) == 1 and len(_stamped(workspace)) == 1
    before = {p: p.stat().st_mtime_ns for p in (workspace / "out").rglob("*") if p.is_file()}

    import oca_experiments.cli as cli

    monkeypatch.setattr(cli, "main", lambda: pytest.fail("the full command line ran on an unchanged rerun"))
    code, again = _oca(ARGS, monkeypatch, capsys)
    assert code == 0 and len(calls) == 1
    assert again == first and "wrote" in again and "h1_horizontal_trust" in again
    assert {p: p.stat().st_mtime_ns for p in (workspace / "out").rglob("*") if p.is_file()} == before


def _edit(path: Path, text: str = "\n# edited\n") -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
    _age(path, offset=10)


CHANGES = {
    "data": lambda ws: _edit(ws / "survey.csv", "3,4\n"),
    "data, same size and time": lambda ws: (ws / "survey.csv").write_text("id,y\n1,3\n", encoding="utf-8")
    or _age(ws / "survey.csv"),
    "spec": lambda ws: _edit(ws / "study" / "hypotheses" / "h1_horizontal_trust.yaml"),
    "registry lock": lambda ws: _edit(ws / "study" / "hypotheses" / "registry.lock.json", " "),
    "study.yaml": lambda ws: _edit(ws / "study" / "study.yaml"),
    "data contract": lambda ws: _edit(ws / "study" / "data_contracts" / "survey.json", " "),
    "analysis code": lambda ws: _edit(ws / "study" / "analysis" / "engagement.py"),
    "new file next to the specs": lambda ws: _age(ws / "study" / "hypotheses" / "notes.txt")
    if (ws / "study" / "hypotheses" / "notes.txt").write_text("x", encoding="utf-8") else None,
    "report notebook": lambda ws: _edit(ws / "study" / "reports" / "report.ipynb", " "),
    "report notebook created": lambda ws: _age(ws / "study" / "reports" / "report.ipynb")
    if shutil.move(ws / "study" / "reports" / "report.ipynb.off", ws / "study" / "reports" / "report.ipynb") else None,
    "output edited": lambda ws: (ws / "out" / "results.json").write_text("{}", encoding="utf-8"),
    "output removed": lambda ws: (ws / "out" / "manifest.json").unlink(),
}


#: Changes that leave the results' inputs alone: the full command runs, and its own check reuses the results
#: (with --no-report the notebook is not used).
RESULTS_REUSED = {"report notebook", "report notebook created"}


@pytest.mark.parametrize("change", list(CHANGES))
def test_any_change_runs_the_full_command_again(change, workspace, calls, reached, monkeypatch, capsys) -> None:
    if change == "report notebook created":  # the built-in notebook stands in until the study has its own
        (workspace / "study" / "reports" / "report.ipynb").rename(workspace / "study" / "reports" / "report.ipynb.off")
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and len(calls) == 1  # stamped, then answered from the stamp
    assert len(reached) == 1
    CHANGES[change](workspace)
    code, _ = _oca(ARGS, monkeypatch, capsys)
    assert code == 0 and len(reached) == 2, f"{change}: answered from the stamp"
    assert len(calls) == (1 if change in RESULTS_REUSED else 2), f"{change}: the estimation did not run again"


@pytest.mark.parametrize("options", [
    [*ARGS[:-1]],  # with the report
    [*ARGS, "--strict"],
    [*ARGS[:-3], "--out", "elsewhere", "--no-report"],
    ["run", "study", "-d", "survey=survey.csv", "-d", "engagement=engagement.csv", "--no-report", "--out", "out"],
], ids=["report", "strict", "other-out", "reordered"])
def test_other_options_are_not_answered_from_the_stamp(options, workspace, calls, reached, monkeypatch,
                                                      capsys) -> None:
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and reached == [1]
    _oca(options, monkeypatch, capsys)
    assert reached == [1, 1]


def test_another_oca_environment_variable_is_another_command(workspace, calls, reached, monkeypatch,
                                                             capsys) -> None:
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0
    monkeypatch.setenv("OCA_BAYES_BACKEND", "pymc")
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and len(reached) == 2


def test_package_code_and_installed_distributions_are_part_of_the_stamp(workspace, calls, reached, monkeypatch,
                                                                       capsys, tmp_path) -> None:
    code_copy = tmp_path / "package"
    shutil.copytree(_cli_rerun.PACKAGE_DIR, code_copy, ignore=shutil.ignore_patterns("__pycache__"))
    _age(code_copy)
    monkeypatch.setattr(_cli_rerun, "PACKAGE_DIR", str(code_copy))
    site = tmp_path / "site"
    (site / "somelib-1.0.dist-info").mkdir(parents=True)
    _age(site)
    monkeypatch.syspath_prepend(str(site))
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and len(reached) == 1

    _edit(code_copy / "_version.py", "__version__ = '9.9.9'\n")  # a new version (or any code edit)
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and len(reached) == 2
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and len(reached) == 2  # stamped again

    (site / "somelib-1.0.dist-info").rename(site / "somelib-1.1.dist-info")  # a dependency upgraded
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and len(reached) == 3


def test_an_input_changed_during_the_run_is_not_stamped(workspace, calls, reached, monkeypatch, capsys) -> None:
    (workspace / "survey.csv").touch()  # modified "now": the run may have read the old or the new content
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0
    assert _stamped(workspace) == []
    _age(workspace / "survey.csv")
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and len(_stamped(workspace)) == 1 and len(reached) == 2


def test_a_data_file_that_no_longer_hashes_as_it_was_read_is_not_stamped(workspace, calls, monkeypatch,
                                                                         capsys) -> None:
    real = runner.Study.run

    def run_then_edit(self, data, *, show_values=False, on_inputs_checked=None):
        result = real(self, data, show_values=show_values, on_inputs_checked=on_inputs_checked)
        (workspace / "survey.csv").write_text("id,y\n9,9\n", encoding="utf-8")  # edited after it was read...
        _age(workspace / "survey.csv")  # ...by a tool that keeps the old modification time
        return result

    monkeypatch.setattr(runner.Study, "run", run_then_edit)
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and len(calls) == 1
    assert _stamped(workspace) == []


def test_no_stamp_when_caches_are_off_or_a_run_holds_the_output_folder(workspace, calls, reached, monkeypatch,
                                                                      capsys) -> None:
    monkeypatch.setenv("OCA_CACHE", "off")
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and _oca(ARGS, monkeypatch, capsys)[0] == 0
    assert len(reached) == 2 and not (workspace / "cache").exists()
    monkeypatch.delenv("OCA_CACHE")
    assert _oca(ARGS, monkeypatch, capsys)[0] == 0 and len(reached) == 3 and len(_stamped(workspace)) == 1
    import fcntl

    with open(workspace / "out" / ".oca" / "lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert _cli_rerun.answer_unchanged(ARGS, str(workspace / "cache")) is None
    assert _cli_rerun.answer_unchanged(ARGS, str(workspace / "cache")) == 0


def test_the_answer_comes_without_importing_the_scientific_stack(workspace, calls, monkeypatch, capsys) -> None:
    code, first = _oca(ARGS, monkeypatch, capsys)
    assert code == 0 and len(_stamped(workspace)) == 1
    probe = ("import json, sys\nsys.argv = ['oca', *json.loads(sys.argv[1])]\n"
             "from oca_experiments.__main__ import main\ncode = 0\n"
             "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code or 0\n"
             "sys.stdout.flush()\nprint('@@' + json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(ARGS)], capture_output=True, text=True,
                          cwd=workspace, env=env, timeout=300, check=False)
    out, _, payload = done.stdout.rpartition("@@")
    result = json.loads(payload)
    assert result["code"] == 0 and out == first, done.stderr[-2000:]
    loaded = sorted(m for m in result["modules"] if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert loaded == []


def test_the_conventional_notebook_is_the_reports_rule() -> None:
    from oca_experiments.report._build import CONVENTIONAL_NOTEBOOK

    assert _cli_rerun.CONVENTIONAL_NOTEBOOK == CONVENTIONAL_NOTEBOOK


def test_old_stamps_are_pruned(workspace, calls, monkeypatch, capsys) -> None:
    monkeypatch.setattr(_cli_rerun, "MAX_STAMPS", 2)
    for out in ("a", "b", "c"):
        assert _oca([*ARGS[:-2], out, "--no-report"], monkeypatch, capsys)[0] == 0
    assert len(_stamped(workspace)) == 2
    monkeypatch.setattr(sys, "argv", ["oca", *ARGS])
    assert _cli_rerun.answer_unchanged([*ARGS[:-2], "c", "--no-report"], str(workspace / "cache")) == 0


def test_a_folder_nested_in_a_path_entry_does_not_change_the_environment(tmp_path: Path) -> None:
    """Importing setuptools (a cold Bayesian run does) puts site-packages/setuptools/_vendor, full of dist-infos,
    on sys.path mid-process: a stamp written after that must still match a fresh process (it failed in the full
    suite, where an earlier test had imported setuptools)."""
    site = tmp_path / "site-packages"
    vendor = site / "setuptools" / "_vendor"
    (site / "numpy-2.0.dist-info").mkdir(parents=True)
    (vendor / "packaging-24.0.dist-info").mkdir(parents=True)
    assert _cli_rerun.environment_stamp([str(site), str(vendor)]) == _cli_rerun.environment_stamp([str(site)])
    other = tmp_path / "other"
    (other / "pandas-3.0.dist-info").mkdir(parents=True)
    assert _cli_rerun.environment_stamp([str(site), str(other)]) != _cli_rerun.environment_stamp([str(site)])
