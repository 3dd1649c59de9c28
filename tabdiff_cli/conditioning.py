"""Inverse inference: conditional sampling, imputation and posterior queries.

Conditions (parse_conditions):
- equality `col=value` (any kind): the column's encoded coordinates are fixed and the diffusion fills
  in the rest: a model trained with masked conditioning (model.conditional) is handed the given cells
  clean at every step; any other model inpaints them (RePaint, Lugmayr et al. 2022) with reconstruction
  guidance (Ho et al. 2022, eq. 7; weight `guidance`, default sampling.guidance = 3): see
  diffusion/sampler.py;
- set `col in {a,b}` (categorical) and intervals `col>=40`, `40<=col<60` (numeric, datetime): a pilot
  sample with the equality conditions inpainted estimates the conditional distribution of the
  set/interval columns; each output row draws its values for them from the pilot rows that satisfy
  every set/interval condition (jointly), and those values are then inpainted like equalities. Where no
  pilot row qualifies, values are drawn per condition: allowed levels by training frequency, numbers
  uniformly in the allowed part of the training range. No rejection loop: every row satisfies every
  condition by construction, and a level seen once in training is as easy as any other.
Decoded rows carry the given values exactly (the decoder's rounding never moves a given cell).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabdiff_cli.encoder import NUMERIC_KINDS, RARE, TableEncoder, unseen_level_error
from tabdiff_cli.errors import UserError
from tabdiff_cli.schema import ColumnSpec, to_datetime_seconds

if TYPE_CHECKING:
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

PILOT_ROWS = 2048
# RePaint rounds per step unless asked otherwise: plain replacement (0) barely passes the given values on to the
# other columns; 2 met 25 of 27 Iris class-conditional checks against 13 of 27 (benchmarks/RESULTS_conditioning.md)
DEFAULT_RESAMPLE = 2
_OPS = ("<=", ">=", "==", "=", "<", ">")


@dataclass
class Condition:
    """One condition on one column: op is '=', 'in' (values) or 'range' (low/high with inclusivity).

    value / values hold typed training values (category levels, or numbers; datetimes as seconds).
    """

    column: str
    op: str
    value: Any = None
    values: tuple = ()
    low: float = -math.inf
    high: float = math.inf
    low_inclusive: bool = True
    high_inclusive: bool = True
    text: str = ""

    def holds(self, series: pd.Series, spec: ColumnSpec) -> np.ndarray:
        """Boolean mask (n_rows,) of decoded cells that satisfy the condition."""
        if self.op == "in":
            keys = {str(v) for v in self.values}
            return series.astype(str).isin(keys).to_numpy()
        v = _as_number(series, spec)
        if self.op == "=":
            if spec.kind in NUMERIC_KINDS:
                return np.isclose(v, float(self.value), rtol=0, atol=1e-9)
            return (series.astype(str) == str(self.value)).to_numpy()
        return np.asarray(self.in_range(v))

    def in_range(self, v: Any) -> Any:
        """Whether numbers v (a float or an array; datetimes in seconds) lie in [low, high] with this
        condition's inclusivity (same shape as v)."""
        lo = v >= self.low if self.low_inclusive else v > self.low
        hi = v <= self.high if self.high_inclusive else v < self.high
        return lo & hi


