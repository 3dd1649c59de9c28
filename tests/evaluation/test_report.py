"""The HTML quality report (tabdiff_cli.evaluation.report): one self-contained page, its sections, and numbers
that are exactly those of the evaluate_tables dict it was rendered from."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest

from tabdiff_cli.errors import UserError
from tabdiff_cli.evaluation import metrics
from tabdiff_cli.evaluation.baselines import independent_marginals
from tabdiff_cli.evaluation.report import build_report, check_report_out, render_html

TRAINING = {"loss_history": [0.9, 0.5, 0.4, 0.35, 0.33], "steps": 250, "epochs": 12.5, "final_loss": 0.33,
            "fit_seconds": 4.2, "device": "cpu", "seed": 0, "n_rows": 300}
CALIBRATION = {"summary": "Conditional answers against held-out rows (test hook).",
               "table": {"columns": ["given", "coverage"], "rows": [["x>0", "0.93"]]}}


def draw(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": x + rng.normal(scale=0.3, size=n), "size": rng.integers(1, 6, n),
                         "side": np.where(x + rng.normal(scale=0.5, size=n) > 0, "right", "left")})


@pytest.fixture(scope="module")
def full():
    """A report with every section: held-out table, target, training curve and the calibration hook."""
    real, test = draw(300, 0), draw(120, 1)
    html, report = build_report(real, independent_marginals(real, 300, 2), test, "side", training=TRAINING,
                                calibration=CALIBRATION, sources={"real": "real.csv", "synth": "gen.csv",
                                                                  "test": "test.csv", "model": "m.ckpt",
                                                                  "generator": "tabdiff test"},
                                generated="2026-01-01 12:00")
    return html, report


@pytest.fixture(scope="module")
def bare():
    real = draw(200, 3)
    return build_report(real, draw(200, 4))


def shown_numbers(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-metric="([^"]+)" data-value="([^"]*)"', html)


def resolve(report: dict, path: str):
    value = report
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def test_the_page_is_self_contained(full):
    html, _ = full
    links = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', html, flags=re.IGNORECASE)
    assert links, "no src/href at all?"
    assert not [link for link in links if re.match(r"\s*(https?:)?//", link, flags=re.IGNORECASE)]
    assert all(link.startswith(("data:image/svg+xml;base64,", "#")) for link in links)
    assert "<link" not in html.lower() and "<script" not in html.lower() and "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    for link in links:
        if link.startswith("data:"):
            svg = base64.b64decode(link.split(",", 1)[1]).decode("utf-8")
            assert "<svg" in svg and "<image" not in svg.split("<svg", 1)[1].split(">", 1)[0]
            assert not re.search(r'(?:href|src)="(https?:)?//', svg)


def test_every_section_is_there(full, bare):
    html, _ = full
    for section in ("scores", "columns", "pairs", "detection", "privacy", "utility", "training", "calibration"):
        assert f'<section id="{section}"' in html, section
    assert html.count("<img ") == 3  # marginals, correlation difference, training curve
    assert "Conditional answers against held-out rows (test hook)." in html and "0.93" in html
    html, _ = bare
    for section in ("scores", "columns", "pairs", "detection", "privacy"):
        assert f'<section id="{section}"' in html
    for section in ("utility", "training", "calibration"):
        assert f'<section id="{section}"' not in html
    assert "Give a held-out table (--test)" in html


def test_the_numbers_are_those_of_the_evaluate_dict(full):
    html, report = full
    shown = shown_numbers(html)
    paths = {path for path, _ in shown}
    for path in ("shape.mean", "trend.mean", "c2st.xgboost", "c2st.gradient_boosting", "c2st.logistic_regression",
                 "alpha_precision", "beta_recall", "privacy.dcr_score", "privacy.exact_copy_share",
                 "privacy.dcr_ratio", "privacy.dcr_share", "tstr.train_real.roc_auc", "tstr.train_synth.accuracy",
                 "shape.columns.0.score"):
        assert path in paths, path
    for path, value in shown:
        assert value == repr(resolve(report, path)), path
    # and the text beside each value is that value, rounded
    xgb = report["c2st"]["xgboost"]
    assert f'data-value="{xgb!r}">{xgb:.3f}</span>' in html


def test_each_metric_shows_the_split_it_uses(full):
    html, report = full
    for key in ("shape", "c2st", "dcr_score", "tstr", "exact_copy_share", "dcr_ratio"):
        assert report["splits"][key].replace("→", "&rarr;") in html or report["splits"][key] in html, key
    assert "120 rows each" in report["splits"]["dcr_score"]


def test_the_detection_card_names_its_judge_and_a_missing_xgboost_is_said(monkeypatch):
    real = draw(200, 3)
    html, _ = build_report(real, draw(200, 4))
    assert "XGBoost judge" in html
    monkeypatch.setattr(metrics, "xgboost_classifier", lambda: (None, "xgboost is not installed (test)"))
    html, report = build_report(real, draw(200, 4))
    assert report["c2st"]["xgboost"] is None
    assert "gradient boosting judge" in html and "not run" in html
    assert "XGBoost judge not run: xgboost is not installed (test)" in html
    assert "Judges that ran: gradient boosting, logistic regression." in html


def test_render_html_escapes_what_comes_from_the_user(bare):
    _, report = bare
    html = render_html(report, {"marginals": "data:image/svg+xml;base64,", "correlation": "data:image/svg+xml;base64,"},
                       sources={"real": "<b>real</b>.csv", "synth": "gen.csv"})
    assert "<b>real</b>" not in html and "&lt;b&gt;real&lt;/b&gt;.csv" in html


def test_output_path_checks(tmp_path):
    assert check_report_out(tmp_path / "r.html") == tmp_path / "r.html"
    assert check_report_out(tmp_path / "R.HTML").name == "R.HTML"
    with pytest.raises(UserError, match="folder"):
        check_report_out(tmp_path)
    for name in ("r.htm", "r.json", "r"):
        with pytest.raises(UserError, match=r"\.html"):
            check_report_out(tmp_path / name)
