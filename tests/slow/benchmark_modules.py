"""The slow coverage tests run reduced versions of the committed benchmark scripts (benchmarks/*.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_benchmark(filename: str, module_name: str) -> ModuleType:
    """Import ``benchmarks/<filename>`` as ``module_name`` (registered in sys.modules: dataclasses look it up)."""
    spec = importlib.util.spec_from_file_location(module_name, BENCHMARKS / filename)
    assert spec is not None and spec.loader is not None, filename
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
