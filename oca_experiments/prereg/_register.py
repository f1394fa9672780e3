"""``oca prereg lock``: append every not-yet-locked spec and deviation to the registry lock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._atomic import atomic_write_json
from .._version import __version__
from ..plan import make_plan
from ..spec import load_hypotheses, load_study_config
from ._canonical import canonical_spec, sha256_json
from ._justification import power_justification
from ._lock import LockWriter, git_commit, utc_now
from ._status import analysis_files, contract_files, registry_state


@dataclass(frozen=True)
class LockResult:
    path: Path
    added: tuple[str, ...]
    unchanged: tuple[str, ...]
    changed: tuple[str, ...]
    deviations_added: int
    head: str | None
    justifications_added: tuple[str, ...] = ()  # specs whose new design diagnosis was recorded

    @property
    def written(self) -> bool:
        return bool(self.added or self.deviations_added or self.justifications_added)


def lock_study(study_dir: str | Path, *, now: str | None = None) -> LockResult:
    """Lock every spec not in the lock yet, and record every newly declared deviation.

    Append-only: existing entries are never rewritten, a locked spec is never locked again (its first entry stays
    the registered version; later changes are deviations), and with nothing new the file is left untouched.
    Refuses (``PreregistrationError``) to extend a lock that fails verification, or to record a deviation that
    does not fit its spec. ``now`` (ISO 8601 UTC) is for tests; the default is the current UTC time.
    """
    study_dir = Path(study_dir).resolve()
    config = load_study_config(study_dir)
    specs = load_hypotheses(study_dir)
    make_plan(study_dir, config, specs)  # a spec that does not plan cannot be registered
    state = registry_state(study_dir, specs, config)
    for problem in (*state.lock.problems, *state.log_problems):
        raise problem.as_error()
    for spec_state in state.specs:
        if spec_state.problems:  # a deviation that does not fit its spec is never timestamped
            raise spec_state.errors()[0]
    writer = LockWriter(entries=[dict(e) for e in state.lock.entries], locked_at=now or utc_now(),
                        git_commit=git_commit(study_dir), oca_version=__version__)
    added, unchanged, changed = [], [], []
    for spec_file in specs:
        spec_id = spec_file.spec.id
        status = state.spec(spec_id).status
        if status == "unregistered":
            canonical = canonical_spec(spec_file.spec)
            writer.append("spec", spec_id=spec_id, spec_file=spec_file.path, sha256=sha256_json(canonical),
                          spec=canonical, contracts=contract_files(study_dir, config, spec_file.spec),
                          analysis=analysis_files(study_dir, spec_file.spec),
                          # the saved design diagnosis (oca design diagnose) and its SHA-256, or None
                          power_justification=power_justification(study_dir, spec_id))
            added.append(spec_id)
        elif status == "locked_unchanged":
            unchanged.append(spec_id)
        else:
            changed.append(spec_id)
    new_deviations = state.deviations[len(state.lock.deviation_entries()):]
    for deviation in new_deviations:
        canonical = deviation.canonical()
        writer.append("deviation", spec_id=deviation.spec, sha256=sha256_json(canonical), deviation=canonical)
    # A design diagnosis saved (or redone) after its spec was locked is appended as the plan's power justification.
    recorded = state.lock.power_justifications()
    justified = []
    for spec_id in (s.spec.id for s in specs):
        current = power_justification(study_dir, spec_id)
        if spec_id in added or current is None or recorded.get(spec_id) == current["sha256"]:
            continue
        writer.append("power_justification", spec_id=spec_id, sha256=current["sha256"], power_justification=current)
        justified.append(spec_id)
    if writer.added:
        atomic_write_json(state.lock.path, writer.payload())
    head = writer.entries[-1]["entry_sha256"] if writer.entries else None
    return LockResult(path=state.lock.path, added=tuple(added), unchanged=tuple(unchanged), changed=tuple(changed),
                      deviations_added=len(new_deviations), head=head, justifications_added=tuple(justified))
