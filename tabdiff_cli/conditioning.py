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
from tabdiff_cli.table.conditions import Condition, as_number, cell_frame, fallback_draw, overwrite_given
from tabdiff_cli.table.encoder import NUMERIC_KINDS
from tabdiff_cli.table.schema import Schema

PILOT_ROWS = 2048
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
        return overwrite_given(rows, cells.iloc[row0 - start_row:row0 - start_row + len(rows)])

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
    extra columns, fewer than 1 draw, text or an infinity in a numeric column."""
    missing = [c for c in schema.names if c not in df.columns]
    extra = [c for c in df.columns if c not in schema.names and c != "draw"]
    if missing or extra:
        raise UserError("the table to impute must have the training columns: "
                        + (f"missing {', '.join(map(repr, missing))}" if missing else "")
                        + ("; " if missing and extra else "")
                        + (f"unknown {', '.join(map(repr, extra))}" if extra else ""))
    if draws < 1:
        raise UserError(f"--draws must be at least 1, got {draws}")
    cells = df[schema.names].reset_index(drop=True).copy()
    for spec in schema.columns:
        if spec.kind in ("continuous", "integer"):
            raw = cells[spec.name]
            number = pd.to_numeric(raw, errors="coerce")
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
    (multiple imputation). progress(done, draws) is called after each draw. An observed number outside the
    training range is kept as given; the network reads it clipped to one range width beyond the range
    (TableEncoder.transform_partial). Other keyword arguments as FittedModel.iter_rows.
    Errors: UserError for missing or extra columns, text or an infinity in a numeric column, or unseen
    categorical values."""
    schema = model.schema
    cells = _check_impute_input(schema, df, draws)
    learned = [c.name for c in schema.columns if c.kind not in ("id", "constant", "empty")]
    fixed_cols = [c for c in schema.names if c not in learned]
    outs = []
    for k in range(draws):
        seed_k = int(np.random.SeedSequence([seed, k]).generate_state(1)[0] >> 1)
        filled = pd.concat(list(iter_given(model, cells, free_columns=[], seed=seed_k, forbid_missing=True, **kwargs)),
                           ignore_index=True)
        for col in fixed_cols:  # identifiers, constants and empty columns are the user's, untouched
            filled[col] = df[col].to_numpy()
        if draws > 1:
            filled.insert(0, "draw", k)
        outs.append(filled)
        if progress is not None:
            progress(k + 1, draws)
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

    Returns {column: {"kind", "mean", "std", "quantiles": {q: v}, "missing_share"} for numbers, or {"kind",
    "probabilities": {level: p}} for categories}, plus "samples": the conditional rows (DataFrame).
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
                         "missing_share": float(rows[q].isna().mean())}
        else:
            probs = rows[q].astype(object).where(rows[q].notna(), "(empty)").value_counts(normalize=True)
            result[q] = {"kind": spec.kind, "probabilities": {str(k): float(p) for k, p in probs.items()}}
    result["samples"] = rows
    return result
