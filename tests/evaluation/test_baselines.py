"""The independent-marginals baseline (tabdiff_cli.evaluation.baselines): each column keeps its empirical
distribution, missing cells and dtype included; the columns become independent; a seed fixes the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabdiff_cli.errors import UserError
from tabdiff_cli.evaluation.baselines import independent_marginals


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.normal(size=n)
    df = pd.DataFrame({
        "x": x,
        "y": 2 * x + rng.normal(scale=0.1, size=n),
        "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "grade": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])),
        "flag": x > 0,
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 30, n), "D"),
        "city": pd.Series(rng.choice(["Oslo", "Lima"], n), dtype=object),
    })
    df.loc[rng.random(n) < 0.2, "x"] = np.nan
    df.loc[rng.random(n) < 0.1, "count"] = pd.NA
    df.loc[rng.random(n) < 0.05, "city"] = None
    return df


def test_columns_names_and_dtypes_are_the_training_tables(table):
    out = independent_marginals(table, 500, seed=1)
    assert out.shape == (500, table.shape[1])
    assert list(out.columns) == list(table.columns)
    assert out.dtypes.to_dict() == table.dtypes.to_dict()
    assert list(out.index) == list(range(500))
    assert set(out["grade"].cat.categories) == set(table["grade"].cat.categories)


def test_every_value_comes_from_its_own_column(table):
    out = independent_marginals(table, 500, seed=1)
    for col in ("count", "grade", "flag", "when", "city"):
        assert set(out[col].dropna()) <= set(table[col].dropna()), col
    assert set(out["x"].dropna()) <= set(table["x"].dropna())


def test_marginals_and_missing_shares_are_kept_and_dependence_is_gone(table):
    out = independent_marginals(table, 20000, seed=2)
    assert out["x"].isna().mean() == pytest.approx(table["x"].isna().mean(), abs=0.015)
    assert out["count"].isna().mean() == pytest.approx(table["count"].isna().mean(), abs=0.01)
    assert out["city"].isna().mean() == pytest.approx(table["city"].isna().mean(), abs=0.01)
    shares = out["grade"].value_counts(normalize=True)
    assert shares["a"] == pytest.approx(0.6, abs=0.02) and shares["c"] == pytest.approx(0.1, abs=0.02)
    assert out["y"].mean() == pytest.approx(table["y"].mean(), abs=0.05)
    assert abs(table[["x", "y"]].corr().iloc[0, 1]) > 0.99
    assert abs(out[["x", "y"]].corr().iloc[0, 1]) < 0.03  # independent columns
    assert abs(pd.crosstab(out["flag"], out["y"] > 0, normalize=True).to_numpy() - 0.25).max() < 0.02


def test_a_seed_fixes_the_rows(table):
    pd.testing.assert_frame_equal(independent_marginals(table, 50, seed=3), independent_marginals(table, 50, 3))
    assert not independent_marginals(table, 50, seed=3).equals(independent_marginals(table, 50, seed=4))


def test_zero_rows_and_bad_input():
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    empty = independent_marginals(df, 0)
    assert empty.shape == (0, 2) and empty.dtypes.to_dict() == df.dtypes.to_dict()
    for bad_n in (-1, 2.5, True):
        with pytest.raises(UserError, match="n must be a non-negative integer"):
            independent_marginals(df, bad_n)
    with pytest.raises(UserError, match="at least one row"):
        independent_marginals(df.iloc[:0], 3)
    with pytest.raises(UserError, match="DataFrame"):
        independent_marginals([[1, 2]], 3)
