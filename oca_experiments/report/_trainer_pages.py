"""Trainer summaries as pages: ``oca summary`` reads a finished run and writes ``index.html`` plus one
``<hypothesis id>.html`` per hypothesis, self-contained (no scripts, no links out but between the pages), with a
small picture of each answer.

The words are the summarize stage's (``summarize.trainer_summary``: a frozen ``TrainerSummary``, every sentence in
the language); this module reads the run folder (``results.json``; ``manifest.json`` for the specs, the lock dates
and the study folder), renders the model as HTML and draws the pictures. It adds no word of its own.
"""

from __future__ import annotations

import base64
import html
import io
import json
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import format_decimal

from oca_experiments._atomic import staged_directory
from oca_experiments._layout import DEFAULT_SUPPRESSION_THRESHOLD
from oca_experiments.errors import ReportError
from oca_experiments.io import FormLabels

__all__ = ["PlainPage", "plain_pages", "write_summaries"]


@dataclass(frozen=True)
class PlainPage:
    """One hypothesis in plain language; ``html`` is a whole self-contained page."""

    hypothesis_id: str
    title: str
    question: str
    headline: str
    details: tuple[str, ...]
    caveats: tuple[str, ...]
    html: str
    has_picture: bool


_STYLE = """body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:42rem;
margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}h1{font-size:1.6rem;margin-bottom:.2rem}
.kind{color:#555;font-size:.9rem;margin-top:0}.question{font-style:italic}.headline{font-size:1.2rem;
font-weight:600}img{max-width:100%;height:auto}.caveats{background:#fff6e0;border-left:4px solid #d08c00;
padding:.5rem 1rem}.footer{color:#555;font-size:.85rem;border-top:1px solid #ddd;margin-top:2rem;padding-top:.5rem}
a{color:#1f4e79}"""


