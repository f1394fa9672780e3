"""The embedded demo study ships locked. Read-only: this test never writes the repository's lock."""

from __future__ import annotations

from prereg_helpers import REPO

from oca_experiments.prereg import registry_state

RELOCK = ("the demo's specs or analysis/ code changed after hypotheses/registry.lock.json was written; the demo has "
          "no real data, so re-lock it: rm hypotheses/registry.lock.json && .venv/bin/oca prereg lock .")


def test_demo_lock_verifies_and_covers_every_spec() -> None:
    state = registry_state(REPO)
    assert state.lock.exists, "the demo ships a registry lock: run .venv/bin/oca prereg lock ."
    assert state.intact, [str(e) for e in state.errors()]
    stale = {s.spec_id: [c.field for c in s.changes] or s.status for s in state.specs
             if s.status != "locked_unchanged"}
    assert not stale, f"{RELOCK} ({stale})"
