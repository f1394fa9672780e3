"""``make benchmarks`` rebuilds the README's "Measured" table from the scripts' summary lines (benchmarks/_summary.py,
benchmarks/run_all.py). Canned lines only: nothing here runs or times a benchmark."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"


def _load(name: str) -> ModuleType:
    if str(BENCHMARKS) not in sys.path:  # run_all imports _summary by bare name, as when run as a script
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"oca_bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


summary_protocol = _load("_summary")
run_all = _load("run_all")

CANNED_OUTPUT = """load average before: (1.0, 0.9, 0.8)
panel DiD, 1,000,000 rows, balanced: oca 0.350s  pyfixest 3.570s ...
OCA-BENCH-SUMMARY {"what": "panel DiD, balanced", "command": "benchmarks/engagement.py", "result": "oca 0.35 s; pyfixest 10.2x slower", "ratios": {"pyfixest_over_oca": 10.2}, "target": null, "met": null, "load": "0.9", "date": "2026-12-03 17:00 UTC"}
some other line mentioning | pipes
OCA-BENCH-SUMMARY {"what": "ingest 20,000,000 raw post rows", "command": "benchmarks/engagement.py --ingest-only", "result": "30.1 s, peak RSS 1.99 GB", "ratios": {}, "target": "peak memory < 4 GB", "met": true, "load": "0.9-1.2", "date": "2026-12-03 17:01 UTC"}
"""


def test_summary_lines_are_picked_out_of_a_scripts_output() -> None:
    rows = summary_protocol.parse_lines(CANNED_OUTPUT.splitlines())
    assert [row["what"] for row in rows] == ["panel DiD, balanced", "ingest 20,000,000 raw post rows"]
    assert rows[1]["met"] is True and rows[1]["target"] == "peak memory < 4 GB"


def test_the_table_has_what_command_result_with_target_verdict_load_and_date() -> None:
    table = summary_protocol.render_table(summary_protocol.parse_lines(CANNED_OUTPUT.splitlines()))
    lines = table.splitlines()
    assert lines[:2] == ["| what | command | result |", "|---|---|---|"]
    assert lines[2] == ("| panel DiD, balanced | `benchmarks/engagement.py` | oca 0.35 s; pyfixest 10.2x slower. "
                        "load 0.9, 2026-12-03 17:00 UTC |")
    assert lines[3].endswith("30.1 s, peak RSS 1.99 GB. target peak memory < 4 GB: met. "
                             "load 0.9-1.2, 2026-12-03 17:01 UTC |")
    assert all(line.count(" | ") == 2 for line in lines[2:])  # a pipe in a result cannot add a column


def test_emit_prints_one_parseable_line(capsys: pytest.CaptureFixture[str]) -> None:
    summary_protocol.emit(what="x | y", command="benchmarks/x.py --quick", result="1.0 s", ratios={"a": 2.0},
                          target="<= 2 s", met=False, load=[1.04, 2.61], date="2026-12-03 17:00 UTC")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(summary_protocol.PREFIX)
    (row,) = summary_protocol.parse_lines(out.splitlines())
    assert row["load"] == "1.0-2.6" and row["met"] is False and row["ratios"] == {"a": 2.0}
    assert "x \\| y" in summary_protocol.render_table([row])
    with pytest.raises(ValueError, match="target"):
        summary_protocol.summary(what="x", command="c", result="r", met=True)


def test_a_summary_line_without_a_result_is_refused() -> None:
    bad = summary_protocol.PREFIX + json.dumps({"what": "x", "command": "c"})
    with pytest.raises(ValueError, match="without result"):
        summary_protocol.parse_lines([bad])


def test_readme_table_is_replaced_between_the_markers_only() -> None:
    readme = (f"# Title\n\n## Measured\n\nIntro.\n\n{summary_protocol.README_BEGIN}\n| old | table | here |\n"
              f"{summary_protocol.README_END}\n\nAfter.\n")
    table = summary_protocol.render_table(summary_protocol.parse_lines(CANNED_OUTPUT.splitlines()))
    updated = summary_protocol.replace_table(readme, table)
    assert "| old | table | here |" not in updated and table in updated
    assert updated.startswith("# Title\n\n## Measured\n\nIntro.\n\n") and updated.endswith("\n\nAfter.\n")
    assert summary_protocol.replace_table(updated, table) == updated  # idempotent
    with pytest.raises(ValueError, match="markers"):
        summary_protocol.replace_table("no markers here", table)


def test_the_readme_has_the_markers_around_a_generated_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.count(summary_protocol.README_BEGIN) == 1 and readme.count(summary_protocol.README_END) == 1
    begin = readme.index(summary_protocol.README_BEGIN) + len(summary_protocol.README_BEGIN)
    inside = readme[begin:readme.index(summary_protocol.README_END)].strip().splitlines()
    assert inside[:2] == list(summary_protocol.TABLE_HEADER) and len(inside) > 2
    # measured.md holds the same rows, machine-readable, so a partial rerun keeps the others.
    kept = run_all._load_previous(run_all.MEASURED)
    rows = [row for bench in run_all.BENCHMARKS for row in kept.get(bench.script, [])]
    assert summary_protocol.render_table(rows).strip().splitlines() == inside


def test_measured_markdown_round_trips_and_keeps_scripts_not_rerun(tmp_path: Path) -> None:
    rows = summary_protocol.parse_lines(CANNED_OUTPUT.splitlines())
    path = tmp_path / "measured.md"
    path.write_text(run_all.measured_markdown({"engagement.py": rows, "startup.py": rows[:1]}), encoding="utf-8")
    back = run_all._load_previous(path)
    assert back == {"startup.py": rows[:1], "engagement.py": rows}
    table = path.read_text(encoding="utf-8").split("\n\n")[2]
    assert table.splitlines()[2].startswith("| panel DiD, balanced |")  # startup.py first: BENCHMARKS order


def test_a_study_row_keeps_the_committed_full_run_and_adds_the_quick_rerun() -> None:
    full = summary_protocol.summary(what="coverage", command="benchmarks/coverage_study.py", result="94.9% mean.",
                                    date="2026-12-03")
    quick = summary_protocol.summary(what="coverage (quick)", command="benchmarks/coverage_study.py --quick",
                                     result="95.3% mean", load=1.0, date="2026-12-04 10:00 UTC")
    (row,) = run_all.study_rows([full], [quick])
    assert row["command"] == "benchmarks/coverage_study.py" and row["date"] == "2026-12-03"
    assert row["result"] == ("94.9% mean. Quick rerun (`benchmarks/coverage_study.py --quick`, load 1.0, "
                             "2026-12-04 10:00 UTC): 95.3% mean")
    assert run_all.study_rows([], [quick])[0]["what"].endswith("(quick mode only; no committed full run)")


def test_every_benchmark_script_is_listed_and_prints_a_summary() -> None:
    scripts = {p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_") and p.name != "run_all.py"}
    listed = {bench.script for bench in run_all.BENCHMARKS}
    assert listed == scripts
    for script in sorted(scripts):
        calls = [node for node in ast.walk(ast.parse((BENCHMARKS / script).read_text(encoding="utf-8")))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "emit"]
        assert calls, f"{script} never calls _summary.emit"
    studies = [bench for bench in run_all.BENCHMARKS if bench.study]
    assert {b.script for b in studies} == {"coverage_study.py", "staggered_coverage.py", "gain_unpaired_study.py"}
    assert all(b.quick_args for b in studies)
    committed = run_all.load_studies()
    assert set(committed) == {b.script for b in studies}


def test_run_all_stops_a_script_past_its_limit(tmp_path: Path) -> None:
    slow = tmp_path / "slow.py"
    slow.write_text("import time\nprint('started', flush=True)\ntime.sleep(30)\n", encoding="utf-8")
    code, lines, _ = run_all._run([sys.executable, str(slow)], timeout_s=1.0)
    assert code is None and lines == ["started\n"]  # stopped, with the output so far


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_the_ingest_child_reports_its_own_peak_not_its_parents(tmp_path: Path) -> None:
    """The README once showed a 2 GB ingest as 6.61 GB: ``ru_maxrss`` of a child includes the high-water mark of
    the (big) process that spawned it. A 400 MB parent spawns a small child: the child's own peak stays small."""
    parent = tmp_path / "parent.py"
    parent.write_text(f"""
import json, os, subprocess, sys
import numpy as np
big = np.ones(400 * 2**20 // 8)  # touched: 400 MB resident
code = "import sys; sys.path.insert(0, {str(BENCHMARKS)!r}); import engagement; print(engagement.own_peak_rss_gb())"
child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
own = float(child.stdout.read())
_, _, usage = os.wait4(child.pid, 0)
print(json.dumps({{"own_gb": own, "ru_maxrss_gb": usage.ru_maxrss / 2**20}}))
""", encoding="utf-8")
    done = subprocess.run([sys.executable, str(parent)], capture_output=True, text=True, check=True)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["own_gb"] < 0.3  # numpy + pandas imported: well under the parent's 400 MB
    assert measured["ru_maxrss_gb"] > measured["own_gb"]  # what the old benchmark read
