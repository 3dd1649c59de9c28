"""TableEncoder: a DataFrame ⇄ a float matrix the diffusion model learns, and back.

Layout of the encoded matrix x: (n_rows, n_features) float32, in this order of blocks:
1. numeric coordinates, one per continuous / integer / datetime column, scaled by a StandardScaler
   (the blog recipe) or a QuantileTransformer to a standard normal (TabDDPM, TabSyn); a missing value is put
   at 0 and flagged by its missing-indicator block;
2. one-hot blocks, one per categorical / boolean column (a missing cell is a level of its own), then
   one spike block per numeric column with spikes (`spike_share`: [its frequent values…, other]), then
   one 2-wide [observed, missing] block per numeric column that has missing cells. One-hot coordinates
   are standardized per coordinate (the blog recipe: one StandardScaler over all coordinates) or mapped to ±1.

Decoding inverts the scaling, takes the argmax of each one-hot block (a spike block's value replaces its
column's number), clips numbers to the training
[min, max], rounds integers and floats (to the column's decimals, in float64) and restores dtypes,
datetime text formats, constants, empty columns and fresh identifiers. No Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tabdiff_cli.errors import UserError
from tabdiff_cli.table.layout import Layout
from tabdiff_cli.table.quantile import TIE_STREAM, quantile_inverse, quantile_midrank, quantile_normal
from tabdiff_cli.table.schema import MAX_DECIMALS, ColumnSpec, Schema, format_number_text, numeric_values

NUMERIC_KINDS = ("continuous", "integer", "datetime")
NS_LIMIT_SECONDS = 9.2e9  # |seconds since 1970| beyond which nanoseconds overflow int64 (years 1677 and 2262)
CATEGORICAL_KINDS = ("categorical", "boolean")
RARE = "__tabdiff_rare__"
MAX_SPIKES = 16  # spike levels per numeric column, the most frequent values
MIN_SPIKE_ROWS = 10  # a spike must be held by this many training rows at least, as a one-hot integer level
CLUSTER_GAP = 0.2  # a gap between a column's sorted values of at least this share of its IQR separates clusters
MIN_CLUSTER_SHARE = 0.05  # a cluster holds at least this share of the column's values (and MIN_SPIKE_ROWS)
MAX_CLUSTERS = 8
GRID_STEPS = 3  # a cluster gap is at least this many times the median step between a column's distinct values


@dataclass(frozen=True)
class Block:
    """A slice [start, end) of the encoded features: kind 'numeric' (width 1), 'categorical' (one-hot),
    'spike' (one-hot [spike values…, other] of numeric column `column`), 'cluster' (one-hot [cluster 1, …,
    cluster k] of numeric column `column`: which of its value ranges separated by gaps a row lies in) or
    'missing' (the [observed, missing] indicator of numeric column `column`)."""

    column: str
    kind: str
    start: int
    end: int


def _resolution(spec: ColumnSpec) -> float:
    """Seconds between representable values of a datetime column's text format (a day for %Y-%m-%d)."""
    fmt = spec.datetime_format or ""
    return 1e-6 if "%f" in fmt else 1.0 if "%S" in fmt else 60.0 if "%M" in fmt else 86400.0 if fmt else 1e-9


def _json(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _json_arrays(scaler: dict[str, Any]) -> dict[str, Any]:
    """A scaler dict with its arrays as lists (JSON-safe)."""
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in scaler.items()}


def _array_scaler(state: dict[str, Any]) -> dict[str, Any]:
    """A scaler dict read back from JSON, its arrays float64."""
    arrays = {"standard": ("mean", "scale", "var"), "quantile": ("quantiles", "references")}.get(state.get("type"), ())
    return {k: np.asarray(v, dtype=np.float64) if k in arrays else v for k, v in state.items()}


def _restore_dtype(values: pd.Series, dtype: str) -> pd.Series:
    """Cast decoded values back to the input dtype (nullable where missing cells exist)."""
    has_na = bool(values.isna().any())
    try:
        if dtype.startswith(("int", "uint", "Int", "UInt")):
            return values.astype("Int64") if has_na else values.astype("int64")
        if dtype == "bool":
            return values.astype(object) if has_na else values.astype(bool)
        if dtype.startswith("float"):
            return values.astype("float64")
        if dtype in ("str", "string"):
            return values.astype(dtype)
    except (TypeError, ValueError):
        return values
    return values


