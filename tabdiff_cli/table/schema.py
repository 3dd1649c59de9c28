"""Column kinds: inferred from the data, overridable by the user, stored in the checkpoint.

Kinds
-----
continuous  real numbers; the number of decimals seen in training is kept on output
integer     whole numbers (an int column, or a float column holding only whole numbers)
categorical strings, or integer codes the user (or the code rule) marks as categorical
boolean     True/False columns (or text true/false in any case)
datetime    ISO-like date/time text (format kept on output) or datetime64 columns
id          identifier: every value distinct (strings), or a run of consecutive integers that no other
            column follows (|Spearman| < ID_CORRELATION) and that are not calendar years (YEARS);
            regenerated fresh on output, never learned
constant    one value and no missing cell: reproduced exactly, not learned
empty       every cell missing: reproduced exactly, not learned

Inference rules (documented in the README):
- an integer column with exactly two distinct values (0/1 flags, class labels) is categorical, so that a
  rare class is never rounded away (tests/cases c04);
- an integer column with at most `categorical_threshold` distinct values is categorical (0 = rule off);
- ID detection needs more than ID_MIN_ROWS rows: a small table whose numbers happen to be distinct is data;
- numbers written as text with a currency, unit or thousands separators ("$1,688.68", "11.336,05") are numbers
  (detect_number_format), written back in the same form, never identifiers.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tabdiff_cli.errors import UserError

KINDS = ("continuous", "integer", "categorical", "boolean", "datetime", "id", "constant", "empty")
OVERRIDABLE = ("continuous", "integer", "categorical", "boolean", "datetime", "id")
ID_MIN_ROWS = 50
# |Spearman correlation| with another column above which a run of consecutive integers is data, not a row
# number: for rows in random order the largest of a handful of correlations on 50+ rows stays far
# below (0.73 with AGE in a 400-row block of the credit table's ID, which is an identifier); a yearly
# series' year follows its trend closely (GDP: 0.99)
ID_CORRELATION = 0.9
YEARS = (1800, 2100)  # a run of consecutive integers inside is calendar years, data (one row per year)
MAX_DECIMALS = 6
DATETIME_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
)
_TRUE = {"true", "t", "yes", "y"}
_FALSE = {"false", "f", "no", "n"}


@dataclass
class ColumnSpec:
    """One column: its kind and what decoding needs to give back the input's form.

    dtype: the input's pandas dtype name; decimals: digits after the point of a continuous column
    (None: more than MAX_DECIMALS, left unrounded); datetime_format: strftime format of a text datetime
    column (None: the column was datetime64); minimum/maximum: the training range (numbers, or seconds
    since the epoch for datetimes); value: the constant's value; id_prefix/id_width: form of string IDs;
    number_format: how a number column written as text looks ({"prefix", "suffix", "thousands", "decimal"},
    e.g. "$1,688.68" or "11.336,05"; see detect_number_format), None for plain numbers.
    """

    name: str
    kind: str
    dtype: str
    missing_rate: float = 0.0
    n_distinct: int = 0
    minimum: float | None = None
    maximum: float | None = None
    decimals: int | None = None
    datetime_format: str | None = None
    value: Any = None
    id_prefix: str | None = None
    id_width: int | None = None
    id_numeric: bool = False
    number_format: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return dataclasses.asdict(self)


@dataclass
class Schema:
    """Ordered column specs of one table."""

    columns: list[ColumnSpec]

    def __getitem__(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        """Column names in input order."""
        return [c.name for c in self.columns]

    def of_kind(self, *kinds: str) -> list[ColumnSpec]:
        """Specs whose kind is one of `kinds`, in input order."""
        return [c for c in self.columns if c.kind in kinds]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict, stored in the checkpoint."""
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Schema:
        """Inverse of to_dict."""
        return cls([ColumnSpec(**c) for c in raw["columns"]])


