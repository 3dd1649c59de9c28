"""Inverse inference over a fitted model: conditional sampling, imputation and posterior queries.

Conditions (table/conditions.py parses them):
- equality `col=value` (any kind): the column's encoded coordinates are fixed and the diffusion fills in the
  rest. A model trained with masked conditioning (model.conditional) is handed the given cells clean at every
  step; any other model inpaints them (RePaint, Lugmayr et al. 2022) with reconstruction guidance (Ho et al.
  2022, eq. 7; weight `guidance`, default sampling.guidance): diffusion/sampling.py;
- set `col in {a,b}` (categorical) and intervals `col>=40`, `40<=col<60` (numeric, datetime): a pilot sample
  with the equality conditions given estimates the conditional distribution of the set/interval columns;
  each output row draws its values for them from the pilot rows that satisfy every set/interval condition
  (jointly), and those values are then given like equalities. Where no pilot row qualifies, values are
  drawn per condition: allowed levels by training frequency, numbers uniformly in the allowed part of the
  training range. No rejection loop: every row satisfies every condition by construction, and a level seen
  once in training is as easy as any other.
Decoded rows carry the given values exactly (the decoder's rounding never moves a given cell).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from tabdiff_cli.engine.model import FittedModel
from tabdiff_cli.errors import UserError
from tabdiff_cli.evaluation.calibration import (
    LEVELS,
    binomial_spread,
    categorical_calibration,
    central_intervals,
    interval_coverage,
    level_probabilities,
)
from tabdiff_cli.table.conditions import Condition, as_number, cell_frame, fallback_draw, overwrite_given
from tabdiff_cli.table.encoder import NUMERIC_KINDS
from tabdiff_cli.table.schema import Schema, numeric_values

PILOT_ROWS = 2048
IMPUTE_PASS_ROWS = 16384  # rows of one imputation pass at most (draws of a small table share a pass)
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def plan_conditions(model: FittedModel, n: int, conditions: list[Condition], seed: int,
                    sampler: str | None = None, steps: int | None = None, device: str | None = None,
                    guidance: float | None = None) -> pd.DataFrame:
    """The given cells of every output row: (n, n_columns), NaN where the diffusion decides.

    Equality conditions are broadcast; set/interval columns get values from a pilot sample (module docstring).
    """
    enc = model.encoder
    fixed = {c.column: c.value for c in conditions if c.op == "="}
    drawn = [c for c in conditions if c.op != "="]
    cells = cell_frame(enc, n, fixed)
    if not drawn:
        return cells
    rng = np.random.default_rng([seed, 7])
    x, mask = enc.transform_partial(cell_frame(enc, 1, fixed), free_columns=[c for c in enc.schema.names
                                                                             if c not in fixed])
    pilot = pd.concat(list(model.iter_rows(
        PILOT_ROWS, seed=int(rng.integers(2**31 - 1)), sampler=sampler, steps=steps, device=device,
        known=(x[0], mask[0]), resample=model.config.sampling.resample if fixed else 0, guidance=guidance)),
        ignore_index=True)
    ok = np.ones(len(pilot), dtype=bool)
    for c in drawn:
        ok &= c.holds(pilot[c.column], enc.schema[c.column])
    if ok.sum() >= 1:
        pick = rng.choice(np.flatnonzero(ok), size=n)
        for c in drawn:
            spec = enc.schema[c.column]
            vals = pilot[c.column].to_numpy()[pick]
            cells[c.column] = as_number(pd.Series(vals), spec) if spec.kind in NUMERIC_KINDS else vals
    else:
        for c in drawn:
            cells[c.column] = fallback_draw(c, enc.schema[c.column], enc, n, rng)
    for c in drawn:
        spec = enc.schema[c.column]
        if spec.kind == "datetime":
            cells[c.column] = cell_frame(enc, n, {c.column: cells[c.column].to_numpy(dtype=float)})[c.column]
    return cells


def iter_given(model: FittedModel, cells: pd.DataFrame, free_columns: list[str], seed: int,
               forbid_missing: bool = False, resample: int | None = None, start_row: int = 0,
               **kwargs: Any) -> Iterator[pd.DataFrame]:
    """Generate every row of `cells` (n, n_columns) with its given (non-missing) cells fixed and the others
    generated; yields decoded batches whose given cells are exactly the given values. free_columns: columns
    whose every coordinate is generated (missing indicators included). resample None: sampling.resample.
    Other keyword arguments as FittedModel.iter_rows."""
    enc = model.encoder
    x, mask = enc.transform_partial(cells, free_columns=free_columns)

    def decode(z: np.ndarray, rng: np.random.Generator, row0: int) -> pd.DataFrame:
        rows = enc.inverse_transform(z, rng=rng, row_offset=row0, forbid_missing=forbid_missing)
        return overwrite_given(rows, cells.iloc[row0 - start_row:row0 - start_row + len(rows)], enc.schema)

    yield from model.iter_rows(len(cells), seed=seed, known=(x, mask), start_row=start_row, decode=decode,
                               forbid_missing=forbid_missing,
                               resample=model.config.sampling.resample if resample is None else resample, **kwargs)


def iter_conditioned(model: FittedModel, n: int, conditions: list[Condition], seed: int,
                     start_row: int = 0, count: int | None = None, **kwargs: Any) -> Iterator[pd.DataFrame]:
    """Yield rows [start_row, start_row + count) of an n-row sample (in batches) in which every row satisfies
    every condition; see the module docstring for the method."""
    count = n - start_row if count is None else count
    cells = plan_conditions(model, n, conditions, seed, sampler=kwargs.get("sampler"), steps=kwargs.get("steps"),
                            device=kwargs.get("device"), guidance=kwargs.get("guidance"))
    cells = cells.iloc[start_row:start_row + count].reset_index(drop=True)
    given = {c.column for c in conditions}
    free = [c for c in model.schema.names if c not in given]
    return iter_given(model, cells, free, seed, start_row=start_row, **kwargs)


def _check_impute_input(schema: Schema, df: pd.DataFrame, draws: int) -> pd.DataFrame:
    """df's training columns, in order, with numeric cells as numbers. Errors: UserError for missing or
    extra columns, no rows, fewer than 1 draw, text or an infinity in a numeric column."""
    missing = [c for c in schema.names if c not in df.columns]
    extra = [c for c in df.columns if c not in schema.names and c != "draw"]
    if missing or extra:
        raise UserError("the table to impute must have the training columns: "
                        + (f"missing {', '.join(map(repr, missing))}" if missing else "")
                        + ("; " if missing and extra else "")
                        + (f"unknown {', '.join(map(repr, extra))}" if extra else ""))
    if draws < 1:
        raise UserError(f"--draws must be at least 1, got {draws}")
    if len(df) == 0:
        raise UserError("the table to impute has no rows")
    cells = df[schema.names].reset_index(drop=True).copy()
    for spec in schema.columns:
        if spec.kind in ("continuous", "integer"):
            raw = cells[spec.name]
            number = pd.Series(numeric_values(raw, spec), index=raw.index)  # "$1,688.68" for such a column
            text = number.isna() & raw.notna()
            if text.any():  # an observed cell is never changed, so it cannot be read as empty either
                row = int(np.flatnonzero(text.to_numpy())[0])
                raise UserError(f"column '{spec.name}': {raw.iloc[row]!r} (row {row + 1}) is not a number")
            infinite = np.isinf(number.to_numpy(dtype=np.float64, na_value=np.nan))
            if infinite.any():  # as conditions refuse it: no row of any table holds an infinite measurement
                row = int(np.flatnonzero(infinite)[0])
                raise UserError(f"column '{spec.name}': '{raw.iloc[row]}' (row {row + 1}) is not a finite number")
            cells[spec.name] = number
    return cells


def impute(model: FittedModel, df: pd.DataFrame, draws: int = 1, seed: int = 0,
           progress: Callable[[int, int], None] | None = None, **kwargs: Any) -> pd.DataFrame:
    """Fill every empty cell of df (n_rows, the training columns), conditioned on the row's observed cells;
    observed cells are never changed. draws > 1 gives a long table (draws·n_rows rows) with a `draw` column
    (multiple imputation). Draws of a small table share a sampling pass (at most IMPUTE_PASS_ROWS rows), each
    with noise of its own; progress(done, draws) is called after each pass. An observed number outside the
    training range is kept as given; the network reads it clipped to one range width beyond the range
    (TableEncoder.transform_partial). Other keyword arguments as FittedModel.iter_rows.
    Errors: UserError for missing or extra columns, text or an infinity in a numeric column, or unseen
    categorical values."""
    schema = model.schema
    cells = _check_impute_input(schema, df, draws)
    learned = [c.name for c in schema.columns if c.kind not in ("id", "constant", "empty")]
    fixed_cols = [c for c in schema.names if c not in learned]
    # Draws of a small table go through the network together (draws_per_pass copies of the rows in one
    # sampling pass): 50 draws of 30 rows are one pass of 1,500 rows, not 50 passes of 30.
    per_pass = max(1, min(draws, IMPUTE_PASS_ROWS // max(1, len(cells))))
    outs, done = [], 0
    while done < draws:
        k = min(per_pass, draws - done)
        seed_k = int(np.random.SeedSequence([seed, done]).generate_state(1)[0] >> 1)
        tiled = pd.concat([cells] * k, ignore_index=True) if k > 1 else cells
        filled = pd.concat(list(iter_given(model, tiled, free_columns=[], seed=seed_k, forbid_missing=True,
                                           **kwargs)), ignore_index=True)
        for col in fixed_cols:  # identifiers, constants and empty columns are the user's, untouched
            filled[col] = np.tile(df[col].to_numpy(), k)
        if draws > 1:
            filled.insert(0, "draw", np.repeat(np.arange(done, done + k), len(cells)))
        outs.append(filled)
        done += k
        if progress is not None:
            progress(done, draws)
    return pd.concat(outs, ignore_index=True)


def impute_summary(schema: Schema, df: pd.DataFrame, filled: pd.DataFrame, draws: int) -> dict[str, Any]:
    """What impute() filled in df (n_rows, columns): {"empty_cells", "rows_with_holes", "n_rows", "columns":
    [{"column", "empty": count, "spread"}]} for each column that had empty cells, where spread is {"std": mean
    over those cells of the std across draws} for numbers, {"agree": the share of draws equal to draw 0} for
    other kinds, or None with one draw. filled: impute()'s output for df."""
    holes = df[schema.names].isna()
    columns = []
    for col in schema.names:
        k = int(holes[col].sum())
        if not k:
            continue
        spread = None
        if draws > 1:
            cells = filled[col].to_numpy().reshape(draws, len(df))[:, holes[col].to_numpy()]
            try:
                spread = {"std": float(cells.astype(float).std(axis=0).mean())}
            except (TypeError, ValueError):
                spread = {"agree": float((cells == cells[0]).mean())}
        columns.append({"column": col, "empty": k, "spread": spread})
    return {"empty_cells": int(holes.to_numpy().sum()), "rows_with_holes": int(holes.any(axis=1).sum()),
            "n_rows": len(df), "columns": columns}


