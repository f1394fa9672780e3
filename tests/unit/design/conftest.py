"""Study variants for design diagnosis tests: the demo's h1 spec with registered fields changed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    if value is None:
        tree.pop(leaf, None)
    else:
        tree[leaf] = value


@pytest.fixture()
def variant_study(tmp_path: Path, demo_study_with: Callable[..., Path]) -> Callable[..., Path]:
    """``variant_study({"inference.se": "iid", "design.cluster": None}, keep=("h1_horizontal_trust",))``."""

    def make(edits: dict[str, Any] | None = None, *, keep: tuple[str, ...] = ("h1_horizontal_trust",)) -> Path:
        specs = {}
        for hypothesis in keep:
            spec = yaml.safe_load((REPO / "hypotheses" / f"{hypothesis}.yaml").read_text(encoding="utf-8"))
            if hypothesis == "h1_horizontal_trust":
                for dotted, value in (edits or {}).items():
                    _set(spec, dotted, value)
            specs[hypothesis] = yaml.safe_dump(spec, sort_keys=False)
        return demo_study_with(tmp_path / f"study{len(list(tmp_path.iterdir()))}", specs)

    return make
