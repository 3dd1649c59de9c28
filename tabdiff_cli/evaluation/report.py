"""The quality report as one self-contained HTML page (`tabdiff report`), rendered with Jinja2.

`build_report` measures (`evaluation.metrics.evaluate_tables`), draws (`evaluation.plots`, as SVG) and renders;
`render_html` only renders an `evaluate_tables` dict and figures, so the page shows exactly the numbers of
that dict. The page needs nothing outside itself: the CSS is in the template, the figures are SVG documents
inlined as ``data:`` URIs, and the fonts are the reader's own sans-serif. The template ships with the
package (``evaluation/templates/report.html.j2``).

Plain data only: a model's training curve comes in as the checkpoint's ``meta`` dict (``loss_history`` …),
read by the caller (the CLI), since this layer never loads the model.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tabdiff_cli.errors import UserError
from tabdiff_cli.evaluation.metrics import evaluate_tables
from tabdiff_cli.evaluation.plots import correlation_svg, loss_curve_svg, marginals_svg

__all__ = ["ReportError", "build_report", "check_report_out", "render_html"]

TEMPLATE = "report.html.j2"
_MAX_PAIRS = 10  # the worst column pairs listed under the correlation figure
_JUDGES = {
    "xgboost": ("XGBoost", "xgboost.XGBClassifier, default parameters (TabPC's XGBoost Detection)"),
    "gradient_boosting": ("gradient boosting", "scikit-learn HistGradientBoostingClassifier, missing cells kept"),
    "logistic_regression": ("logistic regression", "sdmetrics LogisticDetection: imputer, RobustScaler, lbfgs"),
}
MEANINGS = {
    "shape": "Does each column on its own look right? 1: the same distribution as the real column; 0: no "
             "overlap at all.",
    "trend": "Do pairs of columns move together as in the real table? 1: the same correlations and "
             "co-occurrences; 0: the opposite.",
    "detection": "Can a classifier tell generated rows from real ones? 1: no better than a coin flip; 0: it "
                 "always can.",
    "alpha_precision": "Share of generated rows that land where real rows live. 1: all of them; 0: none.",
    "beta_recall": "Share of real rows whose neighbourhood the generated rows reach. 1: all the variety of "
                   "the real table; 0: none of it.",
    "dcr_score": "Share of generated rows closer to a training row than to a held-out one. 0.5: the model "
                 "generalises; 1: it copies its training rows.",
    "exact_copy_share": "Share of generated rows identical to a training row. 0 is ideal; compare with the "
                        "rate for held-out rows.",
    "dcr_ratio": "Median distance to the closest training row, generated ÷ held-out. About 1: healthy; far "
                 "below 1: memorising.",
    "tstr": "A model trained on generated rows, scored on held-out real rows, against one trained on the real "
            "rows. Equal: the generated rows are as useful.",
}

# The one line under each summary card: what its ends mean.
CARD_MEANINGS = {
    "shape.mean": "1: each column distributed as in the real table · 0: no overlap",
    "trend.mean": "1: pairs of columns relate as in the real table · 0: the opposite",
    "detection": "1: a classifier cannot tell generated from real · 0: it always can",
    "alpha_precision": "1: every generated row lies where real rows do · 0: none does",
    "beta_recall": "1: the generated rows cover all the real variety · 0: none of it",
    "privacy.dcr_score": "0.5: no closer to training rows than to unseen ones · 1: copies",
    "privacy.exact_copy_share": "0: no generated row copies a training row",
    "tstr": "equal to the REAL-trained score: the generated rows are as useful",
}


class ReportError(UserError):
    """Bad input to the report: an output path that is a folder or not ``.html``. A UserError, so the CLI prints
    the one-line message and exits 2."""


def check_report_out(out: str | Path) -> Path:
    """The output path of the report, validated before any work. Errors: ReportError naming the path."""
    path = Path(out)
    if path.is_dir():
        raise ReportError(f"--out {out} is a folder; name the report's .html file")
    if path.suffix.lower() != ".html":
        raise ReportError(f"--out {out}: the report is an HTML page; use a file name ending in .html")
    return path


def build_report(real: pd.DataFrame, synth: pd.DataFrame, test: pd.DataFrame | None = None,
                 target: str | None = None, *, discrete_columns: list[str] | None = None,
                 training: Mapping[str, Any] | None = None, calibration: Mapping[str, Any] | None = None,
                 sources: Mapping[str, str | None] | None = None, generated: str | None = None, seed: int = 0,
                 max_rows: int = 20000) -> tuple[str, dict]:
    """Measure ``synth`` against ``real`` (and ``test``), draw the figures, render the page.

    Args:
        real, synth, test, target, discrete_columns, seed, max_rows: as `evaluate_tables`.
        training: a checkpoint's ``meta`` dict (``loss_history``: mean training loss at each logged point,
            ``steps``, ``epochs``, ``final_loss``, ``fit_seconds``, ``device``, ``seed``, ``n_rows``), or None.
        calibration: the conditional-calibration section, or None (see `render_html`).
        sources: what to call the inputs on the page: keys ``real``, ``synth``, ``test``, ``model``,
            ``generator`` (e.g. "tabdiff 0.1.0").
        generated: when the page was made, as text (None: not shown).

    Returns:
        (the HTML page, the `evaluate_tables` dict it shows).

    Raises:
        EvaluationError (from `evaluate_tables`) for mismatched tables; PlotError for a table the figures
        cannot draw. Both are UserErrors.
    """
    report = evaluate_tables(real, synth, test=test, target=target, discrete_columns=discrete_columns, seed=seed,
                             max_rows=max_rows)
    figures = {
        "marginals": _data_uri(marginals_svg(real, synth[list(real.columns)], seed=seed)),
        "correlation": _data_uri(correlation_svg(real, synth[list(real.columns)], seed=seed)),
    }
    losses = (training or {}).get("loss_history") or []
    if losses:
        figures["loss"] = _data_uri(loss_curve_svg(losses, xlabel="logged point (in training order)"))
    html = render_html(report, figures, training=training, calibration=calibration, sources=sources,
                       generated=generated)
    return html, report


def render_html(report: dict, figures: Mapping[str, str], *, training: Mapping[str, Any] | None = None,
                calibration: Mapping[str, Any] | None = None, sources: Mapping[str, str | None] | None = None,
                generated: str | None = None) -> str:
    """The page for an `evaluate_tables` dict (or the same dict read back from JSON).

    Args:
        report: the dict of `evaluate_tables`; every number shown comes from it, and each carries
            ``data-metric`` (its dotted path in ``report``) and ``data-value`` (its exact value).
        figures: ``data:`` URIs by name: ``marginals``, ``correlation`` and, optionally, ``loss``.
        training: the checkpoint's ``meta`` (see `build_report`); its section appears when given.
        calibration: the conditional-calibration section, drawn when given: ``summary`` (one line of text),
            optional ``figure`` (a ``data:`` URI) and optional ``table`` (``{"columns": [...], "rows":
            [[...], ...]}``, cells shown as text).
        sources, generated: see `build_report`.

    Returns:
        The HTML text (UTF-8, no external resource).
    """
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("tabdiff_cli.evaluation", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _text
    headline = _headline(report)
    context = {
        "report": report,
        "figures": dict(figures),
        "cards": _cards(report, headline),
        "headline": headline,
        "columns": _column_rows(report["shape"]["columns"]),
        "pairs": sorted(report["trend"]["pairs"], key=lambda p: p["score"])[:_MAX_PAIRS],
        "judges": _judge_rows(report["c2st"]),
        "privacy": _privacy_rows(report),
        "tstr": _tstr_rows(report.get("tstr")),
        "training": _training_rows(training) if training else None,
        "calibration": calibration,
        "sources": {k: v for k, v in (sources or {}).items() if v},
        "generated": generated,
        "meanings": MEANINGS,
    }
    return env.get_template(TEMPLATE).render(**context)


# ----------------------------------------------------------------------------------------------------------
# what the page shows: rows built from the report dict
# ----------------------------------------------------------------------------------------------------------


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _text(value: Any, fmt: str = "{:.3f}") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return fmt.format(value)


def _grade(value: float | None, ideal: str) -> str:
    """"good", "fair" or "poor" by the distance from the ideal (the page's legend says the rule); "none"."""
    if value is None:
        return "none"
    if ideal == "half":  # DCR score: 0.5 ideal, 1 copying
        gap = abs(value - 0.5)
        return "good" if gap <= 0.05 else "fair" if gap <= 0.15 else "poor"
    gap = abs(1.0 - value)
    return "good" if gap <= 0.1 else "fair" if gap <= 0.3 else "poor"


def _row(path: str, value: Any, label: str, ideal: str, meaning: str, split: str | None, grade: str = "score",
         fmt: str = "{:.3f}") -> dict:
    bar = None if value is None or not math.isfinite(value) else round(100 * min(max(value, 0.0), 1.0), 1)
    return {"path": path, "value": value, "value_repr": repr(value), "text": _text(value, fmt), "label": label,
            "ideal": ideal, "meaning": meaning, "split": split or "", "bar": bar,
            "grade": grade if grade in ("good", "fair", "poor", "none") else _grade(value, grade)}


def detection_judge(c2st: dict) -> str | None:
    """The judge the headline shows: XGBoost when it ran, else gradient boosting, else logistic; None if none."""
    for key in _JUDGES:
        if c2st.get(key) is not None:
            return key
    return None


def _headline(report: dict) -> list[dict]:
    splits, priv, c2st = report["splits"], report["privacy"], report["c2st"]
    rows = [_row("shape.mean", report["shape"]["mean"], "Column shapes", "1", MEANINGS["shape"], splits["shape"]),
            _row("trend.mean", report["trend"]["mean"], "Column pair trends", "1", MEANINGS["trend"],
                 splits["trend"])]
    for key, (name, _) in _JUDGES.items():
        if c2st.get(key) is not None:
            rows.append(_row(f"c2st.{key}", c2st[key], f"Detection, {name}", "1", MEANINGS["detection"],
                             splits["c2st"]))
    rows += [_row("alpha_precision", report["alpha_precision"], "α-precision", "1", MEANINGS["alpha_precision"],
                  splits["alpha_precision"]),
             _row("beta_recall", report["beta_recall"], "β-recall", "1", MEANINGS["beta_recall"],
                  splits["beta_recall"])]
    if priv.get("dcr_score") is not None:
        rows.append(_row("privacy.dcr_score", priv["dcr_score"], "DCR score", "0.5", MEANINGS["dcr_score"],
                         splits["dcr_score"], "half"))
    rows.append(_row("privacy.exact_copy_share", priv["exact_copy_share"], "Exact copies", "0",
                     MEANINGS["exact_copy_share"], splits["exact_copy_share"], _copy_grade(priv), "{:.2%}"))
    if priv.get("dcr_ratio") is not None:
        ratio = priv["dcr_ratio"]  # above 1 is no privacy risk: graded on the low side only
        rows.append(_row("privacy.dcr_ratio", ratio, "DCR ratio", "≈ 1", MEANINGS["dcr_ratio"], splits["dcr_ratio"],
                         "poor" if ratio < 0.5 else "fair" if ratio < 0.8 else "good"))
    return rows


def _copy_grade(priv: dict) -> str:
    """As evaluate's warning: copies above max(1 %, twice the held-out rows' rate) are poor."""
    baseline = priv.get("test_exact_copy_share") or 0.0
    return "poor" if priv["exact_copy_share"] > max(0.01, 2.0 * baseline) else "good"


def _cards(report: dict, headline: list[dict]) -> list[dict]:
    """The summary row: shape, trend, the strongest detection judge that ran, coverage, privacy, TSTR."""
    by_path = {row["path"]: row for row in headline}

    def card(path: str, label: str, meaning: str | None = None, **extra: Any) -> dict:
        return dict(by_path[path], label=label, meaning=CARD_MEANINGS[meaning or path], **extra)

    cards = [card("shape.mean", "Shape"), card("trend.mean", "Trend")]
    judge = detection_judge(report["c2st"])
    if judge:
        cards.append(card(f"c2st.{judge}", "Detection", "detection", note=f"{_JUDGES[judge][0]} judge"))
    cards += [card("alpha_precision", "α-precision"), card("beta_recall", "β-recall")]
    if "privacy.dcr_score" in by_path:
        cards.append(card("privacy.dcr_score", "Privacy", note="DCR score, equal train / holdout splits"))
    else:
        cards.append(card("privacy.exact_copy_share", "Privacy", note="exact copies of training rows"))
    tstr = _tstr_card(report.get("tstr"))
    if tstr:
        cards.append(tstr)
    return cards


def _tstr_metric(tstr: dict) -> str:
    return "roc_auc" if tstr["task"] == "classification" else "r2"


def _tstr_card(tstr: dict | None) -> dict | None:
    if not tstr or not tstr.get("train_synth"):
        return None
    key = _tstr_metric(tstr)
    synth, real = tstr["train_synth"].get(key), tstr["train_real"].get(key)
    ratio = synth / real if synth is not None and real else None
    card = _row(f"tstr.train_synth.{key}", synth, "TSTR", _text(real), CARD_MEANINGS["tstr"], "", "none")
    name = "ROC AUC" if key == "roc_auc" else "R²"
    return dict(card, grade=_grade(ratio, "score"), note=f"{name} of '{tstr['target']}', trained on GEN")


def _column_rows(columns: list[dict]) -> list[dict]:
    """Per-column shape rows, worst first (unscored last), each with its index in ``report["shape"]["columns"]``."""
    rows = [dict(c, row=_row(f"shape.columns.{i}.score", c["score"], c["column"], "1", "", "")) for i, c in
            enumerate(columns)]
    return sorted(rows, key=lambda c: (c["score"] is None, c["score"] or 0.0))


def _judge_rows(c2st: dict) -> list[dict]:
    rows = []
    for key, (name, model) in _JUDGES.items():
        aucs = c2st.get(f"auc_{key}")
        rows.append({"name": name, "model": model, "ran": c2st.get(key) is not None,
                     "row": _row(f"c2st.{key}", c2st.get(key), name, "1", "", ""),
                     "aucs": ", ".join(_text(a) for a in aucs) if aucs else "—"})
    return rows


def _privacy_rows(report: dict) -> list[dict]:
    priv, splits = report["privacy"], report["splits"]
    pct = "{:.2%}"
    rows = [_row("privacy.exact_copy_share", priv["exact_copy_share"], "Exact copies of training rows", "0",
                 MEANINGS["exact_copy_share"], splits["exact_copy_share"], _copy_grade(priv), pct)]
    if priv.get("test_exact_copy_share") is not None:
        rows.append(_row("privacy.test_exact_copy_share", priv["test_exact_copy_share"],
                         "Held-out rows equal to a training row", "", "The rate a model that never saw the "
                         "training rows would reach by chance.", "every TEST row vs every REAL row", "none", pct))
    rows.append(_row("privacy.dcr_synth_median", priv["dcr_synth_median"], "Median DCR, generated → training", "",
                     "Distance to the closest training row (standardized units).", splits["dcr_synth_median"],
                     "none"))
    if priv.get("dcr_test_median") is not None:
        rows.append(_row("privacy.dcr_test_median", priv["dcr_test_median"], "Median DCR, held-out → training",
                         "", "The same for held-out rows: the distance a fresh row has.",
                         "TEST rows → closest of every REAL row", "none"))
    head = {row["path"]: row for row in _headline(report)}
    for path in ("privacy.dcr_ratio", "privacy.dcr_score"):
        if path in head:
            rows.append(head[path])
    if priv.get("dcr_share") is not None:
        rows.append(_row("privacy.dcr_share", priv["dcr_share"], "DCR share (unequal splits)",
                         _text(priv["dcr_share_ideal"]), "Share of generated rows whose closest row of training ∪ "
                         "held-out is a training row; ideal: the training rows' share.", splits["dcr_share"],
                         "none"))
    return rows


def _tstr_rows(tstr: dict | None) -> list[dict]:
    if not tstr or not tstr.get("train_real"):
        return []
    names = {"accuracy": "accuracy", "macro_f1": "macro F1", "roc_auc": "ROC AUC", "r2": "R²", "rmse": "RMSE"}
    return [{"name": names.get(k, k), "real": _row(f"tstr.train_real.{k}", v, k, "", "", ""),
             "synth": _row(f"tstr.train_synth.{k}", tstr["train_synth"].get(k), k, "", "", "")}
            for k, v in tstr["train_real"].items()]


def _training_rows(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts: Sequence[tuple[str, str, str]] = (
        ("n_rows", "training rows", "{:,}"), ("steps", "optimizer steps", "{:,}"), ("epochs", "epochs", "{:,.6g}"),
        ("final_loss", "final loss", "{:.5f}"), ("fit_seconds", "fit time (s)", "{:,.1f}"),
        ("device", "device", "{}"), ("seed", "seed", "{}"))
    rows = [(label, fmt.format(meta[key])) for key, label, fmt in facts if meta.get(key) is not None]
    if meta.get("stopped_by_time"):
        rows.append(("stopped", "by the time budget"))
    return rows