def beyond_range(schema: Schema, df: pd.DataFrame) -> list[dict[str, Any]]:
    """Numeric columns of df whose observed cells lie outside the training range: [{"column", "count",
    "example", "minimum", "maximum"}]. impute keeps such cells; the model has seen nothing like them."""
    out = []
    for spec in schema.columns:
        if spec.kind not in ("continuous", "integer") or spec.minimum is None or spec.name not in df:
            continue
        v = pd.to_numeric(df[spec.name], errors="coerce")
        beyond = v[(v < spec.minimum) | (v > spec.maximum)]
        if len(beyond):
            out.append({"column": spec.name, "count": int(len(beyond)), "example": float(beyond.iloc[0]),
                        "minimum": spec.minimum, "maximum": spec.maximum})
    return out


def infer(model: FittedModel, conditions: list[Condition], query: list[str], num_samples: int = 2000,
          seed: int = 0, **kwargs: Any) -> dict[str, Any]:
    """Posterior of the `query` columns given the conditions, from num_samples conditional rows.

    Returns {column: {"kind", "mean", "std", "quantiles": {q: v}, "intervals": {"0.5": (low, high), "0.9":
    (low, high)} (the central credible intervals), "missing_share"} for numbers, or {"kind", "probabilities":
    {level: p}} for categories}, plus "samples": the conditional rows (DataFrame).
    Errors: UserError for an unknown query column.
    """
    schema = model.schema
    for q in query:
        if q not in schema.names:
            raise UserError(f"--query: unknown column '{q}'; columns are: {', '.join(schema.names)}")
    rows = pd.concat(list(iter_conditioned(model, num_samples, conditions, seed, **kwargs)), ignore_index=True)
    result: dict[str, Any] = {}
    for q in query:
        spec = schema[q]
        if spec.kind in NUMERIC_KINDS:
            v = as_number(rows[q], spec)
            v = v[np.isfinite(v)]
            result[q] = {"kind": spec.kind, "mean": float(v.mean()) if v.size else None,
                         "std": float(v.std(ddof=1)) if v.size > 1 else None,
                         "quantiles": {str(p): float(np.quantile(v, p)) for p in QUANTILES} if v.size else {},
                         "intervals": central_intervals(v), "missing_share": float(rows[q].isna().mean())}
        else:
            probs = rows[q].astype(object).where(rows[q].notna(), "(empty)").value_counts(normalize=True)
            result[q] = {"kind": spec.kind, "probabilities": {str(k): float(p) for k, p in probs.items()}}
    result["samples"] = rows
    return result


