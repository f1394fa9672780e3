"""Acceptance 3: a real dask.distributed cluster on loopback gives exactly the local results for the same seed."""

from __future__ import annotations

import logging

import pytest

from oca_experiments import design


@pytest.fixture(scope="module")
def scheduler_address():
    from distributed import LocalCluster

    # A real scheduler and worker talking TCP on 127.0.0.1; threads, not processes, keep it cheap on 2 cores.
    cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False, host="127.0.0.1", protocol="tcp://",
                           dashboard_address=None, silence_logs=logging.ERROR)
    try:
        yield cluster.scheduler_address, cluster.scheduler
    finally:
        cluster.close(timeout=30)


@pytest.mark.parametrize("edits", [{}, {"inference.few_clusters": {"threshold": 0}}], ids=["wild_webb", "CR1"])
def test_dask_results_equal_the_local_run(variant_study, scheduler_address, edits) -> None:
    address, scheduler = scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    study = variant_study(edits)
    kwargs = dict(design={"clusters": 10, "respondents": 200, "effect": 0.3}, sims=120, seed=99, curve_points=3)
    local = design.diagnose(study, "h1_horizontal_trust", executor=design.SerialExecutor(), **kwargs)
    before = scheduler.transition_counter
    seen: list[tuple[int, int]] = []
    with design.DaskExecutor(address) as executor:
        remote = design.diagnose(study, "h1_horizontal_trust", executor=executor,
                                 progress=lambda done, planned: seen.append((done, planned)), **kwargs)
    assert scheduler.transition_counter > before, "the chunks did not run on the cluster"
    assert remote.executor["kind"] == "dask" and local.executor["kind"] == "serial"
    assert remote.to_json() == local.to_json()  # bit for bit, so the lock's hash is the same too
    assert seen[-1][0] == seen[-1][1] and seen[-1][1] >= 2 * 4  # 2 chunks (100 + 20) per effect size


def test_scheduler_address_is_checked_before_connecting() -> None:
    for bad in ("localhost:8786", "http://127.0.0.1:8786", "tcp://127.0.0.1"):
        with pytest.raises(design.DesignInputError, match="--scheduler"):
            design.DaskExecutor(bad)


def test_make_executor_defaults_to_local_processes() -> None:
    assert isinstance(design.make_executor(), design.ProcessExecutor)
    assert isinstance(design.make_executor(workers=1), design.SerialExecutor)
    with pytest.raises(design.DesignInputError, match="--workers"):
        design.ProcessExecutor(0)
