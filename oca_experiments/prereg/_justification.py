"""A spec's power justification: the design diagnosis saved for it (``oca design diagnose``), as the lock records it.

The diagnosis file (``design/<hypothesis>/diagnosis.json``, names in ``_layout``) is the interface between design
diagnosis, which writes it, and the registry lock, which hashes it; reading it here keeps ``prereg`` below the
pipeline, which applies the lock's firewall, and ``design`` above it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .._layout import DESIGN_DIR, DIAGNOSIS_FILE
from ..errors import ReportError


def power_justification(study_dir: str | Path, hypothesis_id: str) -> dict[str, Any] | None:
    """What the lock records as a spec's power justification, or None when no diagnosis was saved.

    ``{"file", "sha256", "target_power", "power", "effect", "mde", "sims", "seed"}``; ``file`` is relative to the
    study folder, ``sha256`` is of the file's bytes.
    """
    study = Path(study_dir)
    path = study / DESIGN_DIR / hypothesis_id / DIAGNOSIS_FILE
    if not path.is_file():
        return None
    raw = path.read_bytes()
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"cannot read the design diagnosis ({type(exc).__name__})", path=str(path),
                          fix="rerun oca design diagnose") from None
    return {
        "file": path.relative_to(study).as_posix(),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "target_power": record["mde"]["target_power"],
        "power": record["diagnosands"]["power"]["value"],
        "effect": record["parameters"]["effect"],
        "mde": record["mde"]["value"],
        "sims": record["simulation"]["sims"],
        "seed": record["simulation"]["seed"],
    }
