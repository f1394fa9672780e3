"""The Bayesian section reads the one posterior variable it plots, straight from the NetCDF file (issue 21: a cold
report build spent most of this section opening and decoding every posterior variable through xarray)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import xarray as xr

from oca_experiments.report._sections import target_draws
from oca_experiments.results.parts import ArtifactPaths, PosteriorSummary

RELATIVE = "artifacts/h/inference_data.nc"


def _write_posterior(run_dir: Path, variables: dict[str, tuple[tuple[str, ...], np.ndarray]],
                     encoding: dict[str, dict] | None = None) -> None:
    """An InferenceData-shaped NetCDF-4 file as the Bayesian estimators write it (DataTree, h5netcdf)."""
    path = run_dir / RELATIVE
    path.parent.mkdir(parents=True)
    chains, draws = next(iter(variables.values()))[1].shape[:2]
    posterior = xr.Dataset({name: (dims, values) for name, (dims, values) in variables.items()},
                           coords={"chain": np.arange(chains), "draw": np.arange(draws)})
    observed = xr.Dataset({"y": (("obs",), np.arange(7.0))})
    tree = xr.DataTree.from_dict({"posterior": posterior, "observed_data": observed})
    tree.to_netcdf(path, engine="h5netcdf", encoding={"/posterior": encoding} if encoding else None)


def _inputs(run_dir: Path, *, target: str, mean: float) -> tuple[SimpleNamespace, SimpleNamespace]:
    result = SimpleNamespace(artifact_paths=ArtifactPaths(inference_data=RELATIVE), target=target,
                             posterior=PosteriorSummary(mean=mean))
    return SimpleNamespace(run_dir=run_dir), result


def _xarray_values(run_dir: Path, name: str) -> np.ndarray:
    with xr.open_dataset(run_dir / RELATIVE, group="posterior") as posterior:
        return np.asarray(posterior[name].values, dtype=float).ravel()


def test_draws_are_the_values_xarray_decodes(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    effect = rng.normal(0.2, 0.1, size=(4, 250))
    _write_posterior(tmp_path, {"effect": (("chain", "draw"), effect),
                                "cluster_z": (("chain", "draw", "cluster"), rng.normal(size=(4, 250, 6)))})
    report, result = _inputs(tmp_path, target="average", mean=float(effect.mean()))

    draws = target_draws(report, result)

    assert draws is not None
    np.testing.assert_array_equal(draws, _xarray_values(tmp_path, "effect"))
    np.testing.assert_array_equal(draws, effect.ravel())


def test_reads_one_variable_and_never_opens_the_posterior_through_xarray(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    effect = rng.normal(size=(2, 100))
    _write_posterior(tmp_path, {"effect": (("chain", "draw"), effect),
                                "trend": (("chain", "draw"), rng.normal(size=(2, 100))),
                                "shock_z": (("chain", "draw", "unit"), rng.normal(size=(2, 100, 40)))})
    report, result = _inputs(tmp_path, target="average", mean=float(effect.mean()))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report opened the whole posterior through xarray")

    monkeypatch.setattr(xr, "open_dataset", refuse)
    monkeypatch.setattr(xr, "open_datatree", refuse)
    read: list[str] = []
    original = h5py.Dataset.__getitem__

    def counting(self: h5py.Dataset, key: object) -> object:
        read.append(self.name)
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", counting)

    draws = target_draws(report, result)

    assert draws is not None and draws.size == 200
    assert read == ["/posterior/effect"]


def test_the_targets_own_variable_comes_first_and_vectors_are_skipped(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    top = rng.normal(1.0, 0.1, size=(2, 80))
    _write_posterior(tmp_path, {"trust_effect": (("chain", "draw", "item"), rng.normal(size=(2, 80, 3))),
                                "top_change": (("chain", "draw"), top),
                                "effect": (("chain", "draw"), rng.normal(size=(2, 80)))})
    report, result = _inputs(tmp_path, target="trust", mean=float(top.mean()))

    np.testing.assert_array_equal(target_draws(report, result), top.ravel())


def test_draws_whose_mean_is_not_the_recorded_one_are_not_shown(tmp_path: Path) -> None:
    effect = np.random.default_rng(6).normal(size=(2, 50))
    _write_posterior(tmp_path, {"effect": (("chain", "draw"), effect)})
    report, result = _inputs(tmp_path, target="average", mean=float(effect.mean()) + 0.5)

    assert target_draws(report, result) is None


def test_a_packed_variable_is_decoded_as_xarray_decodes_it(tmp_path: Path) -> None:
    effect = np.random.default_rng(7).normal(size=(2, 60))
    packing = {"effect": {"dtype": "int16", "scale_factor": 0.001, "add_offset": 0.0, "_FillValue": -32768}}
    _write_posterior(tmp_path, {"effect": (("chain", "draw"), effect)}, encoding=packing)
    decoded = _xarray_values(tmp_path, "effect")
    report, result = _inputs(tmp_path, target="average", mean=float(decoded.mean()))

    np.testing.assert_array_equal(target_draws(report, result), decoded)


def test_a_missing_file_or_posterior_group_gives_no_draws(tmp_path: Path) -> None:
    report, result = _inputs(tmp_path, target="average", mean=0.0)
    assert target_draws(report, result) is None
    (tmp_path / RELATIVE).parent.mkdir(parents=True)
    with h5py.File(tmp_path / RELATIVE, "w") as f:
        f.create_group("prior")
    assert target_draws(report, result) is None


@pytest.mark.parametrize("n, skew", [(12, 0.0), (4000, 0.0), (20000, 3.0)])
def test_the_numpy_density_equals_scipys_gaussian_kde(n: int, skew: float) -> None:
    """The density plot's KDE is scipy's gaussian_kde (Scott's rule) without importing scipy.stats in the kernel."""
    from scipy.stats import gaussian_kde

    from oca_experiments.report._sections import scott_kde

    rng = np.random.default_rng(n)
    draws = rng.normal(size=n) + skew * rng.exponential(size=n)
    grid = np.linspace(draws.min() - 1, draws.max() + 1, 400)
    np.testing.assert_allclose(scott_kde(draws, grid), gaussian_kde(draws)(grid), rtol=1e-9, atol=1e-14)
