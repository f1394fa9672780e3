"""The three models as unconstrained densities for nutpie (``from_pyfunc``), and their prior forward simulation.

A density knows the layout of the unconstrained vector NUTS moves in, how to turn a point into the named
posterior variables (the same names, shapes and meaning as the PyMC model in ``_models.py``, deterministics
included), a jittered starting point, and how to draw from the prior and the prior predictive in numpy (the same
distributions as ``pm.sample_prior_predictive`` on the PyMC model; ``tests/unit/bayes/test_kernels.py`` compares).

Transforms are PyMC's: positive scales are sampled on the log scale, the ordinal cutpoints as a first cutpoint
plus log-gaps, and the zero-sum day-of-week effects as 6 free coordinates in an orthonormal basis of the zero-sum
subspace (any orthonormal basis gives PyMC's ZeroSumNormal density; the Helmert basis is used).

Layouts
    DiD, hierarchical: ``[trend, effect, log group_sd, group_z[G] (group_effect[G] if centred), log cluster_sd,
    log noise_sd]``; one group: ``[trend, effect, log cluster_sd, log noise_sd]``.
    Ordinal: ``[first_cutpoint, log cutpoint_gaps[K-2], arm, trend, effect, log cluster_sd, cluster_z[C],
    log shock_sd, shock_z[C]]`` (one within-community wave contrast per community).
    ITS: ``[level[U], log level_step_sd, level_step_z[U, S-1] (row-major), weekday[6 free], regressor_coef,
    log overdispersion]``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import gammaln

__all__ = ["DidDensity", "ItsDensity", "OrdinalDensity", "density_for", "helmert_basis"]

_LATENT_SD = float(np.pi / np.sqrt(3.0))


def helmert_basis(n: int) -> np.ndarray:
    """(n, n-1) orthonormal columns, each orthogonal to the ones vector."""
    basis = np.zeros((n, n - 1))
    for j in range(1, n):
        basis[:j, j - 1] = 1.0 / math.sqrt(j * (j + 1))
        basis[j, j - 1] = -j / math.sqrt(j * (j + 1))
    return basis


def _f64(value: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(value, dtype=np.float64))


def _i64(value: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(value, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class _Density:
    """Common machinery: named outputs, starting points, the pyfunc wrappers nutpie calls."""

    inputs: Mapping[str, np.ndarray]
    centre: np.ndarray = field(init=False, repr=False)

    # subclasses set: n_dim, outputs {name: (shape, dims)}, coords, _args(), expand_point(), prior()
    def logp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        lp, grad = self._kernel()(np.ascontiguousarray(x, dtype=np.float64), *self._args())
        return float(lp), grad

    def initial_point(self, seed: int) -> np.ndarray:
        """PyMC's default: the support point on the unconstrained scale plus U(-1, 1) jitter."""
        rng = np.random.default_rng(seed)
        return self.centre + rng.uniform(-1.0, 1.0, size=self.centre.shape[0])

    def packed(self) -> np.ndarray:
        """The kernel's inputs as one float64 buffer (see ``_kernels``): length, (offset, length) pairs, parts."""
        return pack(self._parts())

    def compiled(self) -> Any:
        """A nutpie compiled model that calls the cached C entry points: no Python in the sampling loop.

        That interface is the one nutpie's own PyMC path uses, not a documented one (checked with nutpie 0.16).
        If a nutpie version changes it, the same kernels are sampled through the public ``from_pyfunc``
        interface instead: same draws, about 10x slower per gradient.
        """
        model = _kernel_model_class().build(self)
        try:
            model._make_model(None)  # cheap: builds the C-callback wrappers nutpie will use
        except (AttributeError, TypeError):
            return self.pyfunc()
        return model

    def pyfunc(self) -> Any:
        """The same model through nutpie's Python-callback interface (slower: a Python call per gradient)."""
        from nutpie.compiled_pyfunc import from_pyfunc

        names = list(self.outputs)
        shapes = [self.outputs[name][0] for name in names]
        args, kernel = self._args(), self._kernel()

        def make_logp() -> Callable[..., tuple[float, np.ndarray]]:
            def logp(x: np.ndarray, **_shared: Any) -> tuple[float, np.ndarray]:
                return kernel(x, *args)
            return logp

        def make_expand(_seed1: int, _seed2: int, _chain: int) -> Callable[..., dict[str, np.ndarray]]:
            def expand(x: np.ndarray, **_shared: Any) -> dict[str, np.ndarray]:
                return self.expand_point(np.asarray(x, dtype=np.float64))
            return expand

        return from_pyfunc(self.n_dim, make_logp, make_expand, [np.dtype("float64")] * len(names), shapes, names,
                           coords=_string_coords(self.coords), dims={n: self.outputs[n][1] for n in names},
                           make_initial_point_fn=self.initial_point)


