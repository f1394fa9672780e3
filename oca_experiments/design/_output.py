"""Saving a diagnosis (JSON plus the power-curve plot) and reading it back as the plan's power justification.

Default place: ``STUDY_DIR/design/HYPOTHESIS_ID/{diagnosis.json, power_curve.png}``, where ``oca prereg lock``
finds it through :func:`oca_experiments.prereg.power_justification` and records the JSON's SHA-256 in the lock. The JSON carries no
wall-clock time and no executor, so the same inputs and seed give the same bytes, hence the same hash.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_bytes, atomic_write_text
from .._layout import DESIGN_DIR, DIAGNOSIS_FILE
from ..errors import ReportError
from ..prereg import power_justification  # re-exported: design.power_justification is public
from ._diagnose import Diagnosis

PLOT_FILE = "power_curve.png"


@dataclass(frozen=True)
class SavedDiagnosis:
    json_path: Path
    plot_path: Path
    sha256: str


def default_output_dir(study_dir: str | Path, hypothesis_id: str) -> Path:
    return Path(study_dir) / DESIGN_DIR / hypothesis_id


def save_diagnosis(diagnosis: Diagnosis, out_dir: str | Path) -> SavedDiagnosis:
    """Write ``diagnosis.json`` and ``power_curve.png`` into ``out_dir``, each atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = render_power_curve(diagnosis)
    plot_path = atomic_write_bytes(out / PLOT_FILE, png)
    text = diagnosis.to_json()
    json_path = atomic_write_text(out / DIAGNOSIS_FILE, text)
    return SavedDiagnosis(json_path, plot_path, hashlib.sha256(text.encode("utf-8")).hexdigest())


def render_power_curve(diagnosis: Diagnosis) -> bytes:
    """The power curve with MC error bars, the target power and the MDE, as PNG bytes (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    curve = diagnosis.power_curve()
    payload = diagnosis.to_dict()
    mde = payload["mde"]
    figure = Figure(figsize=(6.4, 4.2), dpi=110)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.errorbar(curve["effect"], curve["power"], yerr=1.96 * curve["mc_se"], marker="o", markersize=4,
                capsize=2, color="#1f5fa8", label="simulated power (95% MC interval)")
    ax.axhline(mde["target_power"], color="#888888", linestyle="--", linewidth=1,
               label=f"target power {mde['target_power']:g}")
    if mde["value"] is not None:
        ax.axvline(mde["value"], color="#c0392b", linestyle=":", linewidth=1.2, label=f"MDE {mde['value']:.3g}")
    rule = payload["inference_rule"]
    sesoi = payload["hypothesis"].get("sesoi")
    if sesoi:
        sesoi = -sesoi if rule["direction"] == "decrease" else sesoi
        ax.axvline(sesoi, color="#27ae60", linestyle="-.", linewidth=1, label=f"SESOI {sesoi:.3g}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("true effect (outcome scale)")
    ax.set_ylabel(f"power (alpha {rule['alpha']:g}, {rule['tails']}-tailed)")
    ax.set_title(f"{diagnosis.hypothesis_id}: {payload['simulation']['sims']} simulations per point, "
                 f"{rule['method_at_planned_clusters']} inference", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    buffer = io.BytesIO()
    # No software version or date in the file: the same diagnosis renders to the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def load_diagnosis(path: str | Path) -> dict[str, Any]:
    target = Path(path)
    try:
        return json.loads(target.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"cannot read the design diagnosis ({type(exc).__name__})", path=str(target),
                          fix="rerun oca design diagnose") from None
