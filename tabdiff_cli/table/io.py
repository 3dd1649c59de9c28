"""Reading and writing tables: CSV/TSV (delimiter and encoding detected), Parquet, built-in datasets.

Reading keeps the missing-cell marker each column used (`df.attrs["na_markers"]`) so that generated
tables write empty cells back the way the input wrote them (`?` stays `?`, an empty field stays empty).
Writing is atomic: a temporary file in the target folder, then a rename; a temporary file that a killed
writer left behind is removed by the next write of the same output (remove_stale_temporaries).
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from tabdiff_cli.config.sections import DEFAULT_NA_VALUES
from tabdiff_cli.errors import UserError

BUILTIN_DATASETS = ("iris", "wine", "breast_cancer", "diabetes", "digits")
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
_DELIMITERS = ",;\t|"


def is_builtin(source: str) -> bool:
    """True when `source` names a built-in scikit-learn dataset (`iris` or `sklearn:iris`) and no such file exists."""
    name = source.removeprefix("sklearn:")
    if source.startswith("sklearn:"):
        return True
    return name in BUILTIN_DATASETS and not Path(source).exists()


def builtin_name(source: str) -> str | None:
    """The built-in dataset `source` names ('iris' for `iris` or `sklearn:iris`), or None for a file."""
    return source.removeprefix("sklearn:") if is_builtin(source) else None


def load_builtin(name: str) -> pd.DataFrame:
    """A scikit-learn toy dataset as one DataFrame, offline.

    Features keep scikit-learn's names and float64 dtype; a classifier's label becomes a string column
    `target` holding the class names (as the blog post does for Iris); a regression target stays float `target`.
    Errors: UserError for an unknown name (lists the known ones).
    """
    import sklearn.datasets

    key = name.removeprefix("sklearn:")
    if key not in BUILTIN_DATASETS:
        raise UserError(f"unknown built-in dataset '{key}'; known: {', '.join(BUILTIN_DATASETS)}")
    bunch = getattr(sklearn.datasets, f"load_{key}")(as_frame=True)
    data = bunch.data.copy()
    names = getattr(bunch, "target_names", None)
    if names is not None and key != "diabetes":
        target = pd.Series(np.asarray(names)[bunch.target.to_numpy()], name="target").astype(str)
        target = target.astype(object)
    else:
        target = bunch.target.rename("target").astype(float)
    return data.assign(target=target.to_numpy())


def _decode_bytes(raw: bytes, path: Path) -> str:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a byte-order mark ("Unicode text" from Excel)
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise UserError(f"{path}: damaged UTF-16 text") from None
    if b"\x00" in raw[:65536]:
        raise UserError(f"{path}: not a text table (binary content); give a CSV, TSV or Parquet file")
    for enc in _ENCODINGS:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UserError(f"{path}: cannot decode the file as UTF-8, cp1252 or latin-1")


def _sniff_delimiter(text: str, path: Path) -> str:
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] > 0 else ","


def _na_markers(raw: pd.DataFrame, na_values: Iterable[str]) -> dict[str, str]:
    """The most frequent missing-cell marker of each column that has any."""
    markers = {}
    na = list(na_values)
    for col in raw.columns:
        stripped = raw[col].str.strip()
        counts = stripped[stripped.isin(na)].value_counts()
        if len(counts):
            markers[col] = str(counts.index[0])
    return markers


def _integer_text(raw: pd.DataFrame, df: pd.DataFrame, na_values: Iterable[str]) -> list[str]:
    """Columns that pandas reads as float only because of empty cells: every other cell is written as a
    whole number without a decimal point ("57", not "57.0"), so output writes them the same way."""
    na = list(na_values)
    out = []
    for col in df.columns:
        if df[col].dtype.kind == "f" and df[col].isna().any():
            cells = raw[col].str.strip()
            cells = cells[~cells.isin(na)]
            if len(cells) and cells.str.fullmatch(r"[+-]?[0-9]+").all():
                out.append(str(col))
    return out


def _leading_zero_codes(raw: pd.DataFrame, df: pd.DataFrame, na_values: Iterable[str]) -> None:
    """In place: number columns of `df` whose text cells are all digits and at least one starts with a 0
    followed by more digits ("02134", "00501": zip codes, account codes) become text columns holding the
    cells as written. Why: read as numbers they lose their leading zeros, cannot be written back, and a
    condition "zip=02134" would mean 2134. Missing cells (`na_values`) stay missing."""
    na = list(na_values)
    for col in df.columns:
        if df[col].dtype.kind not in "iuf":
            continue
        cells = raw[col].str.strip()
        present = cells[~cells.isin(na)]
        if len(present) and present.str.fullmatch(r"[0-9]+").all() and present.str.match(r"0[0-9]").any():
            df[col] = cells.where(~cells.isin(na)).astype(object)


def _read_csv_arrow(text: str, sep: str, na: list[str]) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(raw text frame, typed frame) read with pandas' multi-threaded pyarrow engine, exactly as the C
    engine of read_table would read them; None when that cannot be guaranteed (the caller then uses the
    C engine): no pyarrow, a field starting with a space (the C engine's skipinitialspace), a file the
    pyarrow parser rejects (ragged rows, …), or a column pyarrow types differently from the C engine and
    that cannot be mapped back (integers written '+1' or beyond int64, text 'nan' that is no NA marker,
    hexadecimal). Dates, times and timestamps, which pyarrow parses, are given back as the C engine's text.
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    starts = [sep + " ", "\n "] + ([sep + "\t", "\n\t"] if sep != "\t" else [])
    if text[:1] in (" ", "\t") or any(s in text for s in starts):
        return None
    from io import BytesIO

    data = text.encode("utf-8")
    try:
        raw = _raw_text_arrow(data, text[:1 << 16].splitlines()[:1], sep)
        df = pd.read_csv(BytesIO(data), sep=sep, na_values=na, keep_default_na=False, engine="pyarrow")
    except Exception:  # pyarrow's parse errors have several types; the C engine reports them
        return None
    if raw is None:
        return None
    if list(raw.columns) != list(df.columns) or raw.shape != df.shape:
        return None
    for i in range(df.shape[1]):
        col, cells = df.iloc[:, i], raw.iloc[:, i]
        marked = cells.isin(na).to_numpy()
        if col.dtype.kind == "i":
            if not cells.str.fullmatch(r"-?[0-9]+").all():  # pyarrow reads 0x10 as 16
                return None
        elif col.dtype.kind == "f":
            values = col.to_numpy()
            if (np.isnan(values) & ~marked).any():  # 'nan' text that is not an NA marker
                return None
            if not marked.any() and np.isfinite(values).all() and (values == np.round(values)).all() \
                    and not cells.str.contains(r"[.eEnN]").any():
                return None  # whole numbers the C engine keeps as integers (+1, > int64)
        elif col.dtype.kind == "b" or pd.api.types.is_string_dtype(col.dtype) and col.dtype != object:
            continue
        elif col.dtype.kind == "O" and col.dropna().map(type).isin([bool, np.bool_]).all():
            continue  # booleans with missing cells, as the C engine
        else:  # dates, times, timestamps: the C engine keeps the text
            df[df.columns[i]] = cells.where(~marked)
    return raw, df


def _raw_text_arrow(data: bytes, first_line: list[str], sep: str) -> pd.DataFrame | None:
    """Every cell of the file `data` as its text (n_rows, n_columns), read by pyarrow with string column
    types; None for duplicate header names or a header that is not `first_line` (a quoted line break).
    Not `read_csv(dtype=str, engine="pyarrow")`: pandas 2.x lets pyarrow type the column first and casts
    back, so '+1' comes back '1.0' and '0x10' comes back '16'."""
    from io import BytesIO

    import pyarrow as pa
    from pyarrow import csv as pacsv

    header = next(csv.reader(first_line or [""], delimiter=sep), [])
    if len(set(header)) != len(header):
        return None
    table = pacsv.read_csv(
        BytesIO(data), parse_options=pacsv.ParseOptions(delimiter=sep),
        convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in header}, null_values=[],
                                             strings_can_be_null=False, quoted_strings_can_be_null=False))
    if table.column_names != header:
        return None
    # dtype=str: object under pandas 2, the str dtype under pandas 3, as read_csv(dtype=str) gives each
    return pd.DataFrame({name: pd.Series(table.column(i).to_numpy(zero_copy_only=False), dtype=str)
                         for i, name in enumerate(header)})


def _decimal_commas(df: pd.DataFrame) -> None:
    """In place: text columns of a `;`/tab/`|` file whose every cell is a number written with a decimal
    comma (`3,5`, the European convention) become float columns, rather than categories of number-text."""
    for col in df.columns:
        s = df[col]
        if s.dtype.kind in "iufb" or pd.api.types.is_datetime64_any_dtype(s):
            continue
        cells = s.dropna().astype(str).str.strip()
        if len(cells) and cells.str.fullmatch(r"[+-]?\d*,?\d+").all() and cells.str.contains(",").any():
            text = s.astype(str).str.strip().str.replace(",", ".", regex=False)
            df[col] = pd.to_numeric(text.where(s.notna()))


def _long_row(text: str, sep: str, width: int) -> str:
    """Where the first row with more fields than the header is (only called on that error)."""
    from io import StringIO

    for line, row in enumerate(csv.reader(StringIO(text), delimiter=sep), start=1):
        if len(row) > width:
            return f"line {line} has {len(row)} fields, the header {width}"
    return "a row has more fields than the header"


def read_table(source: str | Path, na_values: Iterable[str] = DEFAULT_NA_VALUES) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet file or a built-in dataset into a DataFrame.

    CSV: encoding tried in order UTF-8, cp1252, latin-1; delimiter detected among `, ; TAB |`;
    cells equal to one of `na_values` (after stripping spaces) become missing. Column types are
    pandas' inference (int64, float64, bool, object), except that digit codes with leading zeros ("02134")
    stay text (see _leading_zero_codes); the schema step decides the kinds.
    Returns (n_rows, n_columns) DataFrame with `attrs["na_markers"]` = {column: marker text} and
    `attrs["integer_text"]` = [float columns written as whole numbers, see prepare_for_text].
    Errors: UserError (message names the file) for a missing, empty, header-only or unreadable
    file, duplicate column names, or no columns.
    """
    src = str(source)
    if is_builtin(src):
        df = load_builtin(src)
        df.attrs["na_markers"] = {}
        df.attrs["source"] = src
        return df
    path = Path(src)
    if not path.exists():
        raise UserError(f"file not found: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a table file")
    na = [str(v) for v in na_values]
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise UserError(f"{path}: cannot read as Parquet ({type(exc).__name__})") from None
        markers: dict[str, str] = {}
        integer_text: list[str] = []  # Parquet keeps its own types
    else:
        raw_bytes = path.read_bytes()
        if not raw_bytes.strip():
            raise UserError(f"{path}: the file is empty")
        text = _decode_bytes(raw_bytes, path)
        sep = _sniff_delimiter(text, path)
        header = next(csv.reader([text.splitlines()[0]], delimiter=sep))
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            more = f" and {len(dupes) - 5} more" if len(dupes) > 5 else ""
            raise UserError(f"{path}: duplicate column name(s): {', '.join(dupes[:5])}{more}")
        from io import StringIO

        fast = _read_csv_arrow(text, sep, na)
        if fast is not None:
            raw, df = fast
        else:
            # index_col=False: a row longer than the header must not silently become the index
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    raw = pd.read_csv(StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                                      skipinitialspace=True, index_col=False)
            except pd.errors.ParserWarning:
                raise UserError(f"{path}: malformed CSV ({_long_row(text, sep, len(header))})") from None
            except pd.errors.ParserError as exc:
                raise UserError(f"{path}: malformed CSV ({str(exc).splitlines()[0]})") from None
            df = pd.read_csv(StringIO(text), sep=sep, na_values=na, keep_default_na=False,
                             skipinitialspace=True, index_col=False)
        markers = _na_markers(raw, na)
        _leading_zero_codes(raw, df, na)
        integer_text = _integer_text(raw, df, na)
        if sep != ",":
            _decimal_commas(df)
        # pandas reads "TRUE"/"FALSE" as bool only without missing cells; keep them as text otherwise.
    if df.shape[1] == 0:
        raise UserError(f"{path}: no columns")
    if len(df) == 0:
        raise UserError(f"{path}: the file has a header but no data rows")
    if df.columns.duplicated().any():
        raise UserError(f"{path}: duplicate column name(s): {', '.join(map(str, df.columns[df.columns.duplicated()]))}")
    df.columns = [str(c) for c in df.columns]
    df.attrs["na_markers"] = markers
    df.attrs["integer_text"] = integer_text
    df.attrs["source"] = str(path)
    return df


