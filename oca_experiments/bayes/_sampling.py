"""Sample the models with nutpie; cache compiled models and draws.

Backends (``SamplerSettings.backend``, registered as ``bayes.sampler.backend``)
    ``kernel`` (default): nutpie samples oca's hand-written numba log densities (``_kernels.py``, laid out in
    ``_density.py``), which equal the PyMC models' log densities (tested). numba caches them on disk, so only
    the first run after an installation compiles (a few seconds); prior draws are simulated in numpy. PyMC is
    not imported.
    ``pymc``: nutpie compiles the PyMC model (``_models.py``) itself. Its generated code cannot be cached across
    processes, so each new process spends 15-55 s per model compiling. Kept for models extended in PyMC and as a
    cross-check (same posterior within Monte Carlo error, different draws).

Reproducibility
    ``nutpie.sample`` is seeded per chain, so the same seed, data and model give the same draws whatever the
    number of cores. The kernels are compiled without ``fastmath``, and so is the PyMC backend
    (``numba__fastmath=False``: with fastmath, LLVM may contract floating-point operations differently in a
    freshly compiled and inlined kernel than in one loaded from PyTensor's disk cache, and draws would differ in
    the last bits between a first and a second run). Draws are bit-identical whether the compiled code or the
    draws come from a cache or not.

Caching
    - kernel backend: numba's on-disk cache (beside the module, or numba's user-wide cache when the package
      folder is read-only; ``NUMBA_CACHE_DIR`` overrides).
    - pymc backend: PyTensor's numba cache on disk (``pytensor.config.base_compiledir``/numba, keyed by the
      graph's hash); a compiled nutpie model is also kept in-process, keyed by model kind, structure options and
      input shapes, and reused with new data (``with_data``).
    - draws: ``<cache dir>/draws/<key>.pkl``, a pickled xarray DataTree (30x faster to write and read than
      NetCDF; the cache is private to this machine, and the run's artifacts are NetCDF). The key hashes the
      model kind, its code version, structure options, every input array (data and prior scales), the sampler
      settings (backend included) and the library versions. A hit returns exactly the draws a new run would
      produce.

The cache directory is the run's ``RunSettings.cache_dir`` (``oca_experiments.runtime``: the api's default is
``$OCA_CACHE_DIR``, else ``$XDG_CACHE_HOME/oca_experiments``, else ``~/.cache/oca_experiments``; ``OCA_CACHE=off``
disables the draws cache). Nothing here reads the environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..runtime import current

__all__ = ["FitOutput", "SamplerSettings", "cache_dir", "draws_key", "sample_model"]

#: Bump when a model's code changes in a way that changes its draws: old cache entries are then never read.
MODEL_CODE_VERSION = "3"  # 3: ordinal model without redundant per-wave community shocks (issue 15)
PRIOR_DRAWS = 500
_LIBRARIES = ("pymc", "pytensor", "nutpie", "numpy", "numba")
_COMPILED: OrderedDict[str, Any] = OrderedDict()  # least recently used first; size: RunSettings.compiled_models


@dataclass(frozen=True)
class SamplerSettings:
    seed: int = 20260307
    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    target_accept: float = 0.95
    backend: str = "kernel"

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "chains": self.chains, "draws": self.draws, "tune": self.tune,
                "target_accept": self.target_accept, "backend": self.backend}


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
    """The draws and results cache folder of the run in progress (None: no disk cache)."""
    return current().cache_dir


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
    from ._nutpie import import_nutpie

    nutpie = import_nutpie()
    import pytensor

    key = _compiled_key(kind, structure, inputs)
    cached = _COMPILED.get(key)
    if cached is not None:
        _COMPILED.move_to_end(key)
        return cached.with_data(**{k: np.asarray(v) for k, v in inputs.items()})
    with pytensor.config.change_flags(numba__fastmath=False):
        compiled = nutpie.compile_pymc_model(build())
    _COMPILED[key] = compiled
    while len(_COMPILED) > max(current().compiled_models, 1):
        _COMPILED.popitem(last=False)
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

    tree = pickle.loads(path.read_bytes())
    if not isinstance(tree, xr.DataTree):
        raise ValueError(f"{path} does not hold draws")
    return tree


def _write(tree: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".draws-", suffix=".pkl", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _prior_dataset(values: Mapping[str, np.ndarray], dims: Mapping[str, tuple[str, ...]],
                   coords: Mapping[str, Any]) -> Any:
    import xarray as xr

    def named(name: str, value: np.ndarray) -> tuple[str, ...]:  # PyMC's names for unnamed dimensions
        return tuple(dims.get(name) or (f"{name}_dim_{i}" for i in range(value.ndim - 1)))

    data = {name: (("chain", "draw", *named(name, np.asarray(v))), np.asarray(v)[None]) for name, v in values.items()}
    used = {d for name in values for d in dims.get(name, ())}
    return xr.Dataset(data, coords={d: list(coords[d]) for d in used if d in coords})


def _nuts(compiled: Any, settings: SamplerSettings) -> dict[str, Any]:
    """Posterior and (numeric) sample stats of one nutpie run with the registered settings."""
    from ._nutpie import import_nutpie

    nutpie = import_nutpie()

    from .._progress import step

    # nutpie samples in one blocking call: the step line says when sampling starts and when it is done.
    with step(f"Bayesian sampling ({settings.chains} chains x {settings.tune}+{settings.draws} draws)", 1) as progress:
        trace = nutpie.sample(compiled, draws=settings.draws, tune=settings.tune, chains=settings.chains,
                              cores=max(1, min(settings.chains, os.cpu_count() or 1)), seed=settings.seed,
                              target_accept=settings.target_accept, progress_bar=False, save_warmup=False)
        progress.advance()
    return {"posterior": trace["posterior"].to_dataset(),
            "sample_stats": _numeric_only(trace["sample_stats"].to_dataset())}


def _kernel_draws(density: Any, settings: SamplerSettings, with_prior: bool) -> dict[str, Any]:
    # density.compiled() waits for a background compilation of this model's kernels (_warmup), if one runs
    groups = _nuts(density.compiled(), settings)
    # nutpie takes string coordinates only: put the typed ones back (e.g. integer step numbers)
    groups["posterior"] = groups["posterior"].assign_coords(
        {k: list(v) for k, v in density.coords.items() if k in groups["posterior"].dims})
    if with_prior:
        prior, predictive = density.prior(PRIOR_DRAWS, np.random.default_rng([settings.seed, 0]))
        dims = {name: spec[1] for name, spec in density.outputs.items()}
        groups["prior"] = _prior_dataset(prior, dims, density.coords)
        groups["prior_predictive"] = _prior_dataset(predictive, {}, {})
    return groups


def sample_model(kind: str, structure: Mapping[str, Any], inputs: Mapping[str, np.ndarray],
                 build: Callable[[], Any], settings: SamplerSettings, *, density: Callable[[], Any] | None = None,
                 use_cache: bool = True, with_prior: bool = True) -> FitOutput:
    """Draws from the posterior (and prior) of the model, from the cache when inputs are unchanged.

    ``build()`` gives the PyMC model and ``density()`` the same model as an oca kernel density
    (``_density.py``; by default ``density_for(kind, structure, inputs)`` with numbered coordinates);
    ``settings.backend`` chooses which one nutpie samples. ``inputs`` must be exactly the
    model's ``pm.Data`` values: they key both caches.
    """
    import xarray as xr

    key = draws_key(kind, {**structure, "with_prior": with_prior}, inputs, settings)
    directory = cache_dir() if use_cache else None
    path = directory / "draws" / f"{key}.pkl" if directory is not None else None
    if path is not None and path.is_file():
        try:
            return FitOutput(_read(path), key, True)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            # a truncated or foreign file: sample again and overwrite it
            pass

    if settings.backend == "kernel":
        from ._density import density_for

        chosen = density() if density is not None else density_for(kind, structure, inputs)
        groups = _kernel_draws(chosen, settings, with_prior)
    else:
        groups = _nuts(compile_model(kind, structure, inputs, build), settings)
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
