"""Conditions on a table's columns: parsing `col=value`, `col in {a,b}`, `40<=col<60` against a fitted
encoder's schema, and the cell frames that carry given values. Pure pandas and numpy (conditioning.py samples).

A condition names a column and what it must hold: an equality (any kind), a set of levels (categorical),
or an interval (numeric, datetime). Several on one column are merged into one (`_merge_per_column`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tabdiff_cli.errors import UserError
from tabdiff_cli.table.encoder import NUMERIC_KINDS, RARE, TableEncoder, unseen_level_error
from tabdiff_cli.table.schema import ColumnSpec, Schema, format_number_text, parse_number_text, to_datetime_seconds

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
        v = as_number(series, spec)
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


def as_number(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    if spec.kind == "datetime":
        return to_datetime_seconds(series, spec.datetime_format)
    if spec.number_format is not None:
        return parse_number_text(series, spec.number_format)
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
            if spec.number_format is None:
                value = float(text)
            else:  # "$1,200" or 1200 for a column of amounts; NaN: neither
                value = float(parse_number_text(pd.Series([text]), spec.number_format)[0])
                if math.isnan(value) and text.strip().lower() != "nan":
                    raise ValueError(text)
        except ValueError:
            raise UserError(f"column '{spec.name}' is numeric; '{text}' is not a number") from None
        if not math.isfinite(value):
            raise UserError(f"column '{spec.name}': '{text}' is not a finite number")
    if not allow and spec.minimum is not None and not spec.minimum <= value <= spec.maximum:
        raise UserError(f"column '{spec.name}': {text} is outside the training range "
                        f"[{spec.minimum:g}, {spec.maximum:g}] (use --allow-extrapolation to allow it)")
    return value


def parse_conditions(texts: list[str], encoder: TableEncoder, allow_extrapolation: bool = False) -> list[Condition]:
    """Parse CLI/API condition strings against the trained schema: one merged Condition per column.

    Errors: UserError naming the column and value for an unknown column, a value never seen in training
    (lists the known values), a number outside the training range (unless allow_extrapolation), an
    interval on a categorical column, or a condition on an identifier column.
    """
    out = []
    for text in texts:
        parsed = _parse_interval(text, encoder.schema)
        if parsed is None:
            parsed = _parse_one(text, encoder, allow_extrapolation)
        if parsed is not None:  # None: an equality a constant column always holds
            out.append(parsed)
    seen = [c.column for c in out if c.op == "="]
    dup = {c for c in seen if seen.count(c) > 1}
    if dup:
        raise UserError(f"column(s) {', '.join(sorted(dup))} given more than one value")
    out = _merge_per_column(out)
    if not allow_extrapolation:
        for c in out:
            _check_training_range(c, encoder.schema[c.column])
    return out


def _parse_interval(text: str, schema) -> Condition | None:
    """'a<=col<b' (either bound strict or not) as a range Condition; None when text is not of that form."""
    m = re.match(r"^\s*([^<>=]+?)\s*(<=|<)\s*(.+?)\s*(<=|<)\s*([^<>=]+?)\s*$", text)
    if not m or m.group(3) not in schema.names:
        return None
    low_t, op1, col, op2, high_t = m.groups()
    spec = schema[col]
    if spec.kind not in NUMERIC_KINDS:
        raise UserError(f"condition '{text}': an interval needs a numeric column; '{col}' is {spec.kind}")
    return Condition(col, "range", low=_number_for(low_t, spec, True), high=_number_for(high_t, spec, True),
                     low_inclusive=op1 == "<=", high_inclusive=op2 == "<=", text=text)


def _parse_one(text: str, encoder: TableEncoder, allow: bool) -> Condition | None:
    """'col=value', 'col in {a,b}' or 'col>=x' as a Condition; None for an equality that a constant column
    always holds. Errors: UserError as parse_conditions."""
    schema = encoder.schema
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
            return None
        raise UserError(f"condition '{text}': column '{col}' is always {spec.value!r}")
    if op == "in":
        if spec.kind in NUMERIC_KINDS:
            raise UserError(f"condition '{text}': a set needs a categorical column; use an interval for '{col}'")
        items = [v.strip().strip("'\"") for v in rest.split(",") if v.strip()]
        if not items:
            raise UserError(f"condition '{text}': the set is empty")
        return Condition(col, "in", values=tuple(_level_for(v, spec, encoder, allow) for v in items), text=text)
    if op in ("=", "=="):
        value_text = rest.strip("'\"")
        if spec.kind not in NUMERIC_KINDS:
            return Condition(col, "=", value=_level_for(value_text, spec, encoder, allow), text=text)
        value = _number_for(value_text, spec, allow)
        if spec.kind == "integer" and value != round(value):
            raise UserError(f"condition '{text}': column '{col}' holds whole numbers; {value_text} is not one")
        return Condition(col, "=", value=value, text=text)
    if spec.kind not in NUMERIC_KINDS:
        raise UserError(f"condition '{text}': '{op}' needs a numeric column; '{col}' is {spec.kind}")
    bound = _number_for(rest, spec, True)
    c = Condition(col, "range", text=text)
    if op.startswith(">"):
        c.low, c.low_inclusive = bound, op == ">="
    else:
        c.high, c.high_inclusive = bound, op == "<="
    return c


def _check_training_range(c: Condition, spec: ColumnSpec) -> None:
    """UserError when a range condition leaves no value inside the column's training range."""
    if c.op != "range" or spec.minimum is None:
        return
    lo_ok = c.low < spec.maximum or (c.low_inclusive and c.low == spec.maximum)
    hi_ok = c.high > spec.minimum or (c.high_inclusive and c.high == spec.minimum)
    if not (lo_ok and hi_ok and c.low <= c.high):
        raise UserError(f"condition '{c.text}' leaves no value in the training range "
                        f"[{spec.minimum:g}, {spec.maximum:g}] of '{c.column}'")


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


def cell_frame(encoder: TableEncoder, n: int, values: dict[str, Any]) -> pd.DataFrame:
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


def fallback_draw(cond: Condition, spec: ColumnSpec, encoder: TableEncoder, n: int,
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


def overwrite_given(decoded: pd.DataFrame, given: pd.DataFrame, schema: Schema | None = None) -> pd.DataFrame:
    """Put the given (non-missing) cells back into decoded rows, keeping each column's dtype; a number of a
    column written as text ("$1,688.68", schema's number_format) is written in that form."""
    out = decoded.copy()
    for col in given.columns:
        g = given[col].reset_index(drop=True)
        has = g.notna().to_numpy()
        if not has.any():
            continue
        spec = schema[col] if schema is not None and col in schema.names else None
        if spec is not None and spec.number_format is not None:
            g = format_number_text(parse_number_text(g, spec.number_format), spec.number_format,
                                   0 if spec.kind == "integer" else spec.decimals)
        merged = out[col].astype(object).to_numpy().copy()
        merged[has] = g.to_numpy(dtype=object)[has]
        series = pd.Series(merged, name=col)
        try:
            out[col] = series.astype(decoded[col].dtype)
        except (TypeError, ValueError):
            out[col] = series
    return out
