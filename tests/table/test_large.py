"""Large inputs: the pyarrow CSV path reads exactly what the C engine reads; the encoder's bounded
subsample of rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabdiff_cli.table import io as tio
from tabdiff_cli.table.encoder import TableEncoder
from tabdiff_cli.table.schema import infer_schema

CSVS = {
    "plain": "a,b,c\n1,2.5,x\n3,?,y\n5,6.0,\n",
    "dates": "d,t,n\n2021-01-01,2021-01-01 10:00:00,1\n2021-02-01,?,2\n,2021-03-01 00:00:00,3\n",
    "bools": "a,b\nTrue,1\nFALSE,2\n,3\n",
    "int_na": "a,b\n1,x\nNA,y\n3,z\n",
    "plus_int": "a,b\n+1,x\n2,y\n",
    "big_int": "a,b\n99999999999999999999,x\n1,y\n",
    "hex": "a,b\n0x10,x\n0x20,y\n",
    "spaces": "a, b\n1, x\n2, ?\n",
    "quoted": 'a,b\n"x, y",1\n"multi\nline",2\n',
    "nan_text": "a,b\n-nan,1\n1.5,2\n",
    "semicolon": "a;b\n1,5;x\n2,5;y\n",
    "ragged": "a,b,c\n1,2\n3,4,5\n",
    "times": "t,v\n12:30:00,1\n13:00:00,2\n",
    "all_missing": "a,b\n,1\n,2\n",
}


@pytest.mark.parametrize("name", sorted(CSVS))
def test_pyarrow_path_reads_what_the_c_engine_reads(name, tmp_path, monkeypatch):
    path = tmp_path / f"{name}.csv"
    path.write_text(CSVS[name], encoding="utf-8")
    fast = tio.read_table(path)
    monkeypatch.setattr(tio, "_read_csv_arrow", lambda *a, **k: None)
    slow = tio.read_table(path)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert fast.attrs["na_markers"] == slow.attrs["na_markers"]


def test_pyarrow_path_is_used_for_a_plain_file():
    text = CSVS["dates"]
    raw_df = tio._read_csv_arrow(text, ",", list(tio.DEFAULT_NA_VALUES))
    assert raw_df is not None
    assert tio._read_csv_arrow(CSVS["spaces"], ",", list(tio.DEFAULT_NA_VALUES)) is None  # skipinitialspace


@pytest.fixture(scope="module")
def wide_df() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 6000
    df = pd.DataFrame({
        "x": rng.lognormal(size=n),
        "k": rng.integers(0, 1000, n),
        "c": rng.choice(list("abcdef"), n, p=[0.5, 0.2, 0.1, 0.1, 0.05, 0.05]),
    })
    df.loc[rng.choice(n, 400, replace=False), "x"] = np.nan
    df.loc[17, "c"] = "only-once"  # a level in one row: must survive the subsample
    return df


@pytest.mark.parametrize("encoding", [("quantile", "pm1"), ("standard", "standardized")])
def test_encoder_subsample_keeps_every_level_and_close_statistics(wide_df, encoding):
    schema = infer_schema(wide_df)
    full = TableEncoder(schema, *encoding).fit(wide_df)
    sub = TableEncoder(schema, *encoding).fit(wide_df, max_rows=500)
    assert sub.levels == full.levels and "only-once" in sub.levels["c"]
    assert sub.missing_cols == full.missing_cols == ["x"]
    if encoding[1] == "standardized":  # one-hot statistics from every row, not from the subsample
        np.testing.assert_allclose(sub.onehot_mean, full.onehot_mean, rtol=0, atol=1e-12)
        np.testing.assert_allclose(sub.onehot_scale, full.onehot_scale, rtol=1e-9)
    else:
        assert sub.scaler["n_quantiles"] == 500 and sub.scaler["quantiles"].shape[0] == 500
    x = sub.transform(wide_df)
    assert x.shape == (len(wide_df), full.n_features) and np.isfinite(x).all()
    # numeric coordinates are close to standard normal / standardized either way
    assert abs(float(x[:, 0].mean())) < 0.15 and 0.7 < float(x[:, 0].std()) < 1.3
    back = sub.inverse_transform(x)
    assert set(back["c"].dropna()) <= set(wide_df["c"])


def test_encoder_without_subsample_is_unchanged(wide_df):
    schema = infer_schema(wide_df)
    a = TableEncoder(schema, "standard", "standardized").fit(wide_df)
    b = TableEncoder(schema, "standard", "standardized").fit(wide_df, max_rows=len(wide_df))
    assert a.state_dict() == b.state_dict()


def test_fit_max_rows_is_a_config_setting():
    from tabdiff_cli.config import Config

    cfg = Config.from_dict({"data": {"fit_max_rows": 1000}})
    assert cfg.data.fit_max_rows == 1000 and Config().data.fit_max_rows == 1_000_000