def _entry_points(model: str) -> tuple[Any, Any]:
    """``model``'s C entry points, once a warm-up child (first run after an installation) has cached them."""
    from . import _warmup
    from ._kernels import entry_points

    _warmup.wait(model)
    return entry_points(model)


def _string_coords(coords: Mapping[str, Any]) -> dict[str, list[str]]:
    return {k: [str(v) for v in values] for k, values in coords.items()}


def pack(parts: list[Any]) -> np.ndarray:
    arrays = [np.ravel(np.asarray(p, dtype=np.float64)) for p in parts]
    header = 1 + 2 * len(arrays)
    total = header + sum(a.size for a in arrays)
    buffer = np.empty(total)
    buffer[0] = total
    offset = header
    for i, a in enumerate(arrays):
        buffer[1 + 2 * i], buffer[2 + 2 * i] = offset, a.size
        buffer[offset:offset + a.size] = a
        offset += a.size
    buffer.flags.writeable = False
    return buffer


@functools.cache
def _kernel_model_class() -> type:
    """Defined on first use, so that importing this module does not import nutpie."""
    from ._nutpie import import_nutpie

    import_nutpie()
    from nutpie import _lib
    from nutpie.sample import CompiledModel

    @dataclass(frozen=True)
    class KernelModel(CompiledModel):
        """nutpie's compiled-model protocol (as its PyMC/numba path implements it) over oca's C entry points."""

        density: Any = None
        buffer: Any = None
        _names: tuple[str, ...] = ()
        _shapes_list: tuple[tuple[int, ...], ...] = ()
        _coords_map: Any = None

        @classmethod
        def build(cls, density: _Density) -> Any:
            names = tuple(density.outputs)
            return cls(dims={n: density.outputs[n][1] for n in names}, density=density, buffer=density.packed(),
                       _names=names, _shapes_list=tuple(density.outputs[n][0] for n in names),
                       _coords_map=_string_coords(density.coords))

        @property
        def n_dim(self) -> int:
            return self.density.n_dim

        @property
        def shapes(self) -> dict[str, tuple[int, ...]]:
            return dict(zip(self._names, self._shapes_list, strict=True))

        @property
        def coords(self) -> Any:
            return self._coords_map

        def _make_sampler(self, settings: Any, init_mean: Any, cores: int, progress_type: Any,
                          extra_callback: Any, extra_callback_rate: Any, store: Any) -> Any:
            return _lib.PySampler.from_pymc(settings, cores, self._make_model(init_mean), progress_type,
                                            extra_callback, extra_callback_rate, store)

        def _make_model(self, init_mean: Any) -> Any:
            logp_c, expand_c = self.density._cfuncs()
            n_expanded = sum(int(np.prod(shape)) for shape in self._shapes_list)
            address = self.buffer.ctypes.data
            expand = _lib.ExpandFunc(self.n_dim, n_expanded, expand_c.address, address, self)
            logp = _lib.LogpFunc(logp_c.address, address, self)
            coords = dict(self._coords_map)
            variables = _lib.PyVariable.new_variables(list(self._names), ["float64"] * len(self._names),
                                                      [list(s) for s in self._shapes_list],
                                                      {k: len(v) for k, v in coords.items()}, dict(self.dims))
            return _lib.PyMcModel(logp, expand, variables, self.n_dim, {k: len(v) for k, v in coords.items()},
                                  coords, self.density.initial_point, None)

    return KernelModel