def _as_number(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    if spec.kind == "datetime":
        return to_datetime_seconds(series, spec.datetime_format)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _split_condition(text: str, columns: list[str]) -> tuple[str, str, str]:
    """(column, op, rest) for 'col OP value', trying known column names first (names may hold spaces)."""
    stripped = text.strip()
    for name in sorted(columns, key=len, reverse=True):
        if stripped.startswith(name):
            rest = stripped[len(name):].lstrip()
            for op in _OPS:
                if rest.startswith(op):
                    return name, op, rest[len(op):].strip()
            m = re.match(r"^in\s*\{(.*)\}$", rest)
            if m:
                return name, "in", m.group(1)
    m = re.match(r"^(.+?)\s+in\s*\{(.*)\}$", stripped)
    if m:
        return m.group(1).strip(), "in", m.group(2)
    for i in range(len(stripped)):
        for op in _OPS:
            if stripped.startswith(op, i):
                return stripped[:i].strip(), op, stripped[i + len(op):].strip()
    raise UserError(f"condition '{text}' is not of the form col=value, col in {{a,b}}, col>=x or a<=col<b")


def _level_for(text: str, spec: ColumnSpec, encoder: TableEncoder, allow: bool) -> Any:
    levels = [v for v in encoder.levels[spec.name] if v not in (None, RARE)]
    levels += list(encoder.rare.get(spec.name, {}).get("values", []))
    by_text = {str(v): v for v in levels if v is not None}
    if text in by_text:
        return by_text[text]
    raise unseen_level_error(spec.name, text, sorted(by_text))


def _number_for(text: str, spec: ColumnSpec, allow: bool) -> float:
    if spec.kind == "datetime":
        secs = to_datetime_seconds(pd.Series([text]), spec.datetime_format)[0]
        if not np.isfinite(secs):
            raise UserError(f"column '{spec.name}': '{text}' is not a date in the format {spec.datetime_format}")
        value = float(secs)
    else:
        try:
            value = float(text)
        except ValueError:
            raise UserError(f"column '{spec.name}' is numeric; '{text}' is not a number") from None
        if not math.isfinite(value):
            raise UserError(f"column '{spec.name}': '{text}' is not a finite number")
    if not allow and spec.minimum is not None and not spec.minimum <= value <= spec.maximum:
        raise UserError(f"column '{spec.name}': {text} is outside the training range "
                        f"[{spec.minimum:g}, {spec.maximum:g}] (use --allow-extrapolation to allow it)")
    return value


def parse_conditions(texts: list[str], encoder: TableEncoder, allow_extrapolation: bool = False) -> list[Condition]:
    """Parse CLI/API condition strings against the trained schema.

    Errors: UserError naming the column and value for an unknown column, a value never seen in training
    (lists the known values), a number outside the training range (unless allow_extrapolation), an
    interval on a categorical column, or a condition on an identifier column.
    """
    schema = encoder.schema
    out = []
    for text in texts:
        m = re.match(r"^\s*([^<>=]+?)\s*(<=|<)\s*(.+?)\s*(<=|<)\s*([^<>=]+?)\s*$", text)
        if m and m.group(3) in schema.names:
            low_t, op1, col, op2, high_t = m.groups()
            spec = schema[col]
            if spec.kind not in NUMERIC_KINDS:
                raise UserError(f"condition '{text}': an interval needs a numeric column; '{col}' is {spec.kind}")
            out.append(Condition(col, "range", low=_number_for(low_t, spec, True),
                                 high=_number_for(high_t, spec, True), low_inclusive=op1 == "<=",
                                 high_inclusive=op2 == "<=", text=text))
            continue
        col, op, rest = _split_condition(text, schema.names)
        if col not in schema.names:
            if rest in schema.names and op in ("<", "<=", ">", ">="):  # '5<=age': the column comes first
                flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
                raise UserError(f"condition '{text}': write the column first, '{rest}{flipped}{col}'")
            if col.endswith("!"):
                raise UserError(f"condition '{text}': '!=' is not supported; use col in {{a,b}} or an interval")
            raise UserError(f"condition '{text}': unknown column '{col}'; columns are: {', '.join(schema.names)}")
        spec = schema[col]
        if spec.kind in ("id", "empty"):
            raise UserError(f"condition '{text}': column '{col}' is {spec.kind == 'id' and 'an identifier' or 'empty'}"
                            " and cannot be conditioned on")
        if spec.kind == "constant":
            if op in ("=", "==") and str(spec.value) == rest:
                continue
            raise UserError(f"condition '{text}': column '{col}' is always {spec.value!r}")
        if op == "in":
            if spec.kind in NUMERIC_KINDS:
                raise UserError(f"condition '{text}': a set needs a categorical column; use an interval for '{col}'")
            items = [v.strip().strip("'\"") for v in rest.split(",") if v.strip()]
            if not items:
                raise UserError(f"condition '{text}': the set is empty")
            values = tuple(_level_for(v, spec, encoder, allow_extrapolation) for v in items)
            out.append(Condition(col, "in", values=values, text=text))
        elif op in ("=", "=="):
            value_text = rest.strip("'\"")
            if spec.kind in NUMERIC_KINDS:
                value = _number_for(value_text, spec, allow_extrapolation)
                if spec.kind == "integer" and value != round(value):
                    raise UserError(f"condition '{text}': column '{col}' holds whole numbers; {value_text} is not one")
                out.append(Condition(col, "=", value=value, text=text))
            else:
                out.append(Condition(col, "=", value=_level_for(value_text, spec, encoder, allow_extrapolation),
                                     text=text))
        else:
            if spec.kind not in NUMERIC_KINDS:
                raise UserError(f"condition '{text}': '{op}' needs a numeric column; '{col}' is {spec.kind}")
            bound = _number_for(rest, spec, True)
            c = Condition(col, "range", text=text)
            if op.startswith(">"):
                c.low, c.low_inclusive = bound, op == ">="
            else:
                c.high, c.high_inclusive = bound, op == "<="
            out.append(c)
    seen = [c.column for c in out if c.op == "="]
    dup = {c for c in seen if seen.count(c) > 1}
    if dup:
        raise UserError(f"column(s) {', '.join(sorted(dup))} given more than one value")
    out = _merge_per_column(out)
    for c in out:
        spec = schema[c.column]
        if c.op == "range" and spec.minimum is not None and not allow_extrapolation:
            lo_ok = c.low < spec.maximum or (c.low_inclusive and c.low == spec.maximum)
            hi_ok = c.high > spec.minimum or (c.high_inclusive and c.high == spec.minimum)
            if not (lo_ok and hi_ok and c.low <= c.high):
                raise UserError(f"condition '{c.text}' leaves no value in the training range "
                                f"[{spec.minimum:g}, {spec.maximum:g}] of '{c.column}'")
    return out


def _merge_per_column(conditions: list[Condition]) -> list[Condition]:
    """One condition per column: several intervals intersect, several sets intersect, and an equality must
    satisfy the column's other conditions (it then stands alone). Errors: UserError naming the column
    when its conditions leave no value."""
    by_col: dict[str, list[Condition]] = {}
    for c in conditions:
        by_col.setdefault(c.column, []).append(c)
    out = []
    for col, group in by_col.items():
        if len(group) == 1:
            out.append(group[0])
            continue
        texts = " and ".join(f"'{c.text}'" for c in group)
        none_left = UserError(f"conditions {texts} on column '{col}' leave no value")
        equal = [c for c in group if c.op == "="]
        if equal:  # the others are sets or intervals (two equalities were refused before)
            value = equal[0].value
            if not all(str(value) in {str(v) for v in c.values} if c.op == "in" else bool(c.in_range(value))
                       for c in group if c is not equal[0]):
                raise none_left
            out.append(equal[0])
            continue
        sets = [c for c in group if c.op == "in"]
        if sets:
            keep = [v for v in sets[0].values if all(str(v) in {str(w) for w in c.values} for c in sets[1:])]
            if not keep:
                raise none_left
            out.append(Condition(col, "in", values=tuple(keep), text=" and ".join(c.text for c in sets)))
            continue
        merged = Condition(col, "range", text=" and ".join(c.text for c in group))
        for c in group:
            if c.low > merged.low or (c.low == merged.low and not c.low_inclusive):
                merged.low, merged.low_inclusive = c.low, c.low_inclusive
            if c.high < merged.high or (c.high == merged.high and not c.high_inclusive):
                merged.high, merged.high_inclusive = c.high, c.high_inclusive
        if merged.low > merged.high or (merged.low == merged.high
                                         and not (merged.low_inclusive and merged.high_inclusive)):
            raise none_left
        out.append(merged)
    return out


def _cell_frame(encoder: TableEncoder, n: int, values: dict[str, Any]) -> pd.DataFrame:
    """A (n, n_columns) frame in the training layout, NaN except for the given columns."""
    frame = pd.DataFrame({name: pd.Series([None] * n, dtype=object) for name in encoder.schema.names})
    for col, v in values.items():
        spec = encoder.schema[col]
        if spec.kind == "datetime" and spec.datetime_format is not None:
            v = pd.to_datetime(np.atleast_1d(v).astype(float), unit="s").strftime(spec.datetime_format).to_numpy()
        elif spec.kind == "datetime":
            v = pd.to_datetime(np.atleast_1d(v), unit="s")
        frame[col] = pd.Series(np.broadcast_to(np.asarray(v, dtype=object), (n,)), dtype=object)
    for spec in encoder.schema.columns:
        if spec.kind in ("continuous", "integer"):
            frame[spec.name] = pd.to_numeric(frame[spec.name])
    return frame


def _fallback_draw(cond: Condition, spec: ColumnSpec, encoder: TableEncoder, n: int,
                   rng: np.random.Generator) -> np.ndarray:
    if cond.op == "in":
        return rng.choice(np.asarray(cond.values, dtype=object), size=n)
    lo = max(cond.low, spec.minimum if spec.minimum is not None else cond.low)
    hi = min(cond.high, spec.maximum if spec.maximum is not None else cond.high)
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise UserError(f"condition '{cond.text}': no finite range to draw from")
    draws = rng.uniform(lo, hi, size=n) if hi > lo else np.full(n, lo)
    if spec.kind == "integer":
        draws = np.clip(np.round(draws), math.ceil(lo), math.floor(hi))
    return draws


def plan_conditions(synth: DiffusionSynthesizer, n: int, conditions: list[Condition], seed: int,
                    sampler: str | None = None, steps: int | None = None, device: str | None = None,
                    guidance: float | None = None) -> pd.DataFrame:
    """The given cells of every output row: (n, n_columns), NaN where the diffusion decides.

    Equality conditions are broadcast; set/interval columns get values from a pilot sample (module doc).
    """
    enc = synth.encoder
    fixed = {c.column: c.value for c in conditions if c.op == "="}
    drawn = [c for c in conditions if c.op != "="]
    cells = _cell_frame(enc, n, fixed)
    if not drawn:
        return cells
    rng = np.random.default_rng([seed, 7])
    pilot_known = _cell_frame(enc, 1, fixed)
    x, mask = enc.transform_partial(pilot_known, free_columns=[c for c in enc.schema.names if c not in fixed])
    pilot = pd.concat(list(synth.iter_sample(
        PILOT_ROWS, seed=int(rng.integers(2**31 - 1)), sampler=sampler, steps=steps, device=device,
        known=(x[0], mask[0]), forbid_missing=False, resample=DEFAULT_RESAMPLE if fixed else 0, guidance=guidance)),
        ignore_index=True)
    ok = np.ones(len(pilot), dtype=bool)
    for c in drawn:
        ok &= c.holds(pilot[c.column], enc.schema[c.column])
    if ok.sum() >= 1:
        pick = rng.choice(np.flatnonzero(ok), size=n)
        for c in drawn:
            spec = enc.schema[c.column]
            vals = pilot[c.column].to_numpy()[pick]
            cells[c.column] = _as_number(pd.Series(vals), spec) if spec.kind in NUMERIC_KINDS else vals
    else:
        for c in drawn:
            cells[c.column] = _fallback_draw(c, enc.schema[c.column], enc, n, rng)
    for c in drawn:
        spec = enc.schema[c.column]
        if spec.kind == "datetime":
            cells[c.column] = _cell_frame(enc, n, {c.column: cells[c.column].to_numpy(dtype=float)})[c.column]
    return cells


def overwrite_given(decoded: pd.DataFrame, given: pd.DataFrame) -> pd.DataFrame:
    """Put the given (non-missing) cells back into decoded rows, keeping each column's dtype."""
    out = decoded.copy()
    for col in given.columns:
        g = given[col].reset_index(drop=True)
        has = g.notna().to_numpy()
        if not has.any():
            continue
        merged = out[col].astype(object).to_numpy().copy()
        merged[has] = g.to_numpy(dtype=object)[has]
        series = pd.Series(merged, name=col)
        try:
            out[col] = series.astype(decoded[col].dtype)
        except (TypeError, ValueError):
            out[col] = series
    return out


def iter_given(synth: DiffusionSynthesizer, cells: pd.DataFrame, free_columns: list[str], seed: int,
               forbid_missing: bool = False, **kwargs: Any) -> Iterator[pd.DataFrame]:
    """Inpaint every row of `cells` (given cells fixed, others generated); yields decoded batches."""
    enc = synth.encoder
    x, mask = enc.transform_partial(cells, free_columns=free_columns)
    start = kwargs.pop("start_row", 0)
    if kwargs.get("resample") is None:
        kwargs["resample"] = DEFAULT_RESAMPLE
    done = 0

    def decode(z: np.ndarray, rng: np.random.Generator, row0: int) -> pd.DataFrame:
        rows = enc.inverse_transform(z, rng=rng, row_offset=row0, forbid_missing=forbid_missing)
        part = cells.iloc[row0 - start:row0 - start + len(rows)]
        return overwrite_given(rows, part)

    for part in synth.iter_sample(len(cells), seed=seed, known=(x, mask), start_row=start, decode=decode,
                                  forbid_missing=forbid_missing, **kwargs):
        done += len(part)
        yield part


def iter_conditioned(synth: DiffusionSynthesizer, n: int, conditions: list[Condition], seed: int,
                     start_row: int = 0, count: int | None = None, **kwargs: Any) -> Iterator[pd.DataFrame]:
    """Yield rows [start_row, start_row + count) of an n-row sample (in batches) in which every row
    satisfies every condition; see the module docstring for the method."""
    count = n - start_row if count is None else count
    cells = plan_conditions(synth, n, conditions, seed, sampler=kwargs.get("sampler"), steps=kwargs.get("steps"),
                            device=kwargs.get("device"), guidance=kwargs.get("guidance"))
    cells = cells.iloc[start_row:start_row + count].reset_index(drop=True)
    kwargs["start_row"] = start_row
    given = {c.column for c in conditions}
    free = [c for c in synth.encoder.schema.names if c not in given]
    return iter_given(synth, cells, free, seed, **kwargs)


def impute(synth: DiffusionSynthesizer, df: pd.DataFrame, draws: int = 1, seed: int = 0,
           progress: Callable[[int, int], None] | None = None, **kwargs: Any) -> pd.DataFrame:
    """Fill every empty cell of df (same columns as the training table), conditioned on the row's
    observed cells; observed cells are never changed. draws > 1 gives a long table with a `draw` column
    (multiple imputation). progress(done, draws) is called after each draw. An observed number outside
    the training range is kept as given; the network reads it clipped to one range width beyond the range
    (encoder.transform_partial). Errors: UserError for missing/extra columns, text or an infinity in a
    numeric column, or unseen categorical values."""
    schema = synth.encoder.schema
    missing = [c for c in schema.names if c not in df.columns]
    extra = [c for c in df.columns if c not in schema.names and c != "draw"]
    if missing or extra:
        raise UserError("the table to impute must have the training columns: "
                        + (f"missing {', '.join(map(repr, missing))}" if missing else "")
                        + ("; " if missing and extra else "")
                        + (f"unknown {', '.join(map(repr, extra))}" if extra else ""))
    if draws < 1:
        raise UserError(f"--draws must be at least 1, got {draws}")
    cells = df[schema.names].reset_index(drop=True)
    learned = [c.name for c in schema.columns if c.kind not in ("id", "constant", "empty")]
    cells = cells.copy()
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
    fixed_cols = [c for c in schema.names if c not in learned]
    outs = []
    for k in range(draws):
        seed_k = int(np.random.SeedSequence([seed, k]).generate_state(1)[0] >> 1)
        parts = list(iter_given(synth, cells, free_columns=[], seed=seed_k, forbid_missing=True, **kwargs))
        filled = pd.concat(parts, ignore_index=True)
        for col in fixed_cols:  # identifiers, constants and empty columns are the user's, untouched
            filled[col] = df[col].to_numpy()
        if draws > 1:
            filled.insert(0, "draw", k)
        outs.append(filled)
        if progress is not None:
            progress(k + 1, draws)
    return pd.concat(outs, ignore_index=True)


def infer(synth: DiffusionSynthesizer, conditions: list[Condition], query: list[str], num_samples: int = 2000,
          seed: int = 0, **kwargs: Any) -> dict[str, Any]:
    """Posterior of the `query` columns given the conditions, from num_samples conditional rows.

    Returns {column: {"kind", "mean", "std", "quantiles": {q: v}} for numbers, or {"kind",
    "probabilities": {level: p}} for categories}, plus "samples": the conditional rows (DataFrame).
    Errors: UserError for an unknown query column or one that is also conditioned on.
    """
    schema = synth.encoder.schema
    for q in query:
        if q not in schema.names:
            raise UserError(f"--query: unknown column '{q}'; columns are: {', '.join(schema.names)}")
    rows = pd.concat(list(iter_conditioned(synth, num_samples, conditions, seed, **kwargs)), ignore_index=True)
    result: dict[str, Any] = {}
    for q in query:
        spec = schema[q]
        if spec.kind in NUMERIC_KINDS:
            v = _as_number(rows[q], spec)
            v = v[np.isfinite(v)]
            qs = (0.05, 0.25, 0.5, 0.75, 0.95)
            result[q] = {"kind": spec.kind, "mean": float(v.mean()) if v.size else None,
                         "std": float(v.std(ddof=1)) if v.size > 1 else None,
                         "quantiles": {str(p): float(np.quantile(v, p)) for p in qs} if v.size else {},
                         "missing_share": float(rows[q].isna().mean())}
        else:
            probs = rows[q].astype(object).where(rows[q].notna(), "(empty)").value_counts(normalize=True)
            result[q] = {"kind": spec.kind, "probabilities": {str(k): float(p) for k, p in probs.items()}}
    result["samples"] = rows
    return result