def find_clusters(values: np.ndarray, min_rows: int, gap: float = CLUSTER_GAP,
                  max_clusters: int = MAX_CLUSTERS) -> list[float]:
    """Break points b_1 < … < b_{k−1} that split a numeric column's values into k ≥ 2 clusters at its gaps,
    or [] when it has none: a gap between consecutive sorted values counts when it is at least `gap` times
    the interquartile range and GRID_STEPS times the median step between distinct values, widest first, as
    long as every cluster keeps `min_rows` values. A break is the middle of its gap; a value v lies in
    cluster searchsorted(breaks, v).

    values: (n,) float64, NaN ignored. Clusters keep a multimodal column's gaps (Iris's petal lengths,
    1.0–1.9 cm for setosa and 3.0–6.9 cm for the others): a quantile transform would map the gap to one
    point, so that a small error in transformed space crosses from one cluster into another.
    """
    v = np.sort(np.asarray(values, dtype=np.float64)[np.isfinite(values)])
    if v.size < 2 * min_rows:
        return []
    q1, q3 = np.quantile(v, [0.25, 0.75])
    widths = np.diff(v)
    steps = widths[widths > 0]
    if q3 <= q1 or not steps.size:
        return []
    # a gap also spans several of the column's own steps between distinct values: a 0.1 cm grid is no gap
    least = max(gap * (q3 - q1), GRID_STEPS * float(np.median(steps)))
    cuts: list[int] = []  # i: the gap between v[i] and v[i + 1]
    for i in np.argsort(-widths, kind="stable"):
        if widths[i] < least or len(cuts) + 1 >= max_clusters:
            break
        trial = sorted([*cuts, int(i)])
        sizes = np.diff([0, *(j + 1 for j in trial), v.size])
        if sizes.min() >= min_rows:
            cuts = trial
    return [float((v[i] + v[i + 1]) / 2) for i in cuts]


def unseen_level_error(column: str, value: str, known: list[str]) -> UserError:
    """The error for a categorical value with no level in the fitted encoder: it names the column and the
    value, lists the known values, and suggests the one that differs only in case or surrounding spaces
    ('Setosa' or 'setosa ' → 'setosa')."""
    folded = [k for k in known if k.strip().lower() == value.strip().lower()]
    hint = f" (did you mean '{folded[0]}'?)" if folded else ""
    return UserError(f"column '{column}': value '{value}' was not seen in training{hint}; "
                     f"known values: {', '.join(known)}")


