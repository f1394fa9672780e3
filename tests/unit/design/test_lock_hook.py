"""The lock records the diagnosis' hash as the plan's power justification, also when the spec was locked first."""

from __future__ import annotations

import hashlib
import json

from oca_experiments import design
from oca_experiments.prereg import lock_study, read_lock

HID = "h1_horizontal_trust"


def test_a_diagnosis_saved_after_the_lock_is_appended_once_and_tamper_evident(variant_study) -> None:
    study = variant_study({"inference.few_clusters": {"threshold": 0}})
    first = lock_study(study, now="2026-01-20T00:00:00Z")
    assert first.added == (HID,)
    assert read_lock(study).entries[0]["power_justification"] is None  # nothing diagnosed yet

    diagnosis = design.diagnose(study, HID, sims=40, curve_points=3, design={"clusters": 12, "respondents": 240})
    saved = design.save_diagnosis(diagnosis, design.default_output_dir(study, HID))
    second = lock_study(study, now="2026-01-21T00:00:00Z")
    assert second.justifications_added == (HID,) and second.written
    lock = read_lock(study)
    assert lock.intact and lock.entries[-1]["kind"] == "power_justification"
    record = lock.entries[-1]["power_justification"]
    assert record["sha256"] == saved.sha256 == hashlib.sha256(saved.json_path.read_bytes()).hexdigest()
    assert record["file"] == f"design/{HID}/diagnosis.json" and lock.power_justifications()[HID] == saved.sha256

    assert not lock_study(study, now="2026-01-22T00:00:00Z").written  # the same diagnosis is not recorded twice

    path = study / "hypotheses" / "registry.lock.json"
    payload = json.loads(path.read_text())
    payload["entries"][-1]["power_justification"]["sha256"] = "0" * 64
    path.write_text(json.dumps(payload))
    assert any(problem.field == "sha256" for problem in read_lock(study).problems)
