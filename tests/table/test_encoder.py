"""TableEncoder: exact round trips, layout, bounds, rare levels, state without pickle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tabdiff_cli.errors import UserError
from tabdiff_cli.table.encoder import RARE, TableEncoder
from tabdiff_cli.table.schema import infer_schema


def roundtrip(df, **kw):
    enc = TableEncoder(infer_schema(df), **kw).fit(df)
    x = enc.transform(df)
    assert x.dtype == np.float32 and x.shape == (len(df), enc.n_features)
    return enc, enc.inverse_transform(x)


@pytest.mark.parametrize("transform,encoding", [("standard", "standardized"), ("quantile", "pm1")])
def test_iris_roundtrip_exact(iris_df, transform, encoding):
    enc, back = roundtrip(iris_df, numeric_transform=transform, categorical_encoding=encoding)
    assert enc.n_features == 7  # the seed: 4 numbers + 3 one-hot
    pd.testing.assert_frame_equal(back, iris_df, check_dtype=True)


def test_seed_encoding_standardizes_every_coordinate(iris_df):
    enc = TableEncoder(infer_schema(iris_df), "standard", "standardized").fit(iris_df)
    x = enc.transform(iris_df).astype(np.float64)
    assert np.allclose(x.mean(0), 0, atol=1e-6) and np.allclose(x.std(0), 1, atol=1e-5)


def test_two_categorical_columns_roundtrip():
    df = pd.DataFrame({"a": ["x", "y", "z", "x"] * 10, "b": ["p", "q"] * 20, "v": np.arange(40) * 0.5})
    _, back = roundtrip(df)
    pd.testing.assert_frame_equal(back, df)


def test_mixed_roundtrip_keeps_missing_and_kinds(mixed_df):
    enc, back = roundtrip(mixed_df)
    pd.testing.assert_frame_equal(back, mixed_df, check_dtype=False)
    assert [b.kind for b in enc.blocks].count("missing") == 1  # height has empty cells
    assert back["visits"].dtype == np.int64
    assert back["height"].isna().sum() == 15 and back["color"].isna().sum() == 10


def test_decode_clips_rounds_and_never_invents_levels(mixed_df):
    enc = TableEncoder(infer_schema(mixed_df)).fit(mixed_df)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 4, size=(500, enc.n_features)).astype(np.float32)
    out = enc.inverse_transform(x)
    h = out["height"].dropna()
    assert h.between(mixed_df["height"].min(), mixed_df["height"].max()).all()
    assert np.allclose(h, np.round(h, 1))
    assert set(out["color"].dropna()) <= set(mixed_df["color"].dropna())
    assert set(out["size"]) <= set(mixed_df["size"])
    assert out["joined"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()


def test_unseen_category_is_a_clear_error():
    df = pd.DataFrame({"c": ["a", "b"] * 10, "v": np.arange(20.0)})
    enc = TableEncoder(infer_schema(df)).fit(df)
    with pytest.raises(UserError, match="'c'.*'zzz'.*known values: a, b"):
        enc.transform(pd.DataFrame({"c": ["zzz"], "v": [1.0]}))


def test_rare_levels_share_one_slot_and_decode_to_training_values():
    n = 3000
    df = pd.DataFrame({"cust": [f"c{i % 1500}" for i in range(n)], "v": np.linspace(0, 1, n)})
    enc = TableEncoder(infer_schema(df), max_categories=50).fit(df)
    block = next(b for b in enc.blocks if b.column == "cust")
    assert block.end - block.start == 50 and enc.levels["cust"][-1] == RARE
    out = enc.inverse_transform(enc.transform(df), rng=np.random.default_rng(1))
    assert set(out["cust"]) <= set(df["cust"])
    assert out["cust"].nunique() > 100


def test_state_is_json_and_restores_exactly(mixed_df):
    enc = TableEncoder(infer_schema(mixed_df)).fit(mixed_df)
    state = json.loads(json.dumps(enc.state_dict()))
    again = TableEncoder.from_state(state)
    x = enc.transform(mixed_df)
    assert np.array_equal(again.transform(mixed_df), x)
    pd.testing.assert_frame_equal(again.inverse_transform(x), enc.inverse_transform(x))


def test_transform_partial_marks_known_cells(mixed_df):
    enc = TableEncoder(infer_schema(mixed_df)).fit(mixed_df)
    x, known = enc.transform_partial(mixed_df)
    hb = next(b for b in enc.blocks if b.column == "height" and b.kind == "numeric")
    assert (~known[:, hb.start]).sum() == 15
    _, free = enc.transform_partial(mixed_df, free_columns=["size"])
    sb = next(b for b in enc.blocks if b.column == "size")
    assert not free[:, sb.start:sb.end].any()


# --- property test: random mixed frames round-trip -----------------------------------------------------------
@st.composite
def frames(draw):
    n = draw(st.integers(min_value=5, max_value=40))
    rng = np.random.default_rng(draw(st.integers(0, 10**6)))
    cols = {}
    cols["f"] = np.round(rng.normal(0, 100, n), draw(st.integers(0, 3)))
    cols["i"] = rng.integers(-50, 50, n)
    cols["b"] = rng.choice([True, False], n)
    cols["c"] = rng.choice(["alpha", "beta", "gamma", "delta"], n)
    cols["d"] = pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")
    cols["d"] = cols["d"].strftime("%Y-%m-%d %H:%M:%S")
    df = pd.DataFrame(cols)
    # guarantee variety so no column turns constant
    df.loc[0, ["i", "b", "c"]] = [-50, True, "alpha"]
    df.loc[1, ["i", "b", "c"]] = [49, False, "beta"]
    df.loc[2, "i"] = 7
    for col in ("f", "c"):
        holes = rng.random(n) < draw(st.floats(0, 0.4))
        holes[:3] = False
        df.loc[holes, col] = np.nan
    return df


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(["quantile", "standard"]))
def test_property_random_frames_roundtrip(df, transform):
    enc = TableEncoder(infer_schema(df), numeric_transform=transform).fit(df)
    back = enc.inverse_transform(enc.transform(df, dtype=np.float64))
    for col in ("i", "b", "c", "d"):
        assert back[col].astype(object).where(back[col].notna(), None).tolist() == \
            df[col].astype(object).where(df[col].notna(), None).tolist(), col
    assert back["f"].isna().tolist() == df["f"].isna().tolist()
    f_ok = df["f"].notna()
    np.testing.assert_allclose(back.loc[f_ok, "f"], df.loc[f_ok, "f"], rtol=1e-6, atol=1e-9)


def test_discrete_integers_are_one_hot_and_decode_exactly():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"hours": rng.choice([20, 40, 40, 40, 50, 60], 300),
                       "wide": rng.integers(0, 10**6, 300), "c": rng.choice(["a", "b"], 300)})
    df.loc[:9, "hours"] = np.nan
    df["hours"] = df["hours"].astype("Int64")
    enc = TableEncoder(infer_schema(df), discrete_integers=16).fit(df)
    kinds = {b.column: b.kind for b in enc.blocks}
    assert kinds["hours"] == "categorical" and kinds["wide"] == "numeric"
    back = enc.inverse_transform(enc.transform(df))
    pd.testing.assert_frame_equal(back, df)
    again = TableEncoder.from_state(json.loads(json.dumps(enc.state_dict())))
    assert again.categorical_cols == enc.categorical_cols
    assert np.array_equal(again.transform(df), enc.transform(df))


def test_ordered_datetime_pair_is_an_offset_and_keeps_its_order():
    rng = np.random.default_rng(0)
    order = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, 200), unit="D")
    ship = order + pd.to_timedelta(rng.integers(0, 7 * 86400, 200), unit="s")
    df = pd.DataFrame({"order_date": order.strftime("%Y-%m-%d"), "shipped_at": ship.strftime("%Y-%m-%d %H:%M:%S"),
                       "v": rng.normal(size=200)})
    enc = TableEncoder(infer_schema(df)).fit(df)
    assert enc.offsets["shipped_at"]["anchor"] == "order_date"
    back = enc.inverse_transform(enc.transform(df, dtype=np.float64))
    pd.testing.assert_frame_equal(back, df)
    noise = enc.inverse_transform(rng.normal(0, 3, size=(1000, enc.n_features)))
    o = pd.to_datetime(noise["order_date"], format="%Y-%m-%d")
    s = pd.to_datetime(noise["shipped_at"], format="%Y-%m-%d %H:%M:%S")
    assert (s >= o).all() and ((s - o) <= pd.Timedelta(days=7)).all()
    assert TableEncoder.from_state(json.loads(json.dumps(enc.state_dict()))).offsets == enc.offsets


def test_unseen_whole_number_in_a_one_hot_integer_column_takes_the_nearest_level():
    df = pd.DataFrame({"n": [10, 20, 30] * 20, "v": np.arange(60.0)})
    enc = TableEncoder(infer_schema(df), discrete_integers=16).fit(df)
    assert enc.levels["n"] and "n" in enc.categorical_cols
    x = enc.transform(pd.DataFrame({"n": [24, 26, 10], "v": [1.0, 2.0, 3.0]}))
    back = enc.inverse_transform(x)
    assert back["n"].tolist() == [20, 30, 10]
    # too few rows per level: stays a number
    sparse = TableEncoder(infer_schema(df.head(25)), discrete_integers=16).fit(df.head(25))
    assert "n" not in sparse.categorical_cols


def test_a_spike_at_the_minimum_is_spread_over_its_quantile_interval():
    """Bug: sklearn's quantile transform put every 0 of a payment column (24 % of rows, its minimum) at
    z = -5.2, a far point mass; the model smeared it and Default's PAY_AMT6 came out 0 in 36.5 % of rows."""
    from scipy.stats import kstest, norm

    rng = np.random.default_rng(0)
    n = 4000
    pay = np.where(rng.random(n) < 0.24, 0.0, np.round(rng.lognormal(7, 1.2, n)))
    df = pd.DataFrame({"pay": pay, "k": rng.choice(["a", "b"], n)})
    enc = TableEncoder(infer_schema(df), numeric_transform="quantile").fit(df)
    x = enc.transform(df, dtype=np.float64, tie_seed=0)
    z = x[:, 0]
    zeros = pay == 0
    assert kstest(z, "norm").statistic < 0.02  # standard normal, no point mass
    assert np.unique(z[zeros]).size == zeros.sum()
    # the zeros fill the lower tail up to their share: rank interval [0, 0.24]
    assert z[zeros].max() < norm.ppf(zeros.mean()) + 1e-9 < z[~zeros].min() + 1e-9
    back = enc.inverse_transform(x)
    assert back["pay"].tolist() == df["pay"].tolist()  # every spread score decodes to the spike exactly
    assert enc.transform(df, tie_seed=0).tolist() == enc.transform(df, tie_seed=0).tolist()  # seeded
    mid = enc.transform(df, dtype=np.float64)[:, 0]  # no seed: the middle rank, as sklearn for inner ties
    assert np.allclose(mid[zeros], norm.ppf(zeros.mean() / 2), atol=0.01)


