"""manifest.json pieces: git state without git, results round trip, leaf-by-leaf comparison, no clock."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from oca_experiments.report import _manifest
from oca_experiments.report._verify import Difference, compare_results

REPO = Path(__file__).resolve().parents[3]
FIXTURE_RESULTS = REPO / "tests" / "unit" / "fixtures" / "report" / "results.json"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def test_git_commit_from_a_branch_ref_packed_refs_and_a_detached_head(tmp_path: Path) -> None:
    git = tmp_path / "repo" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (git / "refs" / "heads" / "main").write_text("a" * 40 + "\n", encoding="utf-8")
    nested = tmp_path / "repo" / "study" / "hypotheses"
    nested.mkdir(parents=True)
    assert _manifest.git_state(nested) == {"commit": "a" * 40, "ref": "refs/heads/main"}
    (git / "refs" / "heads" / "main").unlink()
    (git / "packed-refs").write_text("# pack-refs with: peeled\n" + "b" * 40 + " refs/heads/main\n",
                                     encoding="utf-8")
    assert _manifest.git_state(nested)["commit"] == "b" * 40
    (git / "HEAD").write_text("c" * 40 + "\n", encoding="utf-8")
    assert _manifest.git_state(nested) == {"commit": "c" * 40, "ref": None}
    assert _manifest.git_state(tmp_path / "elsewhere") == {"commit": None, "ref": None}


def test_results_json_round_trips_through_run_result() -> None:
    payload = json.loads(FIXTURE_RESULTS.read_text(encoding="utf-8"))
    run = _manifest.run_result_from_dict(payload)
    again = run.to_dict()
    assert [h["id"] for h in again["hypotheses"]] == [h["id"] for h in payload["hypotheses"]]
    for old, new in zip(payload["hypotheses"], again["hypotheses"]):
        for key in ("id", "status", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n", "n_clusters",
                    "estimator", "verdict"):
            assert new[key] == old.get(key), (old["id"], key)
    assert run["h1_horizontal_trust"].result.conf_int().shape == (1, 2)


def test_compare_results_names_hypothesis_and_field() -> None:
    payload = json.loads(FIXTURE_RESULTS.read_text(encoding="utf-8"))
    changed = json.loads(json.dumps(payload))
    changed["hypotheses"][0]["estimate"] += 1e-12
    changed["hypotheses"][1]["verdict"] = "inconclusive"
    changed["contracts"][0]["passed"] = False
    del changed["hypotheses"][1]["n"]
    differences, compared = compare_results(payload, changed)
    shown = [str(d) for d in differences]
    assert any(s.startswith("h1_horizontal_trust.estimate: recorded ") for s in shown)
    assert 'h2_vertical_trust.verdict: recorded "not_supported", rebuilt "inconclusive"' in shown
    assert any(s.startswith("h2_vertical_trust.n: recorded but not in the rebuild") for s in shown)
    assert any(s.startswith("contracts[survey].passed: recorded true, rebuilt false") for s in shown)
    assert compared > 50
    loose, _ = compare_results(payload, changed, rtol=1e-9)
    assert not any(d.where == "h1_horizontal_trust.estimate" for d in loose)


def test_locations_are_not_numbers_to_compare() -> None:
    old = {"contracts": [{"source": "survey", "suite_path": "/a/survey.json", "passed": True}],
           "data": {"survey": {"file": "a.csv", "sha256": "x"}}}
    new = {"contracts": [{"source": "survey", "suite_path": "/b/survey.json", "passed": True}],
           "data": {"survey": {"file": "b.csv", "sha256": "x"}}}
    assert compare_results(old, new)[0] == []


def test_difference_messages_are_one_line() -> None:
    d = Difference("data", "data file of source 'survey' (data/survey.csv)", "a" * 64, "b" * 64,
                   "SHA-256 differs from the manifest")
    assert str(d) == ("data file of source 'survey' (data/survey.csv): SHA-256 differs from the manifest "
                      "(recorded aaaaaaaaaaaa…, now bbbbbbbbbbbb…)")


def test_manifest_of_a_study_has_hashes_versions_and_no_clock(tmp_path: Path) -> None:
    from oca_experiments.runner import load_study

    study = load_study(REPO)
    payload = json.loads(FIXTURE_RESULTS.read_text(encoding="utf-8"))
    data_file = tmp_path / "run" / "data" / "survey.csv"
    data_file.parent.mkdir(parents=True)
    data_file.write_text("a,b\n1,2\n", encoding="utf-8")
    outside = tmp_path / "engagement.csv"
    outside.write_text("x\n1\n", encoding="utf-8")
    manifest = _manifest.collect_manifest(study, payload, {"survey": data_file, "engagement": outside},
                                          run_dir=tmp_path / "run", annotate={"demo_seed": 7}, command=["oca"])
    assert manifest["data"]["survey"]["path"] == "data/survey.csv"
    assert manifest["data"]["engagement"]["path"] == str(outside.resolve())
    assert manifest["seeds"] == {"annotate.demo_seed": 7} or "annotate.demo_seed" in manifest["seeds"]
    assert manifest["study"]["specs"]["h1_horizontal_trust"]["sha256"] == _manifest.sha256_file(
        REPO / "hypotheses" / "h1_horizontal_trust.yaml")
    assert manifest["specs"]["h1_horizontal_trust"]["id"] == "h1_horizontal_trust"
    assert "pandas" in manifest["environment"]["packages"]
    assert len(manifest["keys"]["results"]) == 64 and manifest["keys"]["report"] != manifest["keys"]["results"]
    volatile = {k: v for k, v in manifest.items() if k not in {"preregistration", "specs"}}
    assert not TIMESTAMP.search(json.dumps(volatile))


def test_cache_key_moves_with_any_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"study_yaml": "s", "specs": {"h1": {"file": "h1.yaml", "sha256": "1"}}, "contracts": {},
             "analysis": {}, "registry": {}, "report_notebook": {"file": "r.ipynb", "sha256": "n"}, "path": "/x"}
    base = _manifest._keys(files, {"survey": "d"}, {"demo_seed": 1})
    assert base == _manifest._keys({**files, "path": "/elsewhere"}, {"survey": "d"}, {"demo_seed": 1})
    assert base["results"] != _manifest._keys(files, {"survey": "e"}, {"demo_seed": 1})["results"]
    assert base["results"] != _manifest._keys(files, {"survey": "d"}, {"demo_seed": 2})["results"]
    assert base["results"] != _manifest._keys({**files, "registry": {"hypotheses/registry.lock.json": "z"}},
                                              {"survey": "d"}, {"demo_seed": 1})["results"]
    notebook_changed = _manifest._keys({**files, "report_notebook": {"file": "r.ipynb", "sha256": "m"}},
                                       {"survey": "d"}, {"demo_seed": 1})
    assert notebook_changed["results"] == base["results"] and notebook_changed["report"] != base["report"]
    monkeypatch.setattr(_manifest, "package_code_sha256", lambda: "other code")
    assert _manifest._keys(files, {"survey": "d"}, {"demo_seed": 1})["results"] != base["results"]


def test_vendored_packages_on_sys_path_do_not_change_the_environment(monkeypatch) -> None:
    """A cold Bayesian run imports setuptools, which puts setuptools/_vendor on sys.path: same manifest anyway."""
    import setuptools

    from oca_experiments.report._manifest import environment

    vendor = Path(setuptools.__file__).parent / "_vendor"
    assert any(vendor.glob("*.dist-info")), "this check needs setuptools' vendored dist-info folders"
    plain = [entry for entry in sys.path if Path(entry) != vendor]  # importing setuptools already added it
    monkeypatch.setattr(sys, "path", plain)
    before = environment.__wrapped__()
    monkeypatch.setattr(sys, "path", [*plain, str(vendor)])
    assert environment.__wrapped__() == before


def test_every_file_of_the_analysis_folder_is_hashed_so_an_edit_invalidates_the_cache(study_copy: Path) -> None:
    """Issue 18 item 1: study code may read a file beside it (a lookup table); editing it must change the key."""
    from oca_experiments.runner import load_study

    table = study_copy / "analysis" / "weights.csv"
    table.write_text("page,weight\nP01,1\n", encoding="utf-8")
    study = load_study(study_copy)
    before = _manifest._study_files(study)
    assert before["analysis"]["analysis/weights.csv"] == _manifest.sha256_file(table)
    assert "analysis/engagement.py" in before["analysis"]
    table.write_text("page,weight\nP01,2\n", encoding="utf-8")
    after = _manifest._study_files(study)
    assert _manifest._keys(before, {}, {})["results"] != _manifest._keys(after, {}, {})["results"]
