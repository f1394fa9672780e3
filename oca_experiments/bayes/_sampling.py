"""Compile and sample PyMC models with nutpie; cache compiled models in-process and draws on disk.

Reproducibility
    ``nutpie.sample`` is seeded per chain, so the same seed, data and model give the same draws whatever the
    number of cores. PyTensor's numba backend normally compiles with ``fastmath``, which lets LLVM contract and
    reorder floating-point operations differently depending on whether a kernel was just compiled (and inlined)
    or loaded from PyTensor's on-disk kernel cache; the draws then differ in the last bits between a first and a
    second run. Models are therefore compiled with ``numba__fastmath=False``: draws are bit-identical whether the
    kernels come from the cache or not, and whether the draws come from the cache or not.

Caching
    - compiled kernels: PyTensor's numba cache on disk (``pytensor.config.base_compiledir``/numba, keyed by the
      graph's hash, i.e. model structure); a compiled nutpie model is also kept in-process, keyed by model kind,
      structure options and input shapes, and reused with new data (``with_data``), e.g. for prior-sensitivity
      reruns and simulation-based calibration.
    - draws: ``<cache dir>/draws/<key>.nc`` where the key hashes the model kind, its code version, structure
      options, every input array (data and prior scales), the sampler settings and the library versions. A hit
      returns exactly the draws a new run would produce, without importing PyMC.

The cache directory is ``$OCA_CACHE_DIR``, else ``$XDG_CACHE_HOME/oca_experiments``, else
``~/.cache/oca_experiments``; ``OCA_CACHE=off`` disables the draws cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FitOutput", "SamplerSettings", "cache_dir", "draws_key", "sample_model"]

#: Bump when a model's code changes in a way that changes its draws: old cache entries are then never read.
MODEL_CODE_VERSION = "1"
PRIOR_DRAWS = 500
_LIBRARIES = ("pymc", "pytensor", "nutpie", "numpy", "numba")
_COMPILED: dict[str, Any] = {}


@dataclass(frozen=True)
class SamplerSettings:
    seed: int = 20260307
    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    target_accept: float = 0.95

    def to_dict(self) -> dict[str, float]:
        return {"seed": self.seed, "chains": self.chains, "draws": self.draws, "tune": self.tune,
                "target_accept": self.target_accept}


@dataclass(frozen=True, eq=False)
class FitOutput:
    """Posterior draws, sample stats and prior draws of one fit (an xarray DataTree), and how they were got."""

    trace: Any
    key: str
    cache_hit: bool

    @property
    def posterior(self) -> Any:
        return self.trace["posterior"].to_dataset()


def cache_dir() -> Path | None:
    if os.environ.get("OCA_CACHE", "").lower() in {"off", "0", "false", "no"}:
        return None
    if os.environ.get("OCA_CACHE_DIR"):
        return Path(os.environ["OCA_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "oca_experiments"


def _versions() -> dict[str, str]:
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _hash_arrays(digest: Any, arrays: Mapping[str, np.ndarray]) -> None:
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{value.dtype.str}|{value.shape}|".encode())
        digest.update(value.tobytes())


def draws_key(kind: str, structure: Mapping[str, Any], inputs: Mapping[str, np.ndarray],
              settings: SamplerSettings) -> str:
    digest = hashlib.sha256()
    header = {"kind": kind, "code": MODEL_CODE_VERSION, "structure": dict(structure),
              "sampler": settings.to_dict(), "versions": _versions(), "prior_draws": PRIOR_DRAWS}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    _hash_arrays(digest, inputs)
    return digest.hexdigest()


def _compiled_key(kind: str, structure: Mapping[str, Any], inputs: Mapping[str, np.ndarray]) -> str:
    shapes = {name: (np.asarray(v).dtype.str, np.shape(v)) for name, v in sorted(inputs.items())}
    return json.dumps({"kind": kind, "structure": dict(structure), "shapes": shapes}, sort_keys=True, default=str)


def compile_model(kind: str, structure: Mapping[str, Any], inputs: Mapping[str, np.ndarray],
                  build: Callable[[], Any]) -> Any:
    """A nutpie compiled model for these inputs: reused in-process when kind, structure and shapes match."""
    import nutpie
    import pytensor

    key = _compiled_key(kind, structure, inputs)
    cached = _COMPILED.get(key)
    if cached is not None:
        return cached.with_data(**{k: np.asarray(v) for k, v in inputs.items()})
    with pytensor.config.change_flags(numba__fastmath=False):
        compiled = nutpie.compile_pymc_model(build())
    _COMPILED[key] = compiled
    return compiled


def _numeric_only(dataset: Any) -> Any:
    keep = [name for name, var in dataset.data_vars.items() if var.dtype.kind in "biuf"]
    return dataset[keep]


def _prior_draws(model: Any, seed: int) -> tuple[Any, Any]:
    import pymc as pm

    # The forward graph is evaluated once per draw; a Python-mode function avoids a numba compilation for it.
    prior = pm.sample_prior_predictive(draws=PRIOR_DRAWS, model=model, random_seed=seed,
                                       compile_kwargs={"mode": "FAST_COMPILE"})
    return prior["prior"].to_dataset(), prior["prior_predictive"].to_dataset()


def _read(path: Path) -> Any:
    import xarray as xr

    with xr.open_datatree(path, engine="h5netcdf") as tree:
        return tree.load()


def _write(tree: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".draws-", suffix=".nc", dir=path.parent)
    os.close(handle)
    try:
        tree.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def sample_model(kind: str, structure: Mapping[str, Any], inputs: Mapping[str, np.ndarray],
                 build: Callable[[], Any], settings: SamplerSettings, *, use_cache: bool = True,
                 with_prior: bool = True) -> FitOutput:
    """Draws from the posterior (and prior) of ``build()``'s model, from the cache when inputs are unchanged.

    ``inputs`` must be exactly the model's ``pm.Data`` values: they key both caches.
    """
    import xarray as xr

    key = draws_key(kind, {**structure, "with_prior": with_prior}, inputs, settings)
    directory = cache_dir() if use_cache else None
    path = directory / "draws" / f"{key}.nc" if directory is not None else None
    if path is not None and path.is_file():
        try:
            return FitOutput(_read(path), key, True)
        except (OSError, ValueError):  # a truncated or foreign file: sample again and overwrite it
            pass

    import nutpie

    compiled = compile_model(kind, structure, inputs, build)
    trace = nutpie.sample(compiled, draws=settings.draws, tune=settings.tune, chains=settings.chains,
                          cores=max(1, min(settings.chains, os.cpu_count() or 1)), seed=settings.seed,
                          target_accept=settings.target_accept, progress_bar=False, save_warmup=False)
    groups = {"posterior": trace["posterior"].to_dataset(),
              "sample_stats": _numeric_only(trace["sample_stats"].to_dataset())}
    if with_prior:
        groups["prior"], groups["prior_predictive"] = _prior_draws(build(), settings.seed)
    for dataset in groups.values():
        dataset.attrs = {}
    tree = xr.DataTree.from_dict(groups)
    tree.attrs = {"oca_model": kind, "oca_draws_key": key, "seed": settings.seed}
    if path is not None:
        try:
            _write(tree, path)
        except OSError:  # a read-only cache must not stop an analysis
            pass
    return FitOutput(tree, key, False)