def test_checkpoints_without_the_tie_setting_keep_sklearns_transform(mixed_df):
    enc = TableEncoder(infer_schema(mixed_df), numeric_transform="quantile").fit(mixed_df)
    state = json.loads(json.dumps(enc.state_dict()))
    del state["tie_transform"]
    old = TableEncoder.from_state(state)
    assert old.tie_transform == "midrank"
    num = enc.n_numeric
    from sklearn.preprocessing import QuantileTransformer

    qt = QuantileTransformer(output_distribution="normal", n_quantiles=enc.scaler["n_quantiles"])
    qt.quantiles_, qt.references_ = enc.scaler["quantiles"], enc.scaler["references"]
    qt.n_quantiles_, qt.n_features_in_ = enc.scaler["n_quantiles"], num
    matrix = old._numeric_matrix(mixed_df)
    expected = qt.transform(matrix)
    got = old.transform(mixed_df, dtype=np.float64)[:, :num]
    assert np.array_equal(np.nan_to_num(expected, nan=0.0), got)  # scikit-learn's transform, bit for bit
    from tabdiff_cli.table.quantile import quantile_inverse

    z = np.random.default_rng(0).normal(size=(500, num)) * 3  # far tails included
    z[:5] = np.nan
    assert np.array_equal(qt.inverse_transform(z), quantile_inverse(z, qt.quantiles_, qt.references_),
                          equal_nan=True)


