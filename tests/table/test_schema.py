"""Schema inference: kinds from data, user overrides, and the kinds the benchmark tables' README lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabdiff_cli.errors import UserError
from tabdiff_cli.table.io import read_table
from tabdiff_cli.table.schema import count_decimals, infer_schema
from tests.conftest import DATA


def kinds(df, **kw):
    return {c.name: c.kind for c in infer_schema(df, **kw).columns}


def test_iris_kinds(iris_df):
    k = kinds(iris_df)
    assert k == {**{c: "continuous" for c in iris_df.columns[:4]}, "target": "categorical"}


def test_integer_boolean_datetime_and_constants():
    n = 80
    df = pd.DataFrame({
        "count": np.arange(n) % 7 + 3,
        "flag": [True, False] * (n // 2),
        "yes": ["TRUE", "FALSE"] * (n // 2),
        "day": pd.date_range("2022-01-01", periods=n).strftime("%Y-%m-%d"),
        "ts": pd.date_range("2022-01-01 10:00:00", periods=n, freq="37min").strftime("%Y-%m-%d %H:%M:%S"),
        "const": ["NL"] * n,
        "empty": [np.nan] * n,
        "binary": [0, 1, 1, 0] * (n // 4),
        "price": np.round(np.linspace(1, 50, n), 2),
    })
    k = kinds(df)
    assert k == {"count": "integer", "flag": "boolean", "yes": "boolean", "day": "datetime", "ts": "datetime",
                 "const": "constant", "empty": "empty", "binary": "categorical", "price": "continuous"}
    s = infer_schema(df)
    assert s["day"].datetime_format == "%Y-%m-%d" and s["ts"].datetime_format == "%Y-%m-%d %H:%M:%S"
    assert s["price"].decimals == 2


def test_id_columns_need_a_large_table():
    big = pd.DataFrame({"tx": [f"TX-{i:05d}" for i in range(100)], "row": np.arange(1, 101),
                        "v": np.random.default_rng(0).normal(size=100)})
    k = kinds(big)
    assert k["tx"] == "id" and k["row"] == "id" and k["v"] == "continuous"
    s = infer_schema(big)
    assert s["tx"].id_prefix == "TX-" and s["tx"].id_width == 5
    small = big.head(20)
    assert kinds(small)["row"] == "integer"  # 20 distinct numbers are data, not an ID


def test_mixed_numbers_and_text_is_a_clear_error():
    df = pd.DataFrame({"amount": ["12", "15", "abc"] + [str(i) for i in range(30)]})
    with pytest.raises(UserError, match="'amount' mixes numbers with text.*'abc'"):
        infer_schema(df)
    assert kinds(df, overrides={"amount": "categorical"})["amount"] == "categorical"


def test_inf_is_a_clear_error():
    with pytest.raises(UserError, match="'x' holds infinite"):
        infer_schema(pd.DataFrame({"x": [1.0, np.inf, 2.0]}))


def test_overrides_and_unknown_columns():
    df = pd.DataFrame({"grade": [1, 2, 3, 4, 5] * 10, "v": np.arange(50.0)})
    assert kinds(df)["grade"] == "integer"
    assert kinds(df, overrides={"grade": "categorical"})["grade"] == "categorical"
    assert kinds(df, categorical_threshold=5)["grade"] == "categorical"
    with pytest.raises(UserError, match="unknown column.*'grdae'.*columns are: grade, v"):
        infer_schema(df, overrides={"grdae": "categorical"})
    with pytest.raises(UserError, match="unknown kind"):
        infer_schema(df, overrides={"grade": "ordinal"})
    assert "v" not in kinds(df, drop=["v"])


def test_count_decimals():
    assert count_decimals(np.array([1.0, 2.5, 3.25])) == 2
    assert count_decimals(np.array([5.1, 4.9])) == 1
    assert count_decimals(np.array([3.0, 7.0])) == 0
    assert count_decimals(np.array([np.pi])) is None
    # issue 24: values around 1e-10 were "whole" within an absolute tolerance and came back as 0.0
    assert count_decimals(np.array([1.2e-10, 3.5e-10])) is None
    assert count_decimals(np.array([0.0, 0.25])) == 2


def test_floats_beyond_64_bits_are_continuous():
    """Issue 24: floats around 1e24 are whole in float64 and were refused as "whole numbers beyond 64 bits"."""
    df = pd.DataFrame({"big": np.random.default_rng(0).lognormal(0, 1, 60) * 1e24})
    spec = infer_schema(df)["big"]
    assert spec.kind == "continuous"
    assert spec.maximum == pytest.approx(df["big"].max())


# The README's legend: int → integer, float → continuous, cat → categorical, bool → boolean.
# Integer codes that the README calls "cat" (e.g. default_credit's EDUCATION) cannot be told apart from counts
# by their values; tabdiff infers them as integer unless they hold two values, or the user names them
# (--categorical) or sets --categorical-threshold. Those columns are listed under `codes`.
README_KINDS = {
    "adult.csv": dict(
        integer=["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"],
        categorical=["workclass", "education", "marital_status", "occupation", "relationship", "race", "sex",
                     "native_country", "income"]),
    "default_credit.csv": dict(
        id=["ID"],
        integer=["LIMIT_BAL", "AGE"] + [f"BILL_AMT{i}" for i in range(1, 7)] + [f"PAY_AMT{i}" for i in range(1, 7)],
        categorical=["SEX", "default payment next month"],
        codes=["EDUCATION", "MARRIAGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]),
    "online_shoppers.csv": dict(
        integer=["Administrative", "Informational", "ProductRelated"],
        continuous=["Administrative_Duration", "Informational_Duration", "ProductRelated_Duration", "BounceRates",
                    "ExitRates", "PageValues", "SpecialDay"],
        categorical=["Month", "VisitorType"], boolean=["Weekend", "Revenue"],
        codes=["OperatingSystems", "Browser", "Region", "TrafficType"]),
    "magic.csv": dict(
        continuous=["fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym", "fM3Long", "fM3Trans", "fAlpha",
                    "fDist"], categorical=["class"]),
    # the fixture is a random sample of rows: `No` (the full table's row index 1..43824) is no longer a run of
    # consecutive integers, and the sampled TEMP and PRES cells happen to be whole numbers
    "beijing_pm25.csv": dict(
        integer=["No", "year", "month", "day", "hour", "DEWP", "Is", "Ir", "pm2.5", "TEMP", "PRES"],
        continuous=["Iws"], categorical=["cbwd"]),
    "abalone.csv": dict(
        categorical=["Sex"], integer=["Rings"],
        continuous=["Length", "Diameter", "Height", "Whole_weight", "Shucked_weight", "Viscera_weight",
                    "Shell_weight"]),
    "california_housing.csv": dict(
        continuous=["longitude", "latitude", "median_income"],
        integer=["housing_median_age", "total_rooms", "total_bedrooms", "population", "households",
                 "median_house_value"], categorical=["ocean_proximity"]),
}


@pytest.mark.parametrize("name", sorted(README_KINDS))
def test_benchmark_table_kinds_match_their_readme(name):
    path = DATA / name.replace(".csv", "_sample.csv")  # a subset shipped with the tests (tests/data/README.md)
    df = read_table(path)
    k = kinds(df)
    expected = README_KINDS[name]
    for kind, cols in expected.items():
        for col in cols:
            want = "integer" if kind == "codes" else kind
            assert k[col] == want, f"{name}:{col} inferred {k[col]}, README says {kind}"
    assert sorted(sum(expected.values(), [])) == sorted(df.columns)
    if "codes" in expected:
        forced = kinds(df, overrides={c: "categorical" for c in expected["codes"]})
        assert all(forced[c] == "categorical" for c in expected["codes"])


def test_adult_missing_markers_are_remembered():
    df = read_table(DATA / "adult_sample.csv")
    assert df.attrs["na_markers"] == {"workclass": "?", "occupation": "?", "native_country": "?"}
    assert int(df["workclass"].isna().sum()) == 76  # of the fixture's 1,500 rows (the full table: 1,836)


def test_digits_stored_as_text_are_codes_not_numbers_beyond_64_bits():
    """Built-in digits names its classes "0".."9" (text): they were refused as whole numbers beyond 64 bits."""
    df = read_table("digits")
    k = kinds(df)
    assert k["target"] == "categorical"
    assert sorted(df["target"].unique()) == [str(d) for d in range(10)]
    codes = pd.DataFrame({"zip": ["02134", "00501", "10001"] * 20, "n": np.arange(60) % 7})
    assert kinds(codes)["zip"] == "categorical"


def test_a_yearly_series_keeps_its_year_and_a_shuffled_row_number_is_an_identifier():
    """Issue 24: one row per year (1948-2023) was taken for an identifier; a run of consecutive integers that
    another column follows is data. A row number of rows in random order stays an identifier."""
    rng = np.random.default_rng(0)
    year = np.arange(1948, 2024)
    df = pd.DataFrame({"year": year, "gdp": np.exp((year - 1948) * 0.03) * 100 + rng.normal(0, 5, len(year))})
    spec = infer_schema(df)["year"]
    assert (spec.kind, spec.minimum, spec.maximum) == ("integer", 1948, 2023)
    rows = pd.DataFrame({"row": np.arange(1, 201), "x": rng.normal(size=200), "y": rng.normal(size=200)})
    assert infer_schema(rows)["row"].kind == "id"


@pytest.mark.parametrize(("cells", "kind", "value", "fmt"), [
    (["$1,688.68", "$12.50", "$100,000.00"], "continuous", 1688.68, {"prefix": "$", "thousands": ","}),
    (["11.336,05", "7,10", "1.000.000,00"], "continuous", 11336.05, {"decimal": ",", "thousands": "."}),
    (["12.5 kg", "3.0 kg", "-1.5 kg"], "continuous", 12.5, {"suffix": " kg"}),
    (["45%", "7%", "100%"], "integer", 45.0, {"suffix": "%"}),
    (["€ 1.234.567", "€ 17", "-€ 5"], "integer", 1234567.0, {"prefix": "€ ", "thousands": "."}),
    (["USD 1,234", "USD 17", "USD 5"], "integer", 1234.0, {"prefix": "USD ", "thousands": ","}),
    (["12kg", "7kg", "5kg"], "integer", 12.0, {"suffix": "kg"}),
])
def test_numbers_with_a_unit_currency_or_separators_are_numbers_written_back_the_same(cells, kind, value, fmt):
    """Issue 24: amounts as text ("$1,688.68", "11.336,05" from a German Excel export) were taken for identifiers
    (every cell distinct) and came back as order_total-1, order_total-2, ..."""
    from tabdiff_cli.table.schema import format_number_text, numeric_values

    df = pd.DataFrame({"amount": cells * 20 + [None], "n": np.arange(61) % 7})
    df.loc[:2, "amount"] = cells  # distinct cells in the first rows, the rest repeats
    spec = infer_schema(df)["amount"]
    assert spec.kind == kind and spec.number_format is not None
    assert {k: spec.number_format[k] for k in fmt} == fmt
    values = numeric_values(df["amount"], spec)
    assert values[0] == pytest.approx(value) and np.isnan(values[-1])
    written = format_number_text(values[:3], spec.number_format, 0 if kind == "integer" else spec.decimals)
    assert written.tolist() == cells


def test_plain_digit_text_is_not_a_formatted_number():
    from tabdiff_cli.table.schema import detect_number_format

    assert detect_number_format(pd.Series(["02134", "00501"])) is None
    assert detect_number_format(pd.Series(["12", "13.5"])) is None  # pandas reads these itself
    assert detect_number_format(pd.Series(["TX-001", "TX-002"])) is None
    assert detect_number_format(pd.Series(["12A", "13A"])) is None
    assert detect_number_format(pd.Series(["A12", "A13"])) is None


def test_dates_beyond_the_nanosecond_range_are_read_and_written():
    """Found by the fuzz test: a date before 1677 ended in OutOfBoundsDatetime (int64 nanoseconds)."""
    from tabdiff_cli.table.encoder import TableEncoder

    df = pd.DataFrame({"d": ["1615-10-23", "0369-07-17", None, "1487-05-25"], "x": [1.0, 2.0, 3.0, 4.0]})
    spec = infer_schema(df)["d"]
    earliest = (np.datetime64("0369-07-17") - np.datetime64("1970-01-01")) / np.timedelta64(1, "s")
    assert spec.kind == "datetime" and spec.minimum == earliest
    enc = TableEncoder(infer_schema(df)).fit(df)
    back = enc.inverse_transform(enc.transform(df))
    dates = back["d"].dropna()
    assert len(dates) and dates.str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    assert dates.min() >= "0369-07-17" and dates.max() <= "1615-10-23"
