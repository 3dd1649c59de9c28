"""How many training rows a set of conditions has behind it: a support sketch kept in the checkpoint.

The checkpoint holds no training row, so a condition's support is bounded from counts taken at fit time:
each sketched column is cut into labels (a categorical column's levels; a numeric or datetime column's
quantile bins, with the smallest and largest value in each), and the sketch keeps the count of every label
and of every pair of labels of two columns. The number of training rows that satisfy conditions on columns
A, B, … is at most the count of the allowed labels of any one column, and at most the pair count of any two:
zero means that no training row holds the combination ("North" with "premium" never occurs), so the answer
is an extrapolation. Pure numpy and pandas.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from tabdiff_cli.table.schema import Schema, numeric_values

SKETCH_LEVELS = 50  # categorical columns with more levels are not sketched (their conditions bound nothing)
SKETCH_BINS = 16  # quantile bins of a numeric column
MAX_SKETCH_COLUMNS = 40
MAX_PAIR_ENTRIES = 200_000  # non-zero pair counts kept in all, so the checkpoint stays small
SUPPORT_WARN_ROWS = 5  # fewer training rows than this behind a condition: the user is warned


def support_sketch(df: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """The support sketch of the training table df (n_rows, the schema's columns), JSON-safe:
    {"n_rows", "columns": [{"name", "labels": [level text] | "bins": [[low, high]], "counts"}],
    "pairs": {"i,j": [[label_i, label_j, count], …]}} (only non-zero pair counts)."""
    columns, codes = [], []
    for spec in schema.columns:
        if len(columns) == MAX_SKETCH_COLUMNS:
            break
        s = df[spec.name]
        if spec.kind == "categorical" and 0 < spec.n_distinct <= SKETCH_LEVELS:
            text = s.astype(object).where(s.notna(), None)
            labels = sorted({str(v) for v in text.dropna()})
            code = text.map(lambda v, index={lv: i for i, lv in enumerate(labels)}: -1 if v is None
                            else index[str(v)]).to_numpy(dtype=np.int64)
            columns.append({"name": spec.name, "labels": labels})
        elif spec.kind in ("continuous", "integer", "datetime"):
            v = numeric_values(s, spec)
            ok = np.isfinite(v)
            if not ok.any():
                continue
            edges = np.unique(np.quantile(v[ok], np.linspace(0, 1, SKETCH_BINS + 1)))
            raw = np.clip(np.searchsorted(edges, v[ok], side="right") - 1, 0, max(len(edges) - 2, 0))
            used, dense = np.unique(raw, return_inverse=True)  # bins that hold a value, numbered 0, 1, …
            code = np.full(len(v), -1, dtype=np.int64)
            code[ok] = dense
            bins = [[float(v[ok][dense == b].min()), float(v[ok][dense == b].max())] for b in range(len(used))]
            columns.append({"name": spec.name, "bins": bins})
        else:
            continue
        size = len(columns[-1].get("labels") or columns[-1]["bins"])
        columns[-1]["counts"] = np.bincount(code[code >= 0], minlength=size).astype(int).tolist()
        codes.append(code)
    pairs, kept = {}, 0
    for i, j in combinations(range(len(columns)), 2):
        both = (codes[i] >= 0) & (codes[j] >= 0)
        width = len(columns[j]["counts"])
        # bincount over at most SKETCH_LEVELS² cells: linear in the rows (np.unique sorts them, for 780 pairs)
        dense = np.bincount(codes[i][both] * width + codes[j][both], minlength=len(columns[i]["counts"]) * width)
        keys = np.flatnonzero(dense)
        counts = dense[keys]
        if kept + len(keys) > MAX_PAIR_ENTRIES:
            break
        pairs[f"{i},{j}"] = [[int(k // width), int(k % width), int(c)] for k, c in zip(keys, counts, strict=True)]
        kept += len(keys)
    return {"n_rows": int(len(df)), "columns": columns, "pairs": pairs}


def _allowed(column: dict[str, Any], cond: Any) -> np.ndarray:
    """Boolean mask over a sketched column's labels (or bins) that can hold a row satisfying `cond`
    (table.conditions.Condition)."""
    if "labels" in column:
        wanted = {str(v) for v in cond.values} if cond.op == "in" else {str(cond.value)}
        return np.array([lv in wanted for lv in column["labels"]], dtype=bool)
    bins = np.asarray(column["bins"], dtype=np.float64).reshape(-1, 2)
    if cond.op == "=":
        v = float(cond.value)
        return (bins[:, 0] <= v + 1e-9) & (v - 1e-9 <= bins[:, 1])
    return (bins[:, 0] <= cond.high) & (bins[:, 1] >= cond.low)  # the bin's values meet the interval


def condition_support(sketch: dict[str, Any] | None, conditions: list) -> tuple[int, list[str]] | None:
    """(an upper bound on the training rows that satisfy every condition, the columns whose counts give it),
    or None when no condition is on a sketched column (no sketch: a checkpoint from before it)."""
    if not sketch:
        return None
    index = {c["name"]: i for i, c in enumerate(sketch["columns"])}
    masks = {index[c.column]: _allowed(sketch["columns"][index[c.column]], c) for c in conditions
             if c.column in index}
    if not masks:
        return None
    best, why = sketch["n_rows"], []
    for i, mask in masks.items():
        count = int(np.asarray(sketch["columns"][i]["counts"])[mask].sum())
        if count < best:
            best, why = count, [sketch["columns"][i]["name"]]
    for i, j in combinations(sorted(masks), 2):
        entries = sketch["pairs"].get(f"{i},{j}")
        if entries is None:
            continue
        count = sum(c for a, b, c in entries if masks[i][a] and masks[j][b])
        if count < best:
            best, why = count, [sketch["columns"][i]["name"], sketch["columns"][j]["name"]]
    return best, why


def support_warning(sketch: dict[str, Any] | None, conditions: list) -> str | None:
    """A one-line warning when fewer than SUPPORT_WARN_ROWS training rows can satisfy `conditions` (the
    answer is then an extrapolation of the model), else None."""
    found = condition_support(sketch, conditions)
    if found is None or found[0] >= SUPPORT_WARN_ROWS:
        return None
    count, columns = found
    given = " and ".join(c.text or c.column for c in conditions if c.column in columns)
    if count == 0:
        return (f"no training row holds {given}: the rows are an extrapolation of the model, not "
                f"something the table has shown (support 0 of {sketch['n_rows']} rows)")
    return (f"at most {count} of {sketch['n_rows']} training rows hold {given}: the rows rest on very "
            "little data")
