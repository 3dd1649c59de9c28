"""Tests of tabdiff_cli.evaluate: the metrics behind `tabdiff evaluate` (values checked, not just "runs")."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.datasets import load_iris

from tabdiff_cli.cli.render import evaluation_report as format_report
from tabdiff_cli.errors import UserError
from tabdiff_cli.evaluation.metrics import EvaluationError, evaluate_tables

TOP_KEYS = {
    "n_rows",
    "columns_kind",
    "shape",
    "trend",
    "c2st",
    "alpha_precision",
    "beta_recall",
    "support",
    "tstr",
    "privacy",
    "worst_columns",
    "worst_pairs",
    "splits",
    "warnings",
}
NUMERIC = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    data = load_iris(as_frame=True)
    frame = data.frame.rename(columns={"target": "species"})
    frame["species"] = frame["species"].map(dict(enumerate(data.target_names)))
    return frame


@pytest.fixture(scope="module")
def split(iris):
    order = np.random.default_rng(0).permutation(len(iris))
    return iris.iloc[order[:100]].reset_index(drop=True), iris.iloc[order[100:]].reset_index(drop=True)


@pytest.fixture(scope="module")
def identical_report(iris):
    return evaluate_tables(iris, iris.copy())


@pytest.fixture(scope="module")
def tstr_report(split):
    train, test = split
    return evaluate_tables(
        train, train.sample(frac=1.0, random_state=1).reset_index(drop=True), test, target="species", seed=3
    )


def _shape(report, column):
    return next(row for row in report["shape"]["columns"] if row["column"] == column)


def _strict_json(report):
    return json.loads(json.dumps(report, allow_nan=False))


def test_identical_tables_score_perfectly(identical_report):
    rep = identical_report
    assert set(rep) == TOP_KEYS
    assert rep["shape"]["mean"] == pytest.approx(1.0, abs=1e-12)
    assert rep["shape"]["shape_error_pct"] == pytest.approx(0.0, abs=1e-9)
    assert rep["trend"]["mean"] == pytest.approx(1.0, abs=1e-12)
    assert len(rep["trend"]["pairs"]) == 10  # 5 columns → 10 pairs, none skipped
    assert rep["c2st"]["logistic_regression"] >= 0.9
    assert rep["c2st"]["gradient_boosting"] >= 0.8
    assert rep["alpha_precision"] == 1.0 and rep["beta_recall"] == 1.0
    assert rep["privacy"]["exact_copy_share"] == 1.0
    assert rep["columns_kind"] == {"numeric": NUMERIC, "categorical": ["species"]}
    assert _strict_json(rep) == rep


def test_shifted_column_shape_is_ks_complement(iris):
    synth = iris.copy()
    synth["sepal length (cm)"] += 0.37
    rep = evaluate_tables(iris, synth)
    expected = 1.0 - ks_2samp(iris["sepal length (cm)"], synth["sepal length (cm)"]).statistic
    assert _shape(rep, "sepal length (cm)")["score"] == pytest.approx(expected, abs=1e-12)
    assert expected < 0.9
    assert _shape(rep, "sepal width (cm)")["score"] == 1.0
    assert rep["worst_columns"][0]["column"] == "sepal length (cm)"
    # Pearson correlation ignores a shift, so every numeric pair keeps a perfect score.
    assert all(
        p["score"] == pytest.approx(1.0)
        for p in rep["trend"]["pairs"]
        if p["metric"] == "CorrelationSimilarity"
    )


def test_tv_complement_and_contingency_binning_follow_sdmetrics():
    # Categorical: NaN dropped (TVComplement), a GEN-only level counts against GEN.
    real = pd.DataFrame({"c": ["a", "a", "b", "b", None], "x": [0.0, 1.0, 2.0, 3.0, 4.0]})
    synth = pd.DataFrame({"c": ["a", "b", "b", "z", "z"], "x": [-5.0, 1.0, 2.5, 3.9, 40.0]})
    rep = evaluate_tables(real, synth)
    # f_real = (a .5, b .5, z ~0), f_synth = (.2, .4, .4) → TV = ½(.3 + .1 + .4) = .4
    assert _shape(rep, "c")["score"] == pytest.approx(0.6, abs=1e-6)
    assert _shape(rep, "c")["missing_real"] == pytest.approx(0.2)
    # x is binned on REAL's 10 equal-width edges over [0, 4] with open ends: GEN's -5 joins the first bin and
    # 40 the last; REAL's NaN-free x, GEN's values 1, 2.5, 3.9 fall in bins 3, 7 and 10.
    edges = np.histogram_bin_edges(real["x"], bins=10)
    edges[0], edges[-1] = -np.inf, np.inf
    cells_r = pd.Series(
        list(zip(real["c"].fillna("<na>"), np.digitize(real["x"], edges), strict=True))
    ).value_counts(normalize=True)
    cells_s = pd.Series(list(zip(synth["c"], np.digitize(synth["x"], edges), strict=True))).value_counts(
        normalize=True
    )
    expected = 1 - 0.5 * cells_r.sub(cells_s, fill_value=0).abs().sum()
    pair = rep["trend"]["pairs"][0]
    assert pair["metric"] == "ContingencySimilarity"
    assert pair["score"] == pytest.approx(expected, abs=1e-12)


def test_independent_column_shuffle_breaks_trend(iris, identical_report):
    rng = np.random.default_rng(5)
    shuffled = pd.DataFrame({c: iris[c].to_numpy()[rng.permutation(len(iris))] for c in iris.columns})
    rep = evaluate_tables(iris, shuffled)
    assert rep["shape"]["mean"] == pytest.approx(1.0)  # marginals untouched
    assert rep["trend"]["mean"] < identical_report["trend"]["mean"] - 0.2
    # petal length and width correlate at 0.96 in Iris; shuffled they do not, so the score drops near 0.5.
    pair = next(p for p in rep["trend"]["pairs"] if p["columns"] == ["petal length (cm)", "petal width (cm)"])
    assert pair["real_correlation"] == pytest.approx(0.9629, abs=1e-3)
    assert pair["score"] < 0.6
    # A linear judge cannot see a lost dependence between columns; the boosted one and the support can.
    assert rep["c2st"]["logistic_regression"] > 0.9
    assert rep["c2st"]["gradient_boosting"] < 0.5
    assert rep["alpha_precision"] < 0.5


def test_copied_rows_are_flagged(split):
    train, test = split
    copies = train.sample(n=len(train), replace=True, random_state=2).reset_index(drop=True)
    rep = evaluate_tables(train, copies, test)
    priv = rep["privacy"]
    assert priv["exact_copy_share"] == 1.0
    assert priv["dcr_synth_median"] == pytest.approx(0.0, abs=1e-6)
    assert priv["dcr_test_median"] > 0.1
    assert priv["dcr_ratio"] < 0.01
    assert priv["dcr_share_ideal"] == pytest.approx(100 / 150)
    assert priv["dcr_share"] > 0.95
    assert any("copy a training row" in w for w in rep["warnings"])


def test_constant_and_empty_columns_do_not_crash(split):
    train, test = (df.copy() for df in split)
    rng = np.random.default_rng(0)
    for df in (train, test):
        df["const_num"] = 7
        df["empty_num"] = np.nan
        df["const_cat"] = "NL"
        df["empty_cat"] = pd.Series([None] * len(df), dtype=object)
        df["flag"] = df["sepal width (cm)"] > 3.0
        df.loc[rng.random(len(df)) < 0.1, "petal width (cm)"] = np.nan
    synth = train.sample(frac=1.0, random_state=4).reset_index(drop=True)
    synth["sepal length (cm)"] += rng.normal(0, 0.2, len(synth))
    synth.loc[:5, "const_cat"] = "DE"  # a level REAL never had
    rep = evaluate_tables(train, synth, test, target="species")
    assert _strict_json(rep) == rep
    assert _shape(rep, "empty_num")["score"] is None
    assert _shape(rep, "empty_cat")["score"] is None
    assert _shape(rep, "const_num")["score"] == 1.0
    assert _shape(rep, "const_cat")["score"] == pytest.approx(1 - 6 / 100, abs=1e-6)
    assert any("'empty_num' has no values in REAL" in w for w in rep["warnings"])
    assert any("'const_num' is constant in REAL" in w for w in rep["warnings"])
    skipped = {tuple(s["columns"]) for s in rep["trend"]["skipped"]}
    assert ("sepal length (cm)", "const_num") in skipped
    assert None not in (rep["shape"]["mean"], rep["shape"]["shape_error_pct"])
    assert None not in (rep["trend"]["mean"], rep["trend"]["trend_error_pct"])
    assert rep["c2st"]["logistic_regression"] is not None and rep["c2st"]["gradient_boosting"] is not None
    assert rep["alpha_precision"] is not None and rep["beta_recall"] is not None
    assert rep["tstr"]["train_real"]["accuracy"] > 0.8
    assert rep["privacy"]["dcr_ratio"] is not None
    format_report(rep)


def test_target_and_column_errors_name_the_column(iris):
    with pytest.raises(EvaluationError, match=r"target column 'species' is not in GEN"):
        evaluate_tables(iris, iris.drop(columns="species"), iris, target="species")
    with pytest.raises(EvaluationError, match=r"'petal width \(cm\)' is in REAL but not in GEN"):
        evaluate_tables(iris, iris.drop(columns="petal width (cm)"))
    with pytest.raises(EvaluationError, match=r"'extra' is in TEST but not in REAL"):
        evaluate_tables(iris, iris, iris.assign(extra=1))
    with pytest.raises(EvaluationError, match=r"'species'.*TEST"):
        evaluate_tables(iris, iris, target="species")
    with pytest.raises(UserError, match="GEN has no rows"):  # EvaluationError is the CLI's user error
        evaluate_tables(iris, iris.iloc[:0])


def test_tstr_on_iris(tstr_report):
    tstr = tstr_report["tstr"]
    assert tstr["task"] == "classification"
    assert tstr["n_test"] == 50
    for key in ("train_real", "train_synth"):
        assert tstr[key]["accuracy"] > 0.8
        assert tstr[key]["macro_f1"] > 0.8
        assert tstr[key]["roc_auc"] > 0.9


def test_tstr_class_absent_from_gen(split):
    train, test = split
    synth = train[train["species"] != "virginica"].reset_index(drop=True)
    rep = evaluate_tables(train, synth, test, target="species")
    real_acc, synth_acc = (rep["tstr"][k]["accuracy"] for k in ("train_real", "train_synth"))
    share_virginica = float((test["species"] == "virginica").mean())
    assert synth_acc <= 1 - share_virginica + 1e-9 < real_acc
    assert any("'virginica'" in w and "not in GEN" in w for w in rep["warnings"])


def test_regression_target_and_datetime_column():
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame(
        {
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "x": rng.normal(size=n),
        }
    )
    frame["y"] = 3 * frame["x"] + rng.normal(scale=0.1, size=n)
    synth = frame.copy()
    synth["when"] = synth["when"].dt.strftime("%Y-%m-%d")  # a generated CSV read back as text
    rep = evaluate_tables(frame.iloc[:80], synth.iloc[:80], frame.iloc[80:], target="y")
    assert rep["columns_kind"]["numeric"] == ["when", "x", "y"]
    assert _shape(rep, "when")["score"] == 1.0
    assert rep["tstr"]["task"] == "regression"
    assert rep["tstr"]["train_real"]["r2"] > 0.8
    assert set(rep["tstr"]["train_synth"]) == {"r2", "rmse"}


def test_seeded_runs_are_identical(split, tstr_report):
    train, test = split
    again = evaluate_tables(
        train, train.sample(frac=1.0, random_state=1).reset_index(drop=True), test, target="species", seed=3
    )
    assert again == tstr_report


def test_format_report_renders(tstr_report):
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(format_report(tstr_report))
    text = console.export_text()
    assert "C2ST, logistic regression" in text and "TSTR" in text and "DCR ratio" in text