def _html_page(lang: str, title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


def _png(picture: Any, lang: str) -> str:
    """The picture as a PNG data URI: the likely range, the best guess and the dashed line of no change."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    locale = Locale.parse(lang)
    values = [picture.estimate, picture.low, picture.high]
    span = max(abs(values[1]), abs(values[2]), 1e-9)
    fig, ax = plt.subplots(figsize=(5.2, 1.6), dpi=150)
    ax.plot([values[1], values[2]], [0, 0], color="#1f4e79", linewidth=6, solid_capstyle="round", alpha=0.35,
            label=picture.range_label)
    ax.plot([values[0]], [0], "o", color="#1f4e79", markersize=10, label=picture.estimate_label)
    ax.axvline(0, color="#555555", linestyle="--", linewidth=1)
    ax.annotate(picture.no_change_label, xy=(0, 0.8), xycoords=("data", "axes fraction"), ha="center",
                fontsize=8, color="#555555", backgroundcolor="white")
    ax.set_xlim(-1.25 * span, 1.25 * span)
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    # wrapped to the axes' width: a long label (a unit in words) widened the tight PNG, which the page then shrank
    ax.set_xlabel(textwrap.fill(picture.axis_label, 60), fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda x, _pos: format_decimal(x, format="#,##0.##", locale=locale)))
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper center", fontsize=7, frameon=False, ncol=2, bbox_to_anchor=(0.5, -0.62))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})  # no library build
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render_page(summary: Any, page: Any) -> PlainPage:
    """One ``SummaryPage`` of ``summary`` as a whole page."""
    e = html.escape
    body = [f"<p><a href=\"index.html\">{e(summary.back_link)}</a></p>",
            f"<h1>{e(page.title)}</h1>",
            f"<p class=\"kind\">{e(page.kind)}</p>",
            f"<p class=\"question\">{e(page.question)}</p>",
            f"<p class=\"headline\">{e(page.headline)}</p>"]
    details = page.details
    for detail in details[:-1] if page.related else details:
        body.append(f"<p>{e(detail)}</p>")
    if page.related:  # the related sentence links each note to its page
        links = ", ".join(f'<a href="{e(other)}.html">{e(note)}</a>' for other, note in page.related)
        body.append("<p>" + e(details[-1]).replace(e(page.related_list), links, 1) + "</p>")
    if page.picture is not None:
        body.append(f'<p><img src="{_png(page.picture, summary.lang)}" alt="{e(page.picture.alt)}" '
                    'style="width: 34rem"></p>')
    if page.caveats:
        body.append(f"<div class=\"caveats\"><h2>{e(summary.caveats_heading)}</h2><ul>"
                    + "".join(f"<li>{e(c)}</li>" for c in page.caveats) + "</ul></div>")
    body.append("<div class=\"footer\">" + "".join(f"<p>{e(f)}</p>" for f in page.footer) + "</div>")
    return PlainPage(hypothesis_id=page.hypothesis_id, title=page.title, question=page.question,
                     headline=page.headline, details=page.details, caveats=page.caveats,
                     html=_html_page(summary.lang, page.title, "\n".join(body)), has_picture=page.has_picture)


def render_index(summary: Any) -> str:
    """The index page: how to read the pages, then each question with its answer."""
    e = html.escape
    body = [f"<h1>{e(summary.heading)}</h1>",
            f"<p class=\"kind\">{e(summary.study)}</p>",
            f"<h2>{e(summary.how_to_read_heading)}</h2>",
            "<p>" + e(summary.how_to_read) + "</p>",
            "<ul>"]
    for page in summary.pages:
        body.append(f"<li><p><a href=\"{e(page.hypothesis_id)}.html\"><strong>{e(page.title)}"
                    f"</strong></a><br>{e(page.headline)}</p></li>")
    body.append("</ul>")
    return _html_page(summary.lang, summary.title, "\n".join(body))


# --------------------------------------------------------------------------- reading the run folder


def _load_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        raise ReportError("results.json not found; summaries are written from a finished run",
                          path=str(results_path), fix="pass the run folder, e.g. build/demo")
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ReportError("results.json is not valid UTF-8 JSON", path=str(results_path),
                          fix="re-run the analysis to rewrite results.json") from None
    manifest = None
    manifest_path = run_dir / "manifest.json"
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            manifest = None
    return results, manifest if isinstance(manifest, dict) else None


def _study_context(study_dir: Path | None, manifest: Mapping[str, Any] | None) -> tuple[Path | None, dict, int]:
    """(study folder, specs by id, suppression threshold): from the manifest, the study folder, or defaults."""
    specs = dict((manifest or {}).get("specs") or {})
    if study_dir is None and manifest:
        recorded = (manifest.get("study") or {}).get("path")
        study_dir = Path(recorded) if recorded and Path(recorded, "study.yaml").is_file() else None
    threshold = DEFAULT_SUPPRESSION_THRESHOLD
    if study_dir is not None:
        from oca_experiments.spec import load_hypotheses, load_study_config

        config = load_study_config(study_dir)
        threshold = config.suppression_threshold
        if not specs:
            specs = {s.spec.id: s.spec.model_dump(mode="json") for s in load_hypotheses(study_dir)}
    return study_dir, specs, threshold


def _form_level_labels(manifest: Mapping[str, Any] | None,
                       lang: str) -> Callable[[str, str], str | None] | None:
    """Subgroup names from the XLSForm choice labels the run recorded in manifest.json (none without a form)."""
    recorded = (manifest or {}).get("labels")
    forms = [f for f in (FormLabels.from_json(v) for v in recorded.values()) if f is not None] \
        if isinstance(recorded, Mapping) else []
    if not forms:
        return None
    return lambda column, value: next((text for form in forms
                                       if (text := form.choice(column, value, lang)) is not None), None)


def _lock_dates(manifest: Mapping[str, Any] | None) -> dict[str, str]:
    """spec id -> when the registry lock recorded it (the run's manifest copies the lock's state)."""
    lock = (((manifest or {}).get("preregistration") or {}).get("lock") or {})
    entries = lock.get("specs") if isinstance(lock, Mapping) else None
    return {str(e.get("spec")): str(e.get("locked_at")) for e in entries or []
            if isinstance(e, Mapping) and e.get("locked_at")}


def run_summary(run_dir: str | Path, *, lang: str, study_dir: str | Path | None = None) -> Any:
    """The ``TrainerSummary`` of a finished run (its words, no HTML): read from the run folder and the study's."""
    from oca_experiments.summarize import study_words, trainer_summary  # babel catalogs: loaded on first use

    results, manifest = _load_run(Path(run_dir))
    study_path, specs, threshold = _study_context(Path(study_dir) if study_dir else None, manifest)
    records = [h for h in results.get("hypotheses") or [] if isinstance(h, Mapping)]
    return trainer_summary(records, lang=lang, study=str(results.get("study") or ""), specs=specs,
                           threshold=threshold, words=study_words(study_path, lang), locks=_lock_dates(manifest),
                           level_labels=_form_level_labels(manifest, lang), series_estimators=_series_estimators())


#: The built-in estimators whose registry data kind is not "survey" (tests/unit/report/test_trainer_words.py keeps
#: this equal to the registry). The report's notebook kernel reads it instead of importing the registry, which
#: loads every fitter (numba, scipy.stats, statsmodels: about 2 s of a cold report for one set of names).
BUILT_IN_SERIES_ESTIMATORS = frozenset({"bayes_its", "its", "staggered_did", "sun_abraham", "synthetic_control",
                                        "synthetic_did", "twfe"})


def _series_estimators() -> frozenset[str]:
    """Estimators that read series of pages or communities, not survey respondents (the registry's data kind).
    The registry when this process has loaded it (an estimator registered at run time counts), else the built-in
    names; an unknown estimator is never a series one, so its page keeps the survey privacy rule."""
    import sys

    if "oca_experiments.estimators" not in sys.modules:
        return BUILT_IN_SERIES_ESTIMATORS
    from oca_experiments.estimators import REGISTRY

    return frozenset(name for name, record in REGISTRY.items() if record.data_kind != "survey")


def plain_pages(run_dir: str | Path, *, lang: str, study_dir: str | Path | None = None) -> tuple[list[PlainPage], str]:
    """The pages for every hypothesis of the run, and the index page (HTML). Writes nothing."""
    summary = run_summary(run_dir, lang=lang, study_dir=study_dir)
    return [render_page(summary, page) for page in summary.pages], render_index(summary)


def write_summaries(run_dir: str | Path, *, lang: str, out_dir: str | Path,
                    study_dir: str | Path | None = None) -> list[Path]:
    """Write ``out_dir/index.html`` and one page per hypothesis; ``out_dir`` is replaced only on success."""
    pages, index = plain_pages(run_dir, lang=lang, study_dir=study_dir)
    with staged_directory(out_dir) as stage:
        (stage / "index.html").write_text(index, encoding="utf-8")
        for page in pages:
            (stage / f"{page.hypothesis_id}.html").write_text(page.html, encoding="utf-8")
    out = Path(out_dir)
    return [out / "index.html", *(out / f"{p.hypothesis_id}.html" for p in pages)]