class TableEncoder:
    """Fit on a training table, then map rows to encoded vectors and back.

    schema: the columns' kinds (schema.infer_schema). numeric_transform: 'quantile' | 'standard'.
    categorical_encoding: 'standardized' (the blog recipe: StandardScaler on 0/1 one-hot) | 'pm1' (±1 one-hot).
    max_categories: levels past the most frequent ones share a rare slot, decoded by drawing a rare
    level with its training frequency, so a column with 10^5 levels costs at most this many coordinates.
    discrete_integers: an integer column with at most this many distinct values is one-hot encoded like
    a categorical (its values decoded back as integers), so a recoding such as Adult's education_num (16
    values, one per education level) keeps its exact link to other columns. Wider integer columns cost a
    coordinate per value that way; as quantile-normal numbers their spikes are kept by the spread ties
    (`quantile_normal`). 0 = off (the blog recipe).
    spike_share: a numeric (integer or continuous) column's values held by at least this share of the rows
    (and by MIN_SPIKE_ROWS rows; the MAX_SPIKES most frequent) become the levels of a spike block
    [v_1, …, v_k, other] beside its quantile-normal coordinate, learned by cross-entropy like a category;
    a row decodes to v_j when its spike block says so, else from its number, quantile-transformed over the
    column's other values (`_without_spikes`); Adult's hours_per_week is 40 in 46.7 % of the rows. A mixed
    discrete/continuous column, as the mode indicator of CTGAN's mode-specific normalization (Xu et al. 2019,
    §4.2), but for exact values. Only with the quantile transform; 0 = off (the blog recipe).
    clusters: a numeric column whose values fall into ranges separated by wide gaps (`find_clusters`) gets a
    cluster block [1, …, k] beside its coordinate, learned by cross-entropy, and its number is scaled within
    its cluster, so the gaps survive the transform (CTGAN's mode-specific normalization, Xu et al. 2019,
    §4.2, with the modes found from gaps). Columns with spike levels, datetimes and offsets have none.
    """

    def __init__(self, schema: Schema, numeric_transform: str = "quantile",
                 categorical_encoding: str = "pm1", max_categories: int = 500, discrete_integers: int = 0,
                 spike_share: float = 0.0, clusters: bool = False):
        if numeric_transform not in ("quantile", "standard"):
            raise UserError(f"unknown numeric_transform '{numeric_transform}'; use quantile or standard")
        if categorical_encoding not in ("pm1", "standardized"):
            raise UserError(f"unknown categorical_encoding '{categorical_encoding}'; use pm1 or standardized")
        self.schema = schema
        self.numeric_transform = numeric_transform
        self.categorical_encoding = categorical_encoding
        self.max_categories = max(2, int(max_categories))
        self.discrete_integers = int(discrete_integers or 0)
        if not 0.0 <= float(spike_share or 0.0) < 1.0:
            raise UserError(f"spike_share must be a share in [0, 1), got {spike_share!r}")
        self.spike_share = float(spike_share or 0.0)
        self.numeric_cols: list[str] = [c.name for c in schema.of_kind(*NUMERIC_KINDS)]
        self.categorical_cols: list[str] = [c.name for c in schema.of_kind(*CATEGORICAL_KINDS)]
        self.missing_cols: list[str] = []
        # {later datetime column: {"anchor": earlier column, "min": s, "max": s}}: encoded as the offset
        self.offsets: dict[str, dict[str, Any]] = {}
        self.levels: dict[str, list[Any]] = {}  # per categorical column; None = the missing level
        self.rare: dict[str, dict[str, list]] = {}  # {"values": [...], "p": [...]}
        self.spikes: dict[str, list[float]] = {}  # per numeric column with spikes: its spike values
        # per numeric column with clusters: {"breaks": [b_1, …], "scalers": one scaler dict per cluster}; the
        # column's number is scaled within its cluster
        self.clusters: dict[str, dict[str, Any]] = {}
        self.use_clusters = bool(clusters)
        # the fitted numeric scaling, applied in numpy: {"type": "standard", "mean", "scale", "var"} or
        # {"type": "quantile", "quantiles": (n_quantiles, n_numeric), "references": (n_quantiles,)}; {} if none
        self.scaler: dict[str, Any] = {}
        # "spread": tied values fill their quantile interval (quantile_normal); "midrank": sklearn's own
        # transform (checkpoints written before this existed)
        self.tie_transform = "spread"
        self.onehot_mean: np.ndarray | None = None
        self.onehot_scale: np.ndarray | None = None
        self.fitted = False

    # ------------------------------------------------------------------ layout
    @property
    def blocks(self) -> list[Block]:
        """Encoded layout, in order (see module docstring)."""
        out, pos = [], 0
        for name in self.numeric_cols:
            out.append(Block(name, "numeric", pos, pos + 1))
            pos += 1
        for name in self.categorical_cols:
            width = len(self.levels[name])
            out.append(Block(name, "categorical", pos, pos + width))
            pos += width
        for name in self.numeric_cols:
            if name in self.spikes:
                width = len(self.spikes[name]) + 1
                out.append(Block(name, "spike", pos, pos + width))
                pos += width
        for name in self.numeric_cols:
            if name in self.clusters:
                width = len(self.clusters[name]["breaks"]) + 1
                out.append(Block(name, "cluster", pos, pos + width))
                pos += width
        for name in self.missing_cols:
            out.append(Block(name, "missing", pos, pos + 2))
            pos += 2
        return out

    @property
    def n_features(self) -> int:
        """Width d of the encoded matrix."""
        blocks = self.blocks
        return blocks[-1].end if blocks else 0

    @property
    def n_numeric(self) -> int:
        """Number of leading numeric coordinates."""
        return len(self.numeric_cols)

    def layout(self) -> Layout:
        """The encoded layout as the diffusion model sees it (table.layout.Layout): the one-hot blocks, the
        affine map of each one-hot coordinate (scale_onehot is affine per coordinate: f(p) = p·(f(1) − f(0))
        + f(0)) and the conditioning unit of every coordinate (a numeric column's spike block shares its
        coordinate's unit, as a given number fixes both)."""
        self._check_fitted()
        blocks = self.blocks
        m = self.n_features - self.n_numeric
        one = self.scale_onehot(np.ones((1, m)))[0]
        zero = self.scale_onehot(np.zeros((1, m)))[0]
        units = [0] * self.n_features
        ids: dict[tuple[str, str], int] = {}
        for b in blocks:
            key = (b.column, "numeric" if b.kind in ("spike", "cluster") else b.kind)
            units[b.start:b.end] = [ids.setdefault(key, len(ids))] * (b.end - b.start)
        return Layout(n_features=self.n_features, n_numeric=self.n_numeric,
                      blocks=tuple((b.start, b.end) for b in blocks if b.kind != "numeric"),
                      onehot_scale=tuple(float(v) for v in one - zero), onehot_offset=tuple(float(v) for v in zero),
                      units=tuple(units))

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame, max_rows: int | None = None) -> TableEncoder:
        """Learn scalers, category levels and missing-indicator columns from df (n_rows, n_columns).

        max_rows: with more rows than this, the numeric scaler (quantiles or mean/std) is fitted on a
        seeded random subsample of max_rows rows and the one-hot standardization on the full columns'
        frequencies; category levels and missing indicators always come from every row.
        """
        n = len(df)
        if self.discrete_integers:
            # one-hot only where levels repeat enough to be learned as classes (at least 10 rows a level)
            limit = min(self.discrete_integers, n // 10)
            discrete = {c.name for c in self.schema.of_kind("integer") if df[c.name].nunique(dropna=True) <= limit}
            self.numeric_cols = [c for c in self.numeric_cols if c not in discrete]
            self.categorical_cols = [c.name for c in self.schema.columns
                                     if c.kind in CATEGORICAL_KINDS or c.name in discrete]
        sub = None
        if max_rows is not None and n > max(2, int(max_rows)):
            sub = np.sort(np.random.default_rng(0).choice(n, size=max(2, int(max_rows)), replace=False))
        freqs: list[np.ndarray] = []  # per one-hot block, level frequencies over every row
        for name in self.categorical_cols:
            counts = df[name].value_counts(dropna=False, sort=True)
            values = [None if pd.isna(v) else _json(v) for v in counts.index]
            if len(values) > self.max_categories:
                keep = self.max_categories - 1
                tail = counts.iloc[keep:]
                self.rare[name] = {
                    "values": [None if pd.isna(v) else _json(v) for v in tail.index],
                    "p": (tail.to_numpy(np.float64) / tail.sum()).tolist(),
                }
                values = values[:keep] + [RARE]
                c = counts.to_numpy(np.float64)
                freqs.append(np.append(c[:keep], c[keep:].sum()) / n)
            else:
                freqs.append(counts.to_numpy(np.float64) / n)
            self.levels[name] = values
        self.offsets = self._find_offsets(df)
        self.spikes = self._find_spikes(df) if self.spike_share > 0 and self.numeric_transform == "quantile" else {}
        for name in self.numeric_cols:
            if name in self.spikes:
                width = len(self.spikes[name]) + 1
                freqs.append(np.bincount(self._spike_codes(df, name), minlength=width) / max(1, n))
        self.clusters = self._find_clusters(df) if self.use_clusters else {}
        for name in self.numeric_cols:
            if name in self.clusters:
                width = len(self.clusters[name]["breaks"]) + 1
                freqs.append(np.bincount(self._cluster_codes(df, name), minlength=width) / max(1, n))
        missing_rates = {name: float(df[name].isna().mean()) for name in self.numeric_cols}
        self.missing_cols = [name for name in self.numeric_cols if missing_rates[name] > 0]
        freqs += [np.array([1.0 - missing_rates[name], missing_rates[name]]) for name in self.missing_cols]
        num, _ = self._without_spikes(self._numeric_matrix(df if sub is None else df.iloc[sub]))
        # scikit-learn fits the scalers; transform and inverse_transform apply their arrays in numpy
        from sklearn.preprocessing import QuantileTransformer, StandardScaler

        if num.shape[1] and self.numeric_transform == "standard":
            sc = StandardScaler().fit(num)
            self.scaler = {"type": "standard", "mean": sc.mean_, "scale": sc.scale_, "var": sc.var_}
        elif num.shape[1]:
            qt = QuantileTransformer(output_distribution="normal", n_quantiles=max(2, min(1000, len(num))),
                                     subsample=10**9, random_state=0).fit(num)
            self.scaler = {"type": "quantile", "quantiles": qt.quantiles_, "references": qt.references_,
                           "n_quantiles": int(qt.n_quantiles_)}
        for i, name in enumerate(self.numeric_cols):
            if name in self.clusters:
                values = num[:, i]
                codes = np.searchsorted(self.clusters[name]["breaks"], values)
                self.clusters[name]["scalers"] = [self._fit_scaler(values[(codes == j) & ~np.isnan(values), None])
                                                  for j in range(len(self.clusters[name]["breaks"]) + 1)]
        if self.categorical_encoding == "standardized" and freqs:
            if sub is None:  # exactly the blog recipe's StandardScaler over the 0/1 coordinates
                sc = StandardScaler().fit(self._onehot_raw(df))
                self.onehot_mean, self.onehot_scale = sc.mean_, sc.scale_
            else:  # the same statistics from the frequencies, without an (n_rows, width) matrix
                p = np.concatenate(freqs)
                std = np.sqrt(np.maximum(p * (1.0 - p), 0.0))
                tiny = 10 * np.finfo(np.float64).eps  # as StandardScaler: a constant coordinate keeps scale 1
                self.onehot_mean, self.onehot_scale = p, np.where(std < tiny, 1.0, std)
        self.fitted = True
        return self

    def _find_offsets(self, df: pd.DataFrame) -> dict[str, dict[str, Any]]:
        """Datetime pairs where the later column is never before the earlier one (order → ship dates):
        the later one is modelled as its offset from the earlier, so generated rows keep the order
        (tests/cases c08). The anchor must have no empty cell and not be an offset itself."""
        dates = [c for c in self.numeric_cols if self.schema[c].kind == "datetime"]
        secs = {c: numeric_values(df[c], self.schema[c]) for c in dates}
        found: dict[str, dict[str, Any]] = {}
        for j, later in enumerate(dates):
            for anchor in dates[:j]:
                a, b = secs[anchor], secs[later]
                both = np.isfinite(a) & np.isfinite(b)
                if anchor in found or np.isnan(a).any() or both.sum() < 2 or (b[both] < a[both]).any():
                    continue
                gap = b[both] - a[both]
                found[later] = {"anchor": anchor, "min": float(gap.min()), "max": float(gap.max())}
                break
        return found

    def _find_spikes(self, df: pd.DataFrame) -> dict[str, list[float]]:
        """{numeric column: its spike values, most frequent first} (`spike_share`); datetimes and offset
        columns have none."""
        n = len(df)
        found: dict[str, list[float]] = {}
        for name in self.numeric_cols:
            spec = self.schema[name]
            if spec.kind == "datetime" or name in self.offsets:
                continue
            counts = pd.Series(numeric_values(df[name], spec)).value_counts(dropna=True)
            keep = counts[counts >= max(MIN_SPIKE_ROWS, self.spike_share * n)].iloc[:MAX_SPIKES]
            rest = counts.drop(keep.index)
            # the other values need a quantile transform of their own: enough rows and two values at least
            if len(keep) and rest.sum() >= MIN_SPIKE_ROWS and len(rest) >= 2:
                found[name] = [float(v) for v in keep.index]
        return found

    def _find_clusters(self, df: pd.DataFrame) -> dict[str, dict[str, Any]]:
        """{numeric column: {"breaks": its cluster break points}} (`find_clusters`); datetimes, offset columns
        and columns with spike levels have none."""
        found = {}
        for name in self.numeric_cols:
            spec = self.schema[name]
            if spec.kind == "datetime" or name in self.offsets or name in self.spikes:
                continue
            values = numeric_values(df[name], spec)
            present = int(np.isfinite(values).sum())
            breaks = find_clusters(values, max(MIN_SPIKE_ROWS, int(np.ceil(MIN_CLUSTER_SHARE * present))))
            if breaks:
                found[name] = {"breaks": breaks}
        return found

    def _cluster_codes(self, df: pd.DataFrame, name: str) -> np.ndarray:
        """Cluster of each row of numeric column `name`: (n_rows,) int64 in [0, k); an empty cell counts in the
        largest cluster (its missing indicator says it is empty)."""
        v = numeric_values(df[name], self.schema[name])
        codes = np.searchsorted(self.clusters[name]["breaks"], v)
        empty = np.isnan(v)
        if empty.any():
            codes[empty] = int(np.bincount(codes[~empty], minlength=1).argmax()) if (~empty).any() else 0
        return codes.astype(np.int64)

    def _fit_scaler(self, values: np.ndarray) -> dict[str, Any]:
        """A scaler dict (as self.scaler) fitted on values: (n, 1) float64 with the encoder's numeric_transform."""
        from sklearn.preprocessing import QuantileTransformer, StandardScaler

        if self.numeric_transform == "standard":
            sc = StandardScaler().fit(values)
            return {"type": "standard", "mean": sc.mean_, "scale": sc.scale_, "var": sc.var_}
        qt = QuantileTransformer(output_distribution="normal", n_quantiles=max(2, min(1000, len(values))),
                                 subsample=10**9, random_state=0).fit(values)
        return {"type": "quantile", "quantiles": qt.quantiles_, "references": qt.references_,
                "n_quantiles": int(qt.n_quantiles_)}

    def _spike_codes(self, df: pd.DataFrame, name: str) -> np.ndarray:
        """Level of each row in `name`'s spike block: (n_rows,) int64, len(spikes) for 'other' (an empty
        cell included)."""
        spikes = self.spikes[name]
        v = pd.Series(numeric_values(df[name], self.schema[name]))
        return v.map({s: j for j, s in enumerate(spikes)}).fillna(len(spikes)).to_numpy(np.int64)

    def _without_spikes(self, num: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(num with every spike cell set to NaN, (n_rows, n_numeric) bool mask of those cells).

        The quantile transform of a column with spikes is fitted on, and maps, its other values only, so
        the whole normal line decodes to non-spike values: with the spikes' rank intervals left in, a generated
        'other' row that falls inside one decodes as the spike.
        """
        at_spike = np.zeros(num.shape, dtype=bool)
        for i, name in enumerate(self.numeric_cols):
            if name in self.spikes:
                at_spike[:, i] = np.isin(num[:, i], self.spikes[name])
        return (np.where(at_spike, np.nan, num) if at_spike.any() else num), at_spike

    def _numeric_matrix(self, df: pd.DataFrame) -> np.ndarray:
        cols = []
        for name in self.numeric_cols:
            v = numeric_values(df[name], self.schema[name])
            if name in self.offsets:
                anchor = self.offsets[name]["anchor"]
                v = v - numeric_values(df[anchor], self.schema[anchor])
            cols.append(v)
        return np.column_stack(cols) if cols else np.zeros((len(df), 0))

    def _codes(self, series: pd.Series, name: str) -> np.ndarray:
        levels = self.levels[name]
        lookup = {("__na__" if v is None else v): i for i, v in enumerate(levels)}
        keys = series.astype(object).where(series.notna(), "__na__")
        codes = keys.map(lookup)
        if name in self.rare:
            rare_idx = levels.index(RARE)
            codes = codes.where(codes.notna() | ~keys.isin(set(self.rare[name]["values"])), rare_idx)
        if codes.isna().any() and self.schema[name].kind == "integer":
            # a one-hot integer column (discrete_integers) meets a whole number between its training levels
            # (imputing a held-out table): the nearest level stands in for it
            nums = np.array([v for v in levels if v is not None], dtype=np.float64)
            idx = [i for i, v in enumerate(levels) if v is not None]
            unseen = codes.isna() & series.notna()
            x = pd.to_numeric(series[unseen], errors="coerce").to_numpy(np.float64)
            nearest = np.abs(x[:, None] - nums[None, :]).argmin(axis=1)
            codes = codes.copy()
            codes[unseen] = np.asarray(idx)[nearest]
        if codes.isna().any():
            bad = keys[codes.isna()].iloc[0]
            raise unseen_level_error(name, str(bad), [str(v) for v in levels if v not in (None, RARE)])
        return codes.to_numpy(dtype=np.int64)

    def _onehot_raw(self, df: pd.DataFrame, force_observed: bool = False) -> np.ndarray:
        parts = []
        for name in self.categorical_cols:
            eye = np.zeros((len(df), len(self.levels[name])), dtype=np.float32)
            eye[np.arange(len(df)), self._codes(df[name], name)] = 1.0
            parts.append(eye)
        for name in self.numeric_cols:
            if name in self.spikes:
                eye = np.zeros((len(df), len(self.spikes[name]) + 1), dtype=np.float32)
                eye[np.arange(len(df)), self._spike_codes(df, name)] = 1.0
                parts.append(eye)
        for name in self.numeric_cols:
            if name in self.clusters:
                eye = np.zeros((len(df), len(self.clusters[name]["breaks"]) + 1), dtype=np.float32)
                eye[np.arange(len(df)), self._cluster_codes(df, name)] = 1.0
                parts.append(eye)
        for name in self.missing_cols:
            miss = np.zeros(len(df), dtype=bool) if force_observed else df[name].isna().to_numpy()
            parts.append(np.column_stack([~miss, miss]).astype(np.float32))
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(df), 0), dtype=np.float32)

    # ------------------------------------------------------------------ encode
    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError("TableEncoder is not fitted")

    def scale_onehot(self, onehot: np.ndarray) -> np.ndarray:
        """0/1 one-hot coordinates → model space."""
        if self.categorical_encoding == "standardized" and onehot.shape[1]:
            return (onehot - self.onehot_mean) / self.onehot_scale
        return 2.0 * onehot - 1.0

    def unscale_onehot(self, z: np.ndarray) -> np.ndarray:
        """Model space → one-hot scale (argmax is taken here, after the inverse scaling, as the blog recipe does)."""
        if self.categorical_encoding == "standardized" and z.shape[1]:
            return z * self.onehot_scale + self.onehot_mean
        return (z + 1.0) / 2.0

    def missing_coordinates(self) -> np.ndarray:
        """(n_features,) bool: the coordinates that decode to an empty cell (a categorical column's missing
        level, the 'missing' half of a numeric column's indicator); imputation never draws them."""
        out = np.zeros(self.n_features, dtype=bool)
        for b in self.blocks:
            if b.kind == "missing":
                out[b.start + 1] = True
            elif b.kind == "categorical" and None in self.levels[b.column]:
                out[b.start + self.levels[b.column].index(None)] = True
        return out

    def transform(self, df: pd.DataFrame, force_observed: bool = False, dtype: Any = np.float32,
                  tie_seed: int | None = None) -> np.ndarray:
        """Encode df (n_rows, n_columns) → x (n_rows, n_features), float32 by default (what the network
        sees; float64 keeps datetimes exact to the second through the quantile transform).

        force_observed: set every missing-indicator block to 'observed' (used for imputation).
        tie_seed: the quantile transform places a tied value (a spike such as 0 in 24 % of a payment column)
        at a seeded uniform draw within its quantile interval (the training table); None places it at the
        interval's middle (given values when conditioning). See quantile_normal.

        Errors: UserError for a categorical value not seen in training (lists the known values).
        """
        self._check_fitted()
        raw, at_spike = self._without_spikes(self._numeric_matrix(df))
        num = raw
        if num.shape[1]:
            rng = None if tie_seed is None else np.random.default_rng((TIE_STREAM, int(tie_seed)))
            num = self._scale(raw, self.scaler, rng)
            for i, name in enumerate(self.numeric_cols):
                if name in self.clusters:  # within its cluster, each with a scaler of its own
                    c = self.clusters[name]
                    codes = np.searchsorted(c["breaks"], raw[:, i])
                    for j, sc in enumerate(c["scalers"]):
                        sel = (codes == j) & ~np.isnan(raw[:, i])
                        num[sel, i] = self._scale(raw[sel, i:i + 1], sc, rng)[:, 0]
            if at_spike.any():
                # a spike row's number carries nothing its spike block does not: independent N(0, 1) noise
                # (smooth for eps prediction), or 0 for given values
                fill = (np.zeros(int(at_spike.sum())) if tie_seed is None else
                        np.random.default_rng((TIE_STREAM, int(tie_seed), 1)).standard_normal(int(at_spike.sum())))
                num[at_spike] = fill
            num = np.nan_to_num(num, nan=0.0)
        onehot = self.scale_onehot(self._onehot_raw(df, force_observed).astype(np.float64))
        return np.concatenate([num, onehot], axis=1).astype(dtype)

    def _scale(self, values: np.ndarray, sc: dict[str, Any], rng: np.random.Generator | None) -> np.ndarray:
        """values (n, k) float64 → normal scores (quantile) or standardized values (standard) under scaler sc."""
        if sc["type"] == "quantile" and self.tie_transform == "spread":
            return quantile_normal(values, sc["quantiles"], sc["references"], rng)
        if sc["type"] == "quantile":
            return quantile_midrank(values, sc["quantiles"], sc["references"])
        return (np.asarray(values, dtype=np.float64) - sc["mean"]) / sc["scale"]  # as StandardScaler.transform

    @staticmethod
    def _unscale(z: np.ndarray, sc: dict[str, Any]) -> np.ndarray:
        """The inverse of _scale: z (n, k) → values (n, k) float64."""
        if sc["type"] == "quantile":
            return quantile_inverse(z, sc["quantiles"], sc["references"])
        return z * sc["scale"] + sc["mean"]  # as StandardScaler.inverse_transform

    def transform_partial(self, df: pd.DataFrame,
                          free_columns: list[str] | tuple = ()) -> tuple[np.ndarray, np.ndarray]:
        """Encode rows with unknown cells for inpainting: (x, known), both (n_rows, n_features).

        known is True where a coordinate is fixed by an observed cell. An empty numeric cell leaves its
        value unknown but fixes its missing-indicator to 'observed', so the model fills in a value
        (imputation); an empty categorical cell leaves its one-hot block unknown (decode with
        forbid_missing=True). Columns in free_columns are unknown entirely, indicators included
        (conditional sampling: every column not conditioned on). A number beyond the training range is
        clipped to one range width past it (±inf included) before encoding.
        Errors: UserError for a categorical value not seen in training.
        """
        self._check_fitted()
        filled = df.copy()
        known = np.ones((len(df), self.n_features), dtype=bool)
        free = set(free_columns)
        for block in self.blocks:
            if block.column in free:
                known[:, block.start:block.end] = False
                continue
            miss = df[block.column].isna().to_numpy()
            if block.column in self.offsets:
                miss = miss | df[self.offsets[block.column]["anchor"]].isna().to_numpy()
            if block.kind == "numeric":
                known[miss, block.start] = False
            elif block.kind in ("categorical", "spike", "cluster"):
                known[miss, block.start:block.end] = False
        for name in self.numeric_cols:
            spec = self.schema[name]
            if spec.kind in ("continuous", "integer") and spec.minimum is not None and spec.maximum is not None:
                # the network sees an observed number at most one training range beyond either end (a given
                # 1e300 or inf overflowed the standard scaler); the output keeps the cell as given
                span = max(float(spec.maximum) - float(spec.minimum), 1.0)
                values = filled[name].astype("float64")
                filled[name] = values.clip(float(spec.minimum) - span, float(spec.maximum) + span)
        for name in self.categorical_cols:
            miss = filled[name].isna()
            if miss.any():
                # any training level keeps transform() happy; these coordinates are unknown anyway
                first = next(v for v in self.levels[name] if v not in (None, RARE))
                filled[name] = filled[name].astype(object).where(~miss, first)
        return self.transform(filled, force_observed=True), known

    # ------------------------------------------------------------------ decode
    def inverse_transform(self, x: np.ndarray, rng: np.random.Generator | None = None,
                          row_offset: int = 0, forbid_missing: bool = False) -> pd.DataFrame:
        """Decode x (n_rows, n_features) → a DataFrame with the input's columns, order and dtypes.

        rng draws rare categorical levels; row_offset numbers fresh identifiers (global row index), so
        decoding a table in parts gives the same result as decoding it whole. forbid_missing: never
        decode a missing level (imputation).
        """
        self._check_fitted()
        rng = rng if rng is not None else np.random.default_rng(0)
        x = np.asarray(x, dtype=np.float64)
        n = x.shape[0]
        k = self.n_numeric
        num = self._unscale(x[:, :k], self.scaler) if k else x[:, :k]
        onehot = self.unscale_onehot(x[:, k:])
        out: dict[str, pd.Series] = {}
        blocks = {b.column + ":" + b.kind: b for b in self.blocks}
        for name, c in self.clusters.items():  # a clustered column's number is read within its cluster
            b, i = blocks[name + ":cluster"], self.numeric_cols.index(name)
            codes = onehot[:, b.start - k:b.end - k].argmax(axis=1)
            for j, sc in enumerate(c["scalers"]):
                sel = codes == j
                num[sel, i] = self._unscale(x[sel, i:i + 1], sc)[:, 0]
        for name, off in self.offsets.items():  # back from offsets to dates, anchors first
            i, a = self.numeric_cols.index(name), self.numeric_cols.index(off["anchor"])
            spec_a = self.schema[off["anchor"]]
            anchor = np.round(np.clip(num[:, a], spec_a.minimum, spec_a.maximum) / _resolution(spec_a)) * \
                _resolution(spec_a)
            num[:, a] = anchor
            num[:, i] = anchor + np.clip(num[:, i], max(0.0, off["min"]), off["max"])
        for name, spikes in self.spikes.items():  # a row whose spike block names a value takes it exactly
            b = blocks[name + ":spike"]
            codes = onehot[:, b.start - k:b.end - k].argmax(axis=1)
            i = self.numeric_cols.index(name)
            num[:, i] = np.where(codes < len(spikes), np.append(spikes, np.nan)[codes], num[:, i])
        for i, name in enumerate(self.numeric_cols):
            values = self._finish_numeric(num[:, i], self.schema[name])
            mb = blocks.get(name + ":missing")
            if mb is not None and not forbid_missing:
                ind = onehot[:, mb.start - k:mb.end - k]
                values = values.where(ind[:, 1] <= ind[:, 0])
            out[name] = values
        for name in self.categorical_cols:
            b = blocks[name + ":categorical"]
            scores = onehot[:, b.start - k:b.end - k].copy()
            levels = self.levels[name]
            if forbid_missing and None in levels:
                scores[:, levels.index(None)] = -np.inf
            codes = scores.argmax(axis=1)
            values = np.empty(n, dtype=object)
            for j, level in enumerate(levels):
                sel = codes == j
                if not sel.any():
                    continue
                if level == RARE:
                    r = self.rare[name]
                    pick = rng.choice(len(r["values"]), size=int(sel.sum()), p=np.asarray(r["p"]))
                    values[sel] = np.asarray(r["values"], dtype=object)[pick]
                else:
                    values[sel] = level
            series = pd.Series(values, dtype=object)
            spec = self.schema[name]
            dtype = spec.dtype if spec.kind != "integer" or spec.dtype.startswith(("int", "Int", "float")) else "int64"
            out[name] = _restore_dtype(series.where(series.notna(), None), dtype)
        for spec in self.schema.columns:
            if spec.kind in ("constant", "empty", "id"):
                out[spec.name] = self._fixed_column(spec, n, row_offset)
        return pd.DataFrame({name: out[name] for name in self.schema.names})

    def _finish_numeric(self, v: np.ndarray, spec: ColumnSpec) -> pd.Series:
        if spec.minimum is not None:
            v = np.clip(v, spec.minimum, spec.maximum)
        if spec.number_format is not None:  # "$1,688.68" in, "$1,702.10" out
            decimals = 0 if spec.kind == "integer" else spec.decimals
            return format_number_text(np.round(v, decimals if decimals is not None else MAX_DECIMALS),
                                      spec.number_format, decimals)
        if spec.kind == "integer":
            s = pd.Series(np.round(v))
            # the input's dtype: int64 (Int64 with empty cells), or float64 for whole numbers stored as floats
            return _restore_dtype(s, spec.dtype if spec.dtype.startswith(("int", "Int", "float")) else "int64")
        if spec.kind == "datetime":
            res = _resolution(spec)
            secs = np.round(v / res) * res
            if secs.size and np.abs(secs).max() >= NS_LIMIT_SECONDS:  # before 1677 or after 2262: microseconds
                ts = pd.Series(pd.to_datetime((secs * 1e6).astype("int64"), unit="us"))
            else:
                ts = pd.Series(pd.to_datetime((secs * 1e9).astype("int64"), unit="ns"))
            if spec.datetime_format is None:
                return ts
            return _restore_dtype(ts.dt.strftime(spec.datetime_format).astype(object), spec.dtype)
        if spec.decimals is not None:
            v = np.round(v, spec.decimals)
        return pd.Series(v, dtype="float64")

    def _fixed_column(self, spec: ColumnSpec, n: int, row_offset: int) -> pd.Series:
        if spec.kind == "empty":
            return _restore_dtype(pd.Series([None] * n, dtype=object), spec.dtype)
        if spec.kind == "constant":
            return _restore_dtype(pd.Series([spec.value] * n, dtype=object), spec.dtype)
        index = np.arange(row_offset, row_offset + n)
        if spec.id_numeric:
            start = int(spec.minimum) if spec.minimum is not None else 1
            return pd.Series(start + index, dtype="int64")
        prefix = spec.id_prefix if spec.id_prefix is not None else f"{spec.name}-"
        numbers = pd.Series(index + 1).astype(str)
        if spec.id_width:
            numbers = numbers.str.zfill(spec.id_width)
        return (prefix + numbers).astype(object)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """JSON-safe state: settings, levels, rare tails and the fitted scalers' arrays."""
        self._check_fitted()
        scaler = _json_arrays(self.scaler)
        return {
            "numeric_transform": self.numeric_transform,
            "categorical_encoding": self.categorical_encoding,
            "max_categories": self.max_categories,
            "schema": self.schema.to_dict(),
            "discrete_integers": self.discrete_integers,
            "spike_share": self.spike_share,
            "spikes": self.spikes,
            "clusters": {name: {"breaks": c["breaks"], "scalers": [_json_arrays(sc) for sc in c["scalers"]]}
                         for name, c in self.clusters.items()},
            "numeric_cols": self.numeric_cols,
            "categorical_cols": self.categorical_cols,
            "missing_cols": self.missing_cols,
            "tie_transform": self.tie_transform,
            "offsets": self.offsets,
            "levels": self.levels,
            "rare": self.rare,
            "scaler": scaler,
            "onehot_mean": None if self.onehot_mean is None else self.onehot_mean.tolist(),
            "onehot_scale": None if self.onehot_scale is None else self.onehot_scale.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableEncoder:
        """Rebuild a fitted encoder from state_dict() without refitting (no pickle involved)."""
        enc = cls(Schema.from_dict(state["schema"]), state["numeric_transform"],
                  state["categorical_encoding"], state["max_categories"])
        enc.discrete_integers = int(state.get("discrete_integers", 0))
        enc.spike_share = float(state.get("spike_share", 0.0))
        enc.spikes = {k: [float(x) for x in v] for k, v in state.get("spikes", {}).items()}
        enc.clusters = {k: {"breaks": [float(b) for b in c["breaks"]],
                            "scalers": [_array_scaler(sc) for sc in c["scalers"]]}
                        for k, c in state.get("clusters", {}).items()}
        enc.use_clusters = bool(enc.clusters)
        enc.numeric_cols = list(state.get("numeric_cols", enc.numeric_cols))
        enc.categorical_cols = list(state.get("categorical_cols", enc.categorical_cols))
        enc.missing_cols = list(state["missing_cols"])
        enc.tie_transform = str(state.get("tie_transform", "midrank"))
        enc.offsets = dict(state.get("offsets", {}))
        enc.levels = {k: list(v) for k, v in state["levels"].items()}
        enc.rare = state["rare"]
        enc.scaler = _array_scaler(state["scaler"])
        if state.get("onehot_mean") is not None:
            enc.onehot_mean = np.asarray(state["onehot_mean"], dtype=np.float64)
            enc.onehot_scale = np.asarray(state["onehot_scale"], dtype=np.float64)
        enc.fitted = True
        return enc