def _umask() -> int:
    """The process umask (os.umask can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


STALE_SECONDS = 3600  # a temporary file without a writer's process id is stale after an hour untouched


def _writer_alive(pid: int) -> bool:
    """Whether process `pid` (the writer named in a temporary file's name) still runs on this machine."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill(pid, 0) would end the process on Windows; there only age tells
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files that earlier writers of `path` left beside it when they were killed
    (SIGKILL, the OOM killer, a power cut) between creating them and renaming them onto `path`: those named
    with a process id (`.NAME.<pid>.<random>.tmp.EXT`) whose process is gone, and those of the older naming
    (`.NAME.<random>.tmp.EXT`) untouched for STALE_SECONDS. A live writer's file is left alone. Returns the
    paths removed. Why here: a killed process cannot clean up, so the next write of the same output does."""
    removed = []
    name, suffix = re.escape(path.name), re.escape(".tmp" + path.suffix)
    with_pid = re.compile(rf"\.{name}\.(\d+)\.[a-z0-9_]+{suffix}")
    legacy = re.compile(rf"\.{name}\.[a-z0-9_]+{suffix}")
    try:
        candidates = list(path.parent.iterdir()) if path.parent.is_dir() else []
    except OSError:
        return removed
    for cand in candidates:
        m = with_pid.fullmatch(cand.name)
        try:
            if m:
                stale = not _writer_alive(int(m.group(1)))
            elif legacy.fullmatch(cand.name):
                stale = time.time() - cand.stat().st_mtime > STALE_SECONDS
            else:
                continue
            if stale and cand.is_file():
                cand.unlink()
                removed.append(cand)
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    return removed


def _atomic_target(path: Path) -> tuple[int, str]:
    """Create the folder if needed and a temporary file beside `path`, named with this process's id, after
    removing the stale temporaries of killed earlier writers (remove_stale_temporaries).
    Errors: UserError when `path` is a folder or the folder cannot be created or written to."""
    if path.is_dir():
        raise UserError(f"{path} is a folder; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"cannot write {path}: {parent} is a file, not a folder")
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp" + path.suffix,
                                   dir=path.parent)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the renamed file should look like any other
        return fd, tmp
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"cannot write to folder {path.parent} ({reason})") from None


def check_writable(path: str | Path) -> None:
    """Fail early (before minutes of work) when `path` cannot be written: creates the folder if needed,
    then creates and removes a temporary file beside `path`. Errors: UserError as for atomic_write."""
    fd, tmp = _atomic_target(Path(path))
    os.close(fd)
    Path(tmp).unlink(missing_ok=True)


def atomic_write(path: str | Path, write) -> Path:
    """Call `write(tmp_path)` then rename onto `path`; on any error the temporary file is removed."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # again: a writer may have replaced the file (safetensors makes it 0600)
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a quota: name the output, not the temporary file
        Path(tmp).unlink(missing_ok=True)
        raise _write_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_error(path: Path, exc: OSError) -> UserError:
    """The one-line error of a failed write of `path` (the previous file, if any, is left as it was)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return UserError(f"cannot write {path}: {reason}; the previous {path.name}, if any, is unchanged")


def table_format(path: str | Path) -> str:
    """'csv', 'tsv' or 'parquet' from the file extension. Errors: UserError for another extension."""
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".tsv", ".tab"):
        return "tsv"
    if suffix in (".csv", ".txt", ""):
        return "csv"
    raise UserError(f"{path}: unsupported output extension '{suffix}' (use .csv, .tsv or .parquet)")


def prepare_for_text(df: pd.DataFrame, na_markers: dict[str, str] | None = None,
                     integer_text: Iterable[str] = ()) -> pd.DataFrame:
    """Fill each column's missing cells with its input marker (empty by default) for CSV output, and write
    the `integer_text` columns (whole numbers held as float because of empty cells) without '.0'."""
    whole = [c for c in integer_text if c in df.columns and df[c].dtype.kind == "f"
             and bool((df[c].dropna() == np.round(df[c].dropna())).all())]
    if not na_markers and not whole:
        return df
    out = df.copy()
    for col in whole:
        out[col] = out[col].astype("Int64")
    for col, marker in (na_markers or {}).items():
        if col in out.columns and marker != "" and out[col].isna().any():
            out[col] = out[col].astype(object).where(out[col].notna(), marker)
    return out


def write_table(df: pd.DataFrame, path: str | Path, na_markers: dict[str, str] | None = None,
                integer_text: Iterable[str] = ()) -> Path:
    """Write a DataFrame atomically as CSV/TSV (by extension; missing cells as the column's input marker,
    empty by default; `integer_text` columns as whole numbers, see prepare_for_text) or Parquet.
    Errors: UserError for an unsupported extension."""
    fmt = table_format(path)
    if fmt == "parquet":
        return atomic_write(path, lambda p: df.to_parquet(p, index=False))
    sep = "\t" if fmt == "tsv" else ","
    text_df = prepare_for_text(df, na_markers, integer_text)
    return atomic_write(path, lambda p: text_df.to_csv(p, index=False, sep=sep, na_rep=""))


class StreamingTableWriter:
    """Append DataFrame chunks to a CSV/TSV/Parquet file with bounded memory, atomically.

    Chunks go to a temporary file beside `path`; `close()` renames it onto `path`, `abort()` removes it,
    so an interrupted run never leaves a half-written table. Use as a context manager (an exception
    inside the block aborts). Errors: UserError for an unsupported extension.
    """

    def __init__(self, path: str | Path, na_markers: dict[str, str] | None = None, integer_text: Iterable[str] = ()):
        self.path = Path(path)
        self.format = table_format(self.path)
        self.na_markers = na_markers or {}
        self.integer_text = list(integer_text)
        fd, tmp = _atomic_target(self.path)
        os.close(fd)
        self.tmp = Path(tmp)
        self.rows = 0
        self._parquet = None
        self._arrow_schema = None

    def write(self, df: pd.DataFrame) -> None:
        """Append rows (same columns every call). Errors: UserError naming the output when the disk is full
        (or another OS error); the temporary file is then removed."""
        try:
            self._append(df)
        except OSError as exc:
            self.abort()
            raise _write_error(self.path, exc) from None
        self.rows += len(df)

    def _append(self, df: pd.DataFrame) -> None:
        if self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                table = pa.Table.from_pandas(df, preserve_index=False)
                self._arrow_schema = table.schema
                self._parquet = pq.ParquetWriter(str(self.tmp), self._arrow_schema)
            else:
                table = pa.Table.from_pandas(df, schema=self._arrow_schema, preserve_index=False)
            self._parquet.write_table(table)
        else:
            sep = "\t" if self.format == "tsv" else ","
            text = prepare_for_text(df, self.na_markers, self.integer_text)
            text.to_csv(self.tmp, mode="a", header=self.rows == 0, index=False, sep=sep, na_rep="")

    def close(self) -> Path:
        """Finish the file and move it into place. Errors: UserError as write()."""
        try:
            if self._parquet is not None:
                self._parquet.close()
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise _write_error(self.path, exc) from None
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; `path` is left as it was."""
        if self._parquet is not None:
            try:
                self._parquet.close()
            except Exception:  # the file is discarded anyway
                pass
        self._parquet = None
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> StreamingTableWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def shard_path(path: str | Path, shard: str) -> Path:
    """gen.parquet + shard '1/4' → gen-part-00001-of-00004.parquet (same folder)."""
    p = Path(path)
    k, parts = (int(v) for v in shard.split("/"))
    return p.with_name(f"{p.stem}-part-{k:05d}-of-{parts:05d}{p.suffix}")