def spiky_table(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    hours = np.where(rng.random(n) < 0.45, 40, rng.integers(1, 99, n))
    gain = np.where(rng.random(n) < 0.9, 0.0, np.round(rng.lognormal(8, 1, n), 2))
    return pd.DataFrame({"hours": hours.astype("int64"), "gain": gain, "c": rng.choice(["a", "b"], n)})


def test_spike_values_get_a_one_hot_block_and_decode_exactly():
    df = spiky_table()
    enc = TableEncoder(infer_schema(df), spike_share=0.05).fit(df)
    assert enc.spikes == {"hours": [40.0], "gain": [0.0]}
    spike = {b.column: b for b in enc.blocks if b.kind == "spike"}
    assert [spike["hours"].end - spike["hours"].start, spike["gain"].end - spike["gain"].start] == [2, 2]
    x = enc.transform(df, tie_seed=0)
    onehot = enc.unscale_onehot(x[:, spike["hours"].start:spike["hours"].end])
    np.testing.assert_array_equal(onehot[:, 0], (df["hours"] == 40).to_numpy())
    pd.testing.assert_frame_equal(enc.inverse_transform(x), df)
    # the spike block decides: level "40" decodes to 40 wherever the number lies, "other" reads the number
    x2 = x.copy()
    hb = spike["hours"]
    x2[:, hb.start:hb.end] = enc.scale_onehot(np.tile([1.0, 0.0], (len(df), 1)))
    assert (enc.inverse_transform(x2)["hours"] == 40).all()
    other = df["hours"] != 40
    x2[:, hb.start:hb.end] = enc.scale_onehot(np.tile([0.0, 1.0], (len(df), 1)))
    np.testing.assert_array_equal(enc.inverse_transform(x2)["hours"][other], df["hours"][other])
    again = TableEncoder.from_state(json.loads(json.dumps(enc.state_dict())))
    assert again.spikes == enc.spikes and np.array_equal(again.transform(df, tie_seed=0), x)


def test_spikes_need_their_share_and_ten_rows_and_stay_off_for_the_seed_recipe():
    df = spiky_table()
    assert TableEncoder(infer_schema(df), spike_share=0.5).fit(df).spikes == {"gain": [0.0]}
    assert TableEncoder(infer_schema(df)).fit(df).spikes == {}
    seed = TableEncoder(infer_schema(df), numeric_transform="standard", categorical_encoding="standardized",
                        spike_share=0.05).fit(df)
    assert seed.spikes == {} and seed.n_features == 4
    with pytest.raises(UserError, match="spike_share"):
        TableEncoder(infer_schema(df), spike_share=1.5)
    tiny = df.head(15)  # 40 is held by fewer than MIN_SPIKE_ROWS rows
    assert "hours" not in TableEncoder(infer_schema(tiny), spike_share=0.05).fit(tiny).spikes


def test_an_empty_numeric_cell_leaves_its_spike_block_unknown_and_a_given_one_fixes_it():
    df = spiky_table()
    enc = TableEncoder(infer_schema(df), spike_share=0.05).fit(df)
    hb = next(b for b in enc.blocks if b.kind == "spike" and b.column == "hours")
    part = pd.DataFrame({"hours": pd.array([None, 40], dtype="Int64"), "gain": [0.0, 0.0], "c": ["a", "b"]})
    x, known = enc.transform_partial(part)
    assert not known[0, hb.start:hb.end].any() and known[1, hb.start:hb.end].all()
    assert enc.unscale_onehot(x[1:, hb.start:hb.end]).tolist() == [[1.0, 0.0]]


def test_find_clusters_splits_at_wide_gaps_only():
    from tabdiff_cli.table.encoder import find_clusters

    rng = np.random.default_rng(0)
    bimodal = np.concatenate([rng.normal(1.5, 0.2, 50), rng.normal(5.0, 0.6, 100)])
    bimodal = bimodal[(bimodal < 2.2) | (bimodal > 3.2)]
    (b,) = find_clusters(bimodal, min_rows=10)
    assert 2.2 <= b <= 3.2
    assert find_clusters(rng.normal(size=2000), min_rows=10) == []  # unimodal: no gap wide enough
    assert find_clusters(np.round(rng.uniform(2, 4.4, 150), 1), min_rows=10) == []  # a 0.1 grid is no gap
    lonely = np.concatenate([rng.normal(size=200), [50.0] * 5])
    assert find_clusters(lonely, min_rows=10) == []  # a far outlier group too small to be a cluster


def test_a_gapped_column_is_scaled_within_its_cluster_and_never_decodes_into_the_gap(iris_df):
    """Iris's petal lengths (setosa 1.0–1.9 cm, the others 3.0–6.9 cm) get a cluster block: each cluster's
    numbers are normal scores of their own, and whatever the network outputs decodes inside a cluster."""
    enc = TableEncoder(infer_schema(iris_df), clusters=True).fit(iris_df)
    assert {b.column for b in enc.blocks if b.kind == "cluster"} == {"petal length (cm)", "petal width (cm)"}
    x = enc.transform(iris_df, dtype=np.float64, tie_seed=0)  # ties spread: each cluster's scores N(0, 1)
    i = enc.numeric_cols.index("petal length (cm)")
    setosa = (iris_df["target"] == "setosa").to_numpy()
    for sel in (setosa, ~setosa):  # normal scores of their own (the quantile transform sends min/max to ±5.2)
        lo, hi = np.quantile(x[sel, i], [0.05, 0.95])
        assert abs(np.median(x[sel, i])) < 0.2 and -2.2 < lo < -1.2 and 1.2 < hi < 2.2
    back = enc.inverse_transform(x)
    np.testing.assert_allclose(back["petal length (cm)"], iris_df["petal length (cm)"])
    z = np.random.default_rng(0).normal(size=(2000, enc.n_features)) * 2
    gen = enc.inverse_transform(z)["petal length (cm)"]
    assert not ((gen > 1.9) & (gen < 3.0)).any()
    again = TableEncoder.from_state(json.loads(json.dumps(enc.state_dict())))
    np.testing.assert_array_equal(again.transform(iris_df), enc.transform(iris_df))
    plain = TableEncoder(infer_schema(iris_df)).fit(iris_df)
    assert not plain.clusters and plain.n_features == enc.n_features - 4
