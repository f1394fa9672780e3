"""``oca design diagnose``: power, MDE, bias, coverage, type-S and type-M of a registered design, by simulation.

Registered in ``cli.py``. Exit codes: 0 success; 2 bad input (an option, the spec, pilot data, the scheduler
address); 3 the registered estimator failed; 70 internal error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._cli_common import DataOption, StudyArg, _guarded, _parse_data

design_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="Design diagnosis before fielding: power, MDE, bias and coverage by simulation.")


@design_app.command("diagnose")
def diagnose_command(
    study: StudyArg,
    hypothesis_id: Annotated[str, typer.Argument(help="Id of the hypothesis whose design to diagnose.")],
    n: Annotated[int | None, typer.Option("--n", help="Planned respondents at baseline, in total.")] = None,
    clusters: Annotated[int | None, typer.Option(help="Planned clusters (units of assignment).")] = None,
    icc: Annotated[float | None, typer.Option(help="Intra-cluster correlation of the outcome.")] = None,
    effect: Annotated[float | None, typer.Option(
        help="True effect to diagnose, on the outcome's scale (default: the spec's power.mde or SESOI).")] = None,
    attrition: Annotated[float | None, typer.Option(help="Share of baseline respondents lost by endline.")] = None,
    sims: Annotated[int, typer.Option(help="Simulated surveys per effect size.")] = 1000,
    data: DataOption = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Run on a Dask distributed cluster at tcp://HOST:PORT (default: local processes).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Folder for diagnosis.json and power_curve.png (default: STUDY_DIR/design/HYPOTHESIS_ID).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulation (recorded in diagnosis.json).")] = 20260901,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: one per core).")] = None,
    power: Annotated[float | None, typer.Option(
        "--power", help="Target power of the MDE search (default: the spec's power section, else 0.8).")] = None,
    iac: Annotated[float | None, typer.Option(
        help="Individual autocorrelation: a respondent's stable share of within-cluster variance.")] = None,
    cac: Annotated[float | None, typer.Option(
        help="Cluster autocorrelation: the stable share of between-cluster variance.")] = None,
    sd: Annotated[float | None, typer.Option(help="Standard deviation of the outcome at one wave.")] = None,
    treated_share: Annotated[float | None, typer.Option(help="Share of clusters assigned to treatment.")] = None,
    likert: Annotated[bool, typer.Option(
        "--likert", help="Simulate the registered items as whole answers on the registered scale.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Simulate the design, analyse every simulated survey with the registered estimator and inference rule,
    and save diagnosis.json and power_curve.png."""

    def body() -> int:
        from .design import default_output_dir, diagnose, make_executor, save_diagnosis
        from .api import load_study

        overrides = {"respondents": n, "clusters": clusters, "icc": icc, "effect": effect, "attrition": attrition,
                     "target_power": power, "individual_autocorrelation": iac, "cluster_autocorrelation": cac,
                     "outcome_sd": sd, "treated_share": treated_share}
        parsed = _parse_data(data)
        loaded = load_study(study)
        bar = _ProgressBar() if progress else None
        with make_executor(scheduler=scheduler, workers=workers) as executor:
            try:
                diagnosis = diagnose(loaded, hypothesis_id, design=overrides, data=parsed or None, sims=sims,
                                     seed=seed, likert=likert, executor=executor,
                                     progress=bar.update if bar else None)
            finally:
                if bar:
                    bar.close()
        target = out or default_output_dir(loaded.path, hypothesis_id)
        saved = save_diagnosis(diagnosis, target)
        for line in diagnosis.summary_lines():
            typer.echo(line)
        typer.echo(f"wrote {saved.json_path} (sha256 {saved.sha256}) and {saved.plot_path}")
        return 0

    _guarded(body)


class _ProgressBar:
    """tqdm on stderr, opened at the first report (so that bad input stays a single error line); the total grows
    while the MDE search adds effect sizes."""

    def __init__(self) -> None:
        self._bar = None

    def update(self, finished: int, planned: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=planned, unit="chunk", desc="simulating", leave=False, dynamic_ncols=True)
        if self._bar.total != planned:
            self._bar.total = planned
        self._bar.update(finished - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