def dtype_kind(series: pd.Series) -> str:
    """A column's kind from its pandas dtype alone, for tables read without a schema (evaluation, plots):
    "datetime", "timedelta", "numeric" (numbers, not booleans) or "categorical" (everything else: text,
    booleans, categories)."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return "numeric"
    return "categorical"


def _json_scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def count_decimals(values: np.ndarray) -> int | None:
    """Smallest number of decimals d ≤ MAX_DECIMALS with round(values, d) == values (float64); None if none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0
    # Relative to each value, not to max(1, |v|): values around 1e-10 round to 0 within 1e-9 (an absolute
    # tolerance would call them whole numbers and write them back as 0.0).
    for d in range(MAX_DECIMALS + 1):
        if np.all(np.abs(np.round(v, d) - v) <= 1e-9 * np.abs(v)):
            return d
    return None


def detect_datetime_format(values: pd.Series) -> str | None:
    """The first format of DATETIME_FORMATS that parses every non-missing text value, else None."""
    text = values.dropna().astype(str).str.strip()
    if text.empty or not text.str.match(r"^\d").all():
        return None
    sample = text.iloc[:2000]
    for fmt in DATETIME_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().all():
            if len(text) > len(sample) and pd.to_datetime(text, format=fmt, errors="coerce").isna().any():
                continue
            return fmt
    return None


# A number written as text with a currency or unit and thousands separators: "$1,688.68", "-€ 12", "11.336,05",
# "12.5 kg", "45%". The prefix and suffix hold no digit, sign or separator.
# Letters next to the digits ("TX-001", "12A") make a code, so a word prefix needs a space ("USD 12"), and a
# word suffix a space (" kg") unless it is a common unit ("12kg").
_UNITS = "mm|cm|km|m|mg|kg|g|ml|l|s|ms|h|min|kWh|W|kW|MB|GB|TB|KB|px|pt"
_NUMBER_TEXT = re.compile(r"^(?P<sign>[-+]?)(?P<prefix>(?:[^\w\s.,+\-'%]{1,3}|[^\W\d_]{1,4}\s)?\s?)(?P<sign2>[-+]?)"
                          r"(?P<num>\d(?:[\d.,' \u00a0\u202f]*\d)?)"
                          rf"(?P<suffix>(?:\s?[^\w\s.,+\-']{{1,2}}|\s[^\W\d_]{{1,6}}|{_UNITS})?)$")
# (thousands, decimal) separator pairs, the more common first: which reading wins when several fit all cells
_SEPARATORS = ((",", "."), (".", ","), (" ", ","), ("\u00a0", ","), ("\u202f", ","), ("'", "."), (" ", "."))


def _fits(num: pd.Series, thousands: str, decimal: str) -> pd.Series:
    t, d = re.escape(thousands), re.escape(decimal)
    return num.str.fullmatch(rf"\d{{1,3}}(?:{t}\d{{3}})+(?:{d}\d+)?|\d+(?:{d}\d+)?")


def detect_number_format(values: pd.Series) -> dict[str, str] | None:
    """How a text column of numbers with a unit, currency or thousands separators is written, or None when
    its cells are not all such numbers (or are plain numbers, which pandas reads itself).

    Every non-missing cell must read as [sign] prefix [sign] digits-with-separators suffix, with one prefix
    and one suffix for the whole column (e.g. "$", " kg", "%"), and one (thousands, decimal) separator pair
    (_SEPARATORS, first that fits every cell). Returns {"prefix", "suffix", "thousands" ("" when no cell
    groups digits), "decimal"}.
    """
    text = values.dropna().astype(str).str.strip()
    if text.empty:
        return None
    parts = text.str.extract(_NUMBER_TEXT)
    if parts["num"].isna().any() or parts["prefix"].nunique() != 1 or parts["suffix"].nunique() != 1:
        return None
    prefix, suffix, num = str(parts["prefix"].iloc[0]), str(parts["suffix"].iloc[0]), parts["num"]
    for thousands, decimal in _SEPARATORS:
        if _fits(num, thousands, decimal).all():
            grouped = bool(num.str.contains(re.escape(thousands), regex=True).any())
            if not (prefix.strip() or suffix.strip() or grouped or (decimal == "," and num.str.contains(",").any())):
                return None  # plain digits: codes or numbers pandas already reads
            return {"prefix": prefix, "suffix": suffix, "thousands": thousands if grouped else "", "decimal": decimal}
    return None