def _scales(inputs: Mapping[str, np.ndarray], names: tuple[str, ...], factor: float = 1.0) -> np.ndarray:
    return np.array([float(inputs[f"prior_{name}"]) * factor for name in names])


# --------------------------------------------------------------------------- DiD


@dataclass(frozen=True, eq=False)
class DidDensity(_Density):
    group_labels: tuple[str, ...] = ()
    cluster_labels: tuple[str, ...] = ()
    centered: bool = False

    def __post_init__(self) -> None:
        scales = _scales(self.inputs, ("trend", "effect", "group_sd", "cluster_sd", "noise_sd"))
        centre = [0.0, 0.0]
        if self.hierarchical:
            centre += [math.log(scales[2])] + [0.0] * self.n_groups
        centre += [math.log(scales[3]), math.log(scales[4])]
        object.__setattr__(self, "centre", np.array(centre))

    @property
    def n_groups(self) -> int:
        return len(self.group_labels)

    @property
    def hierarchical(self) -> bool:
        return self.n_groups > 1

    @property
    def n_dim(self) -> int:
        return 4 + (1 + self.n_groups if self.hierarchical else 0)

    @property
    def coords(self) -> dict[str, list[str]]:
        return {"group": list(self.group_labels)}

    @property
    def outputs(self) -> dict[str, tuple[tuple[int, ...], tuple[str, ...]]]:
        out: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {"trend": ((), ()), "effect": ((), ())}
        if self.hierarchical:
            out["group_sd"] = ((), ())
            if not self.centered:
                out["group_z"] = ((self.n_groups,), ("group",))
        out["group_effect"] = ((self.n_groups,), ("group",))
        out["cluster_sd"] = ((), ())
        out["noise_sd"] = ((), ())
        return out

    def _kernel(self) -> Any:
        from ._kernels import did_logp
        return did_logp

    def _cfuncs(self) -> tuple[Any, Any]:
        return _entry_points("did")

    def _parts(self) -> list[Any]:
        args = self._args()
        return [*args[:7], [args[7]], [float(args[8])], [float(args[9])]]

    def _args(self) -> tuple[Any, ...]:
        d = self.inputs
        return (_f64(d["n"]), _f64(d["mean_change"]), _f64(d["treated"]), _f64(d["group_index"]),
                _f64(d["ss_dof"]), _f64(d["within_ss"]),
                _scales(d, ("trend", "effect", "group_sd", "cluster_sd", "noise_sd")),
                self.n_groups, self.hierarchical, self.centered)

    def expand_point(self, x: np.ndarray) -> dict[str, np.ndarray]:
        out = {"trend": np.asarray(x[0]), "effect": np.asarray(x[1])}
        g = self.n_groups
        if self.hierarchical:
            group_sd = math.exp(x[2])
            out["group_sd"] = np.asarray(group_sd)
            if self.centered:
                out["group_effect"] = x[3:3 + g].copy()
            else:
                out["group_z"] = x[3:3 + g].copy()
                out["group_effect"] = x[1] + group_sd * x[3:3 + g]
            rest = x[3 + g:]
        else:
            out["group_effect"] = np.array([x[1]])
            rest = x[2:]
        out["cluster_sd"] = np.asarray(math.exp(rest[0]))
        out["noise_sd"] = np.asarray(math.exp(rest[1]))
        return out

    def prior(self, draws: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        d = self.inputs
        s = dict(zip(("trend", "effect", "group_sd", "cluster_sd", "noise_sd"),
                     _scales(d, ("trend", "effect", "group_sd", "cluster_sd", "noise_sd")), strict=True))
        prior: dict[str, np.ndarray] = {"trend": rng.normal(0.0, s["trend"], draws),
                                        "effect": rng.normal(0.0, s["effect"], draws)}
        if self.hierarchical:
            prior["group_sd"] = np.abs(rng.normal(0.0, s["group_sd"], draws))
            z = rng.normal(size=(draws, self.n_groups))
            if not self.centered:
                prior["group_z"] = z
            prior["group_effect"] = prior["effect"][:, None] + prior["group_sd"][:, None] * z
        else:
            prior["group_effect"] = prior["effect"][:, None]
        prior["cluster_sd"] = np.abs(rng.normal(0.0, s["cluster_sd"], draws))
        prior["noise_sd"] = np.abs(rng.normal(0.0, s["noise_sd"], draws))
        n, treated, group = _f64(d["n"]), _f64(d["treated"]), _i64(d["group_index"])
        mu = prior["trend"][:, None] + prior["group_effect"][:, group] * treated[None, :]
        sd = np.sqrt(prior["cluster_sd"][:, None] ** 2 + prior["noise_sd"][:, None] ** 2 / n[None, :])
        dof = _f64(d["ss_dof"])
        predictive = {"mean_change_obs": rng.normal(mu, sd),
                      "within_ss_obs": rng.gamma(dof[None, :] / 2.0, 2.0 * prior["noise_sd"][:, None] ** 2,
                                                 size=(draws, dof.shape[0]))}
        return prior, predictive


# --------------------------------------------------------------------------- ordinal


#: pre/post loading of the one within-community wave shock: sqrt(2) * (w - 1/2), so the shock's change
#: over the waves has SD sqrt(2) * shock_sd, as two independent per-wave shocks would.
_WAVE_CONTRAST = np.array([-1.0, 1.0]) / math.sqrt(2.0)


def _even_cutpoints(n_categories: int) -> np.ndarray:
    k = np.arange(1, n_categories)
    return np.log(k / (n_categories - k))


@dataclass(frozen=True, eq=False)
class OrdinalDensity(_Density):
    categories: tuple[int, ...] = ()
    cluster_labels: tuple[str, ...] = ()

    _NAMES = ("arm", "cluster_sd", "cutpoints", "effect", "shock_sd", "trend")

    def __post_init__(self) -> None:
        k, c = len(self.categories), len(self.cluster_labels)
        even = _even_cutpoints(k)
        s = self._latent_scales()
        centre = np.concatenate([[even[0]], np.log(np.diff(even)), [0.0, 0.0, 0.0, math.log(s["cluster_sd"])],
                                 np.zeros(c), [math.log(s["shock_sd"])], np.zeros(c)])
        object.__setattr__(self, "centre", centre)

    def _latent_scales(self) -> dict[str, float]:
        return dict(zip(self._NAMES, _scales(self.inputs, self._NAMES, _LATENT_SD), strict=True))

    @property
    def n_dim(self) -> int:
        return len(self.categories) + 4 + 2 * len(self.cluster_labels)

    @property
    def coords(self) -> dict[str, list[Any]]:
        cats = self.categories
        return {"cluster": list(self.cluster_labels), "wave": ["pre", "post"],
                "cut": [f"{a}|{b}" for a, b in zip(cats[:-1], cats[1:], strict=True)],
                "gap": list(range(1, len(cats) - 1))}

    @property
    def outputs(self) -> dict[str, tuple[tuple[int, ...], tuple[str, ...]]]:
        k, c = len(self.categories), len(self.cluster_labels)
        return {"first_cutpoint": ((), ()), "cutpoint_gaps": ((k - 2,), ("gap",)), "cutpoints": ((k - 1,), ("cut",)),
                "arm": ((), ()), "trend": ((), ()), "effect": ((), ()), "cluster_sd": ((), ()),
                "cluster_z": ((c,), ("cluster",)), "shock_sd": ((), ()), "shock_z": ((c,), ("cluster",))}

    def _kernel(self) -> Any:
        from ._kernels import ordinal_logp
        return ordinal_logp

    def _constant(self) -> float:
        counts = _f64(self.inputs["counts"])
        return float(np.sum(gammaln(counts.sum(axis=-1) + 1.0)) - np.sum(gammaln(counts + 1.0)))

    def _cfuncs(self) -> tuple[Any, Any]:
        return _entry_points("ordinal")

    def _parts(self) -> list[Any]:
        counts, n_clusters, n_cat, treated, scales, first, gaps, gap_sd, constant = self._args()
        return [counts, [n_clusters, n_cat], treated, scales, [first], gaps, [gap_sd], [constant]]

    def _args(self) -> tuple[Any, ...]:
        even = _even_cutpoints(len(self.categories))
        # every scale is in latent SDs except the log-gaps' (prior_cutpoints / 2, unitless), as in _models.py
        counts = _f64(self.inputs["counts"])
        return (np.ravel(counts), counts.shape[0], counts.shape[2], _f64(self.inputs["treated"]),
                _scales(self.inputs, self._NAMES,
                _LATENT_SD), float(even[0]), np.log(np.diff(even)), float(self.inputs["prior_cutpoints"]) / 2.0,
                self._constant())

    def expand_point(self, x: np.ndarray) -> dict[str, np.ndarray]:
        k, c = len(self.categories), len(self.cluster_labels)
        gaps = np.exp(x[1:k - 1])
        i = k - 1
        return {"first_cutpoint": np.asarray(x[0]), "cutpoint_gaps": gaps,
                "cutpoints": np.cumsum(np.concatenate([[x[0]], gaps])),  # summed in the C kernel's order
                "arm": np.asarray(x[i]), "trend": np.asarray(x[i + 1]), "effect": np.asarray(x[i + 2]),
                "cluster_sd": np.asarray(math.exp(x[i + 3])), "cluster_z": x[i + 4:i + 4 + c].copy(),
                "shock_sd": np.asarray(math.exp(x[i + 4 + c])),
                "shock_z": x[i + 5 + c:i + 5 + 2 * c].copy()}

    def prior(self, draws: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        k, c = len(self.categories), len(self.cluster_labels)
        s = self._latent_scales()
        cut_scale = float(self.inputs["prior_cutpoints"])
        even = _even_cutpoints(k)
        first = rng.normal(even[0], s["cutpoints"], draws)
        gaps = np.exp(rng.normal(np.log(np.diff(even))[None, :], cut_scale / 2.0, size=(draws, k - 2)))
        prior = {"first_cutpoint": first, "cutpoint_gaps": gaps,
                 "cutpoints": np.concatenate([first[:, None], first[:, None] + np.cumsum(gaps, axis=1)], axis=1),
                 "arm": rng.normal(0.0, s["arm"], draws), "trend": rng.normal(0.0, s["trend"], draws),
                 "effect": rng.normal(0.0, s["effect"], draws),
                 "cluster_sd": np.abs(rng.normal(0.0, s["cluster_sd"], draws)),
                 "cluster_z": rng.normal(size=(draws, c)),
                 "shock_sd": np.abs(rng.normal(0.0, s["shock_sd"], draws)),
                 "shock_z": rng.normal(size=(draws, c))}
        treated = _f64(self.inputs["treated"])[None, :, None]
        post = np.array([0.0, 1.0])[None, None, :]
        eta = (prior["arm"][:, None, None] * treated + (prior["cluster_sd"][:, None] * prior["cluster_z"])[..., None]
               + prior["trend"][:, None, None] * post + prior["effect"][:, None, None] * treated * post
               + (prior["shock_sd"][:, None] * prior["shock_z"])[..., None] * _WAVE_CONTRAST[None, None, :])
        below = 1.0 / (1.0 + np.exp(-(prior["cutpoints"][:, None, None, :] - eta[..., None])))
        probs = np.concatenate([below[..., :1], np.diff(below, axis=-1), 1.0 - below[..., -1:]], axis=-1)
        probs = np.clip(probs, 0.0, None)
        probs /= probs.sum(axis=-1, keepdims=True)
        totals = _i64(np.asarray(self.inputs["counts"]).sum(axis=-1))
        counts = rng.multinomial(np.broadcast_to(totals, (draws, c, 2)), probs)
        return prior, {"counts_obs": counts.astype(np.int64)}


# --------------------------------------------------------------------------- ITS


@dataclass(frozen=True, eq=False)
class ItsDensity(_Density):
    unit_labels: tuple[str, ...] = ()
    n_steps: int = 1

    _NAMES = ("level", "level_step_sd", "overdispersion", "regressor", "season_sd")

    def __post_init__(self) -> None:
        u, s = len(self.unit_labels), self.n_steps
        sc = dict(zip(self._NAMES, _scales(self.inputs, self._NAMES), strict=True))
        centre = np.concatenate([np.full(u, float(self.inputs["level_centre"])), [math.log(sc["level_step_sd"])],
                                 np.zeros(u * (s - 1)), np.zeros(6), [0.0], [math.log(sc["overdispersion"])]])
        object.__setattr__(self, "centre", centre)

    @property
    def n_dim(self) -> int:
        u = len(self.unit_labels)
        return u + 1 + u * (self.n_steps - 1) + 6 + 2

    @property
    def coords(self) -> dict[str, list[Any]]:
        return {"unit": list(self.unit_labels), "step": list(range(1, self.n_steps)),
                "weekday": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}

    @property
    def outputs(self) -> dict[str, tuple[tuple[int, ...], tuple[str, ...]]]:
        u = len(self.unit_labels)
        return {"level": ((u,), ("unit",)), "level_step_sd": ((), ()),
                "level_step_z": ((u, self.n_steps - 1), ("unit", "step")),
                "weekday_effect": ((7,), ("weekday",)), "regressor_coef": ((), ()), "overdispersion": ((), ())}

    def _kernel(self) -> Any:
        from ._kernels import its_logp
        return its_logp

    def _constant(self) -> float:
        k, n = _f64(self.inputs["successes"]), _f64(self.inputs["trials"])
        return float(np.sum(gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)))

    def _cfuncs(self) -> tuple[Any, Any]:
        return _entry_points("its")

    def _parts(self) -> list[Any]:
        a = self._args()
        return [*a[:7], [a[7]], a[8], a[9], [a[10], a[11], a[12]]]

    def _args(self) -> tuple[Any, ...]:
        d = self.inputs
        # every array as float64 (indices too): the kernels convert, so that one buffer carries them to C
        return (_f64(d["obs_unit"]), _f64(d["obs_day"]), _f64(d["successes"]), _f64(d["trials"]),
                _f64(d["step_of_day"]), _f64(d["day_of_week"]), _f64(d["regressor"]), float(d["level_centre"]),
                _scales(d, self._NAMES), np.ravel(helmert_basis(7)), len(self.unit_labels), self.n_steps,
                self._constant())

    def expand_point(self, x: np.ndarray) -> dict[str, np.ndarray]:
        u, s = len(self.unit_labels), self.n_steps
        i_z = u + 1
        i_w = i_z + u * (s - 1)
        return {"level": x[:u].copy(), "level_step_sd": np.asarray(math.exp(x[u])),
                "level_step_z": x[i_z:i_w].reshape(u, s - 1).copy(),
                "weekday_effect": np.ascontiguousarray(np.cumsum(helmert_basis(7) * x[i_w:i_w + 6], axis=1)[:, -1]),
                "regressor_coef": np.asarray(x[i_w + 6]), "overdispersion": np.asarray(math.exp(x[i_w + 7]))}

    def prior(self, draws: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        d = self.inputs
        u, s = len(self.unit_labels), self.n_steps
        sc = dict(zip(self._NAMES, _scales(d, self._NAMES), strict=True))
        prior = {"level": rng.normal(float(d["level_centre"]), sc["level"], (draws, u)),
                 "level_step_sd": np.abs(rng.normal(0.0, sc["level_step_sd"], draws)),
                 "level_step_z": rng.normal(size=(draws, u, s - 1)),
                 "weekday_effect": rng.normal(0.0, sc["season_sd"], (draws, 6)) @ helmert_basis(7).T,
                 "regressor_coef": rng.normal(0.0, sc["regressor"], draws),
                 "overdispersion": np.abs(rng.normal(0.0, sc["overdispersion"], draws))}
        walk = np.concatenate([np.zeros((draws, u, 1)), np.cumsum(prior["level_step_sd"][:, None, None]
                                                                  * prior["level_step_z"], axis=2)], axis=2)
        unit, day = _i64(d["obs_unit"]), _i64(d["obs_day"])
        step, dow = _i64(d["step_of_day"])[day], _i64(d["day_of_week"])[day]
        eta = (prior["level"][:, unit] + walk[:, unit, step] + prior["weekday_effect"][:, dow]
               + prior["regressor_coef"][:, None] * _f64(d["regressor"])[day][None, :])
        p = 1.0 / (1.0 + np.exp(-eta))
        kappa = 1.0 / prior["overdispersion"][:, None] ** 2
        share = rng.beta(np.maximum(p * kappa, 1e-300), np.maximum((1.0 - p) * kappa, 1e-300))
        successes = rng.binomial(_i64(d["trials"])[None, :], np.nan_to_num(share, nan=0.5))
        return prior, {"successes_obs": successes.astype(np.int64)}


def _did_labels(inputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
    n_groups = int(np.max(inputs["group_index"])) + 1 if np.size(inputs["group_index"]) else 1
    return {"group": [f"g{g}" for g in range(n_groups)], "cluster": [f"c{c}" for c in range(np.size(inputs["n"]))]}


def _ordinal_labels(inputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
    counts = np.asarray(inputs["counts"])
    return {"category": list(range(1, counts.shape[-1] + 1)), "cluster": [f"c{c}" for c in range(counts.shape[0])]}


def _its_labels(inputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
    return {"unit": [f"u{u}" for u in range(int(np.max(inputs["obs_unit"])) + 1)],
            "n_steps": int(np.max(inputs["step_of_day"])) + 1}


#: Each model's density, registered once: (default labels from the inputs' shapes, constructor).
DENSITIES: Mapping[str, tuple[Callable[[Mapping[str, np.ndarray]], dict[str, Any]],
                              Callable[[Mapping[str, np.ndarray], Mapping[str, Any], Mapping[str, Any]], _Density]]] = {
    "bayes_did": (_did_labels, lambda inputs, structure, labels: DidDensity(
        inputs, group_labels=tuple(labels["group"]), cluster_labels=tuple(labels["cluster"]),
        centered=bool(structure.get("centered", False)))),
    "ordinal_did": (_ordinal_labels, lambda inputs, structure, labels: OrdinalDensity(
        inputs, categories=tuple(labels["category"]), cluster_labels=tuple(labels["cluster"]))),
    "bayes_its": (_its_labels, lambda inputs, structure, labels: ItsDensity(
        inputs, unit_labels=tuple(labels["unit"]), n_steps=int(labels["n_steps"]))),
}


def density_for(kind: str, structure: Mapping[str, Any], inputs: Mapping[str, np.ndarray],
                labels: Mapping[str, Any] | None = None) -> _Density:
    """The density of model ``kind`` for these inputs (``*_model_data``) and labels (coordinates; numbered when
    not given)."""
    if kind not in DENSITIES:
        raise ValueError(f"unknown model kind {kind!r}")
    default_labels, build = DENSITIES[kind]
    return build(inputs, structure, labels if labels is not None else default_labels(inputs))