CALIBRATION_ROWS = 500  # held-out rows a calibration check uses at most (seeded subsample)


def hide_cells(schema: Schema, df: pd.DataFrame, columns: list[str] | None = None, cell_share: float | None = None,
               seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """(df with cells emptied, the (n_rows, n_columns) bool mask of the emptied cells): every observed cell of
    `columns`, or a seeded random `cell_share` of the observed cells of the learned columns (numbers,
    categories, booleans, datetimes). Errors: UserError for an unknown or unlearned column, or neither given."""
    learned = [c.name for c in schema.columns if c.kind not in ("id", "constant", "empty")]
    if columns:
        bad = [c for c in columns if c not in learned]
        if bad:
            raise UserError(f"--column {bad[0]!r} is not a learned column; learned: {', '.join(learned)}")
        chosen = np.isin(np.asarray(schema.names), columns)[None, :].repeat(len(df), axis=0)
    elif cell_share is not None and 0 < cell_share < 1:
        chosen = np.random.default_rng([seed, 11]).random((len(df), len(schema.names))) < cell_share
        chosen &= np.isin(np.asarray(schema.names), learned)[None, :]
    else:
        raise UserError("say what to hide: --column COL (repeatable) or --cells SHARE with 0 < SHARE < 1")
    cells = df[schema.names].reset_index(drop=True)
    hidden = chosen & cells.notna().to_numpy()
    return cells.mask(hidden), hidden


def calibration_check(model: FittedModel, holdout: pd.DataFrame, columns: list[str] | None = None,
                      cell_share: float | None = None, draws: int = 100, seed: int = 0,
                      max_rows: int = CALIBRATION_ROWS, **kwargs: Any) -> dict[str, Any]:
    """How honest the model's uncertainty is on rows it did not see: hide cells of `holdout` (n_rows, the
    training columns; `columns` entirely, or a `cell_share` of them), draw each hidden cell `draws` times
    from the model given the row's other cells (impute), and score the draws against the truth
    (evaluation.calibration): per numeric column the coverage of the central credible intervals at every
    level of CURVE_LEVELS; per categorical column accuracy, expected calibration error, log loss, the
    reliability bins and the credible sets' coverage. At most max_rows rows are used (seeded subsample).
    Returns {"rows", "draws", "hidden_cells", "columns": {column: {...}}, "overall": {...}}; other keyword
    arguments as impute. Errors: UserError as impute and hide_cells, or when nothing is left to hide."""
    schema = model.schema
    if draws < 2:
        raise UserError(f"--draws must be at least 2 for intervals, got {draws}")
    rows = holdout if len(holdout) <= max_rows else holdout.sample(max_rows, random_state=seed)
    rows = _check_impute_input(schema, rows.reset_index(drop=True), 1)
    holed, hidden = hide_cells(schema, rows, columns, cell_share, seed)
    if not hidden.any():
        raise UserError("no observed cell to hide in the held-out rows")
    filled = impute(model, holed, draws=draws, seed=seed, **kwargs)
    out = {"rows": len(rows), "draws": draws, "hidden_cells": int(hidden.sum()), "columns": {}}
    for j, col in enumerate(schema.names):
        mask = hidden[:, j]
        if not mask.any():
            continue
        spec = schema[col]
        values = filled[col].to_numpy().reshape(draws, len(rows))[:, mask].T  # (cells, draws)
        if spec.kind in NUMERIC_KINDS:
            got = as_number(pd.Series(values.ravel()), spec).reshape(values.shape)
            truth = as_number(rows[col][mask], spec)
            entry = {"kind": "numeric", "cells": int(mask.sum()), "coverage": interval_coverage(got, truth)}
        else:
            levels = sorted({str(v) for v in values.ravel()} | {str(v) for v in rows[col][mask]})
            probs = level_probabilities(values.astype(str), levels)
            truth = np.array([levels.index(str(v)) for v in rows[col][mask]])
            entry = {"kind": "categorical", "cells": int(mask.sum()), **categorical_calibration(probs, truth)}
        out["columns"][col] = entry
    out["overall"] = _overall_calibration(out["columns"])
    return out


def _overall_calibration(columns: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Cell-weighted means over the columns of a calibration check: coverage at 50 % and 90 % (numbers and
    categories' credible sets together), with the binomial spread a calibrated model shows, and the ECE."""
    cells = sum(c["cells"] for c in columns.values())
    overall: dict[str, Any] = {"cells": cells}
    for level in LEVELS:
        key = str(level)
        overall[f"coverage_{int(level * 100)}"] = sum(c["cells"] * c["coverage"][key] for c in columns.values()) / cells
        overall[f"spread_{int(level * 100)}"] = binomial_spread(level, cells)
    cat = [c for c in columns.values() if c["kind"] == "categorical"]
    if cat:
        overall["ece"] = sum(c["cells"] * c["ece"] for c in cat) / sum(c["cells"] for c in cat)
    return overall