def parse_number_text(values: pd.Series, fmt: dict[str, str]) -> np.ndarray:
    """float64 (NaN for missing or unreadable) of cells written in `fmt` (detect_number_format); cells that
    already are numbers (a condition, an imputation input) are taken as they are."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    parts = values.astype(object).where(values.notna(), None).astype(str).str.strip().str.extract(_NUMBER_TEXT)
    num = parts["num"].fillna("")
    if fmt["thousands"]:
        num = num.str.replace(fmt["thousands"], "", regex=False)
    num = num.str.replace(fmt["decimal"], ".", regex=False)
    negative = (parts["sign"] == "-") | (parts["sign2"] == "-")
    out = np.where(negative.to_numpy(), -1.0, 1.0) * pd.to_numeric(num, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan)
    plain = pd.to_numeric(values.astype(object).where(values.notna(), None), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(out), plain, out)  # "1688.68" typed by a user in a condition


def format_number_text(values: np.ndarray, fmt: dict[str, str], decimals: int | None) -> pd.Series:
    """Numbers (n,) written back as the column's cells were (prefix, thousands groups, decimal sign, the
    training decimals, suffix); NaN → missing. Inverse of parse_number_text."""
    d = decimals if decimals is not None else MAX_DECIMALS
    group = "," if fmt["thousands"] else ""

    def one(v: float) -> str | None:
        if not np.isfinite(v):
            return None
        body = f"{abs(v):{group}.{d}f}".replace(",", "\x00").replace(".", fmt["decimal"])
        body = body.replace("\x00", fmt["thousands"])
        return ("-" if v < 0 and round(abs(v), d) > 0 else "") + fmt["prefix"] + body + fmt["suffix"]

    return pd.Series([one(float(v)) for v in values], dtype=object)


def _is_bool_text(values: pd.Series) -> bool:
    uniq = {str(v).strip().lower() for v in values.dropna().unique()}
    return bool(uniq) and uniq <= (_TRUE | _FALSE) and len(uniq) == 2 and bool(uniq & _TRUE)


def to_datetime_seconds(values: pd.Series, fmt: str | None) -> np.ndarray:
    """Seconds since 1970-01-01 (float64, NaN for missing) of a datetime64 or text column in format `fmt`."""
    if fmt is None:
        ts = pd.to_datetime(values, errors="coerce")
    else:
        ts = pd.to_datetime(values.astype(object).where(values.notna(), None), format=fmt, errors="coerce")
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        ns = ts.astype("datetime64[ns]").to_numpy().astype("int64").astype(np.float64)
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        # dates before 1677 or after 2262 (beyond nanoseconds in int64): in microseconds, ±290,000 years
        us = ts.astype("datetime64[us]").to_numpy().astype("int64").astype(np.float64)
        us[ts.isna().to_numpy()] = np.nan
        return us / 1e6
    ns[ts.isna().to_numpy()] = np.nan
    return ns / 1e9


def numeric_values(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    """The float64 values (NaN for missing) a numeric-path column is modelled on."""
    if spec.kind == "datetime":
        return to_datetime_seconds(series, spec.datetime_format)
    if spec.kind == "boolean":
        return series.map(lambda v: np.nan if pd.isna(v) else float(str(v).strip().lower() in _TRUE)).to_numpy(float)
    if spec.number_format is not None:
        return parse_number_text(series, spec.number_format)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _id_form(values: pd.Series) -> tuple[str, int | None, bool]:
    """Prefix and zero-padded width shared by string IDs like 'TX-000123'; ('', None, False) if none."""
    text = values.dropna().astype(str)
    parts = text.str.extract(r"^(.*?)(\d+)$")
    if parts[1].isna().any() or parts[0].nunique() != 1:
        return "", None, False
    width = parts[1].str.len()
    return str(parts[0].iloc[0]), int(width.max()) if width.nunique() == 1 else None, True


def _too_big(name: str, present: pd.Series) -> UserError:
    """Whole numbers beyond 64-bit integers (20+ digits: card numbers, codes) cannot be written back as
    integers; they are codes, not quantities."""
    example = max(present.astype(str).str.strip(), key=len)
    return UserError(f"column '{name}' holds whole numbers beyond 64 bits (e.g. {example}); "
                     f"if they are codes or identifiers, leave the column out with --drop {name}")


def _number_text_kind(present: pd.Series, fmt: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """("integer" or "continuous", extra) of a text column of numbers written in `fmt`; decimals: the most
    digits after the decimal sign in any cell, so that "$12.50" is written back with two."""
    num = present.astype(str).str.strip().str.extract(_NUMBER_TEXT)["num"]
    after = num.map(lambda t: len(t.split(fmt["decimal"])[1]) if fmt["decimal"] in t else 0)
    decimals = int(after.max())
    extra = {"number_format": fmt, "decimals": decimals}
    return ("integer" if decimals == 0 else "continuous"), extra


def _infer_kind(s: pd.Series, name: str, threshold: int) -> tuple[str, dict[str, Any]]:
    extra: dict[str, Any] = {}
    present = s.dropna()
    n, n_unique = len(s), present.nunique()
    if present.empty:
        return "empty", extra
    if n_unique == 1 and len(present) == n:
        return "constant", {"value": _json_scalar(present.iloc[0])}
    if pd.api.types.is_bool_dtype(s):
        return "boolean", extra
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime", {"datetime_format": None}
    if pd.api.types.is_numeric_dtype(s):
        v = present.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(v)):
            raise UserError(f"column '{name}' holds infinite values; replace them or mark them missing")
        whole = bool(np.all(np.floor(v) == v))
        if whole and np.abs(v).max() >= 2.0**63:
            if s.dtype.kind == "f":  # floats such as 3e24 are whole only because float64 has no digits left
                return "continuous", {"decimals": None}
            raise _too_big(name, present)
        if whole:
            if n_unique == 2 or (threshold and n_unique <= threshold):
                return "categorical", extra
            srt = np.sort(v)
            if n > ID_MIN_ROWS and n_unique == n and np.all(np.diff(srt) == 1):
                return "id", {"id_numeric": True}
            return "integer", extra
        return "continuous", {"decimals": count_decimals(v)}
    # text columns
    if _is_bool_text(present):
        return "boolean", extra
    fmt = detect_datetime_format(present)
    if fmt is not None:
        return "datetime", {"datetime_format": fmt}
    written = detect_number_format(present)
    if written is not None:  # "$1,688.68", "11.336,05", "12 kg": numbers, not the labels of an identifier
        return _number_text_kind(present, written)
    as_num = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    share = float(as_num.notna().mean())
    if share == 1.0 and as_num.abs().max() >= 2.0**63:  # pandas keeps whole numbers beyond 64 bits as text
        raise _too_big(name, present)
    # Digits stored as text (labels "0".."9", codes like "02134") are codes: their levels, not numbers.
    if share < 1.0 and share >= 0.8 and as_num.notna().sum() > 1:
        bad = present[as_num.isna()].astype(str).unique()[:3]
        raise UserError(
            f"column '{name}' mixes numbers with text ({', '.join(repr(b) for b in bad)}): "
            f"add the text to --na-values, or mark the column with --categorical {name}"
        )
    if n > ID_MIN_ROWS and n_unique == n:
        prefix, width, ok = _id_form(present)
        return "id", {"id_prefix": prefix if ok else None, "id_width": width}
    return "categorical", extra


def _describe(s: pd.Series, spec: ColumnSpec) -> None:
    spec.missing_rate = float(s.isna().mean())
    spec.n_distinct = int(s.nunique(dropna=True))
    if spec.kind in ("continuous", "integer", "datetime"):
        v = numeric_values(s, spec)
        v = v[np.isfinite(v)]
        if v.size:
            spec.minimum, spec.maximum = float(v.min()), float(v.max())
        if spec.kind == "continuous" and spec.decimals is None and v.size:
            spec.decimals = count_decimals(v)


def _largest_rank_correlation(df: pd.DataFrame, spec: ColumnSpec, specs: list[ColumnSpec]) -> float:
    """The largest |Spearman correlation| between column `spec` and another number-like column of `df`
    (0 when there is none): a run of consecutive integers that the other columns follow is data, not a row
    number."""
    own = pd.Series(numeric_values(df[spec.name], spec))
    best = 0.0
    for other in specs:
        if other is spec or other.kind not in ("continuous", "integer", "datetime", "boolean"):
            continue
        rho = own.corr(pd.Series(numeric_values(df[other.name], other)), method="spearman")
        if np.isfinite(rho):
            best = max(best, abs(float(rho)))
    return best


def infer_schema(
    df: pd.DataFrame,
    overrides: dict[str, str] | None = None,
    ids: list[str] | None = None,
    drop: list[str] | None = None,
    categorical_threshold: int = 0,
) -> Schema:
    """Infer the kind of every column of `df` (n_rows, n_columns), then apply the user's choices.

    overrides: {column: kind} for kinds in OVERRIDABLE; ids: columns to treat as identifiers;
    drop: columns left out of the model and the output.
    Errors: UserError when a named column does not exist (the message lists the columns), a kind is
    unknown, a column holds inf, or a text column mixes numbers with free text.
    """
    overrides = dict(overrides or {})
    for col in ids or []:
        overrides[col] = "id"
    named = list(overrides) + list(drop or [])
    missing = [c for c in named if c not in df.columns]
    if missing:
        raise UserError(f"unknown column(s) {', '.join(map(repr, missing))}; columns are: {', '.join(df.columns)}")
    for col, kind in overrides.items():
        if kind not in OVERRIDABLE:
            raise UserError(f"column '{col}': unknown kind '{kind}'; kinds: {', '.join(OVERRIDABLE)}")
    specs = []
    for name in df.columns:
        if name in (drop or []):
            continue
        s = df[name]
        if name in overrides:
            kind, extra = overrides[name], {}
            if kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(s):
                extra["datetime_format"] = detect_datetime_format(s)
                if extra["datetime_format"] is None:
                    raise UserError(f"column '{name}' is marked datetime but its values are not in a known date format")
            written = detect_number_format(s) if kind in ("continuous", "integer") \
                and not pd.api.types.is_numeric_dtype(s) else None
            if written is not None:
                extra = _number_text_kind(s.dropna(), written)[1]
            elif kind in ("continuous", "integer") and not pd.api.types.is_numeric_dtype(s):
                num = pd.to_numeric(s, errors="coerce")
                if (num.isna() & s.notna()).any():
                    raise UserError(f"column '{name}' is marked {kind} but holds text such as "
                                    f"{s[num.isna() & s.notna()].iloc[0]!r}")
            if kind == "id" and s.dtype.kind in "iuf":
                extra["id_numeric"] = True
            elif kind == "id":
                prefix, width, ok = _id_form(s)
                extra.update(id_prefix=prefix if ok else None, id_width=width)
        else:
            kind, extra = _infer_kind(s, name, categorical_threshold)
        dtype = str(s.dtype)
        spec = ColumnSpec(name=name, kind=kind, dtype=dtype, **extra)
        _describe(s, spec)
        specs.append(spec)
    for spec in specs:
        if spec.kind == "id" and spec.id_numeric and spec.name not in overrides:
            years = spec.minimum is not None and YEARS[0] <= spec.minimum and spec.maximum <= YEARS[1]
            if years or _largest_rank_correlation(df, spec, specs) >= ID_CORRELATION:  # a yearly series' `year`
                spec.kind, spec.id_numeric = "integer", False
                _describe(df[spec.name], spec)
    schema = Schema(specs)
    if not schema.of_kind("continuous", "integer", "categorical", "boolean", "datetime"):
        raise UserError("no usable column: every column is an identifier, constant or empty")
    return schema
