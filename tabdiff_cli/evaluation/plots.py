"""Figures that compare a real table with a generated one (``tabdiff plot``).

Three kinds of figure, each written atomically to one file whose format follows its extension
(``.png`` at 120 dpi, ``.svg``, ``.pdf``):

* :func:`pairplot_side_by_side` -- the blog post's figure: ``sns.pairplot(df, hue='target',
  hue_order=iris.target_names, height=1.5)`` of the real and of the generated table, drawn side by side in
  ONE figure with the same axis limits per variable, the same hue order and the same palette;
* :func:`marginals` -- one panel per column: overlaid histograms (numeric, datetime) or category-share bars
  (categorical, boolean), each titled with the share of empty cells in both tables;
* :func:`correlation_difference` -- heatmap of ``corr_real - corr_generated`` (Pearson, numeric columns).

:func:`plot_tables` dispatches on ``--kind``; :func:`default_hue` picks the hue column when none is given.
All user-facing problems raise :class:`PlotError` with a one-line message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors  # noqa: E402
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from tabdiff_cli.errors import UserError  # noqa: E402
from tabdiff_cli.table.io import atomic_write  # noqa: E402
from tabdiff_cli.table.schema import dtype_kind  # noqa: E402

__all__ = [
    "PlotError",
    "pairplot_side_by_side",
    "marginals",
    "correlation_difference",
    "plot_tables",
    "default_hue",
    "KINDS",
    "SUPPORTED_EXTENSIONS",
]

KINDS = ("pairplot", "marginals", "correlation", "all")
SUPPORTED_EXTENSIONS = (".png", ".svg", ".pdf")
PNG_DPI = 120
MAX_PAIRPLOT_COLUMNS = 8  # k x k axes per grid; 8 gives 64 panels per table
MAX_HUE_LEVELS = 20
MAX_CATEGORY_BARS = 20  # top levels per categorical panel; the rest become "other"
MAX_MARGINAL_PANELS = 100
ANNOTATE_MAX_COLUMNS = 15
RASTERIZE_SCATTER_ABOVE = 20_000  # scatter marks per grid above which SVG/PDF get them as an image
VECTOR_RASTER_DPI = PNG_DPI  # resolution of rasterized scatter layers inside SVG/PDF
REAL_COLOR = "C0"
SYNTH_COLOR = "C1"
_HUE_KEY = "\x00hue"  # column name for hue labels inside the plotting frames (cannot clash with a real name)

_RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 7,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "figure.titlesize": 10,
    "svg.hashsalt": "tabdiff",  # stable ids in SVG output
}


class PlotError(UserError):
    """A table, column, option or output path that cannot be plotted; the message is one line (a UserError, so
    the CLI prints it and exits 2)."""


# --------------------------------------------------------------------------------------------------------
# small helpers: column kinds, output paths, atomic save
# --------------------------------------------------------------------------------------------------------


def _is_categorical(s: pd.Series) -> bool:
    """Text, category or bool dtype (the kinds a hue or a share-bar panel can take)."""
    return dtype_kind(s) == "categorical"


def _is_numeric(s: pd.Series) -> bool:
    """Numeric, not boolean (booleans are categories here)."""
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _is_datetime(s: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(s.dtype)


def _as_float(s: pd.Series) -> pd.Series:
    """Float values of a column; non-numbers and +-inf become NaN."""
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype("float64")
    else:
        out = pd.to_numeric(s, errors="coerce").astype("float64")
    return out.replace([np.inf, -np.inf], np.nan)


def _datetime_as_days(s: pd.Series) -> pd.Series:
    """Datetimes as matplotlib date numbers (float days since matplotlib's epoch); NaT -> NaN."""
    s = pd.to_datetime(s, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    epoch = pd.Timestamp(mdates.get_epoch())
    return ((s - epoch) / pd.Timedelta(days=1)).astype("float64")


def _empty_mask(s: pd.Series) -> pd.Series:
    """True for empty cells: NaN/None/NaT, and blank strings."""
    mask = s.isna()
    if pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
        blank = s.map(lambda v: isinstance(v, str) and v.strip() == "")
        mask = mask | blank.fillna(False).astype(bool)
    return mask


def _short_list(names: Sequence[object], limit: int = 20) -> str:
    names = [str(n) for n in names]
    text = ", ".join(names[:limit])
    if len(names) > limit:
        text += f", ... ({len(names) - limit} more)"
    return text


def _short(text: object, width: int) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def check_out(out: str | Path) -> Path:
    """The output path, validated: a supported extension (format follows it), not a directory.
    Errors: PlotError (a UserError) naming the path."""
    path = Path(out)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise PlotError(
            f"cannot write plot '{path}': unsupported extension '{path.suffix or '(none)'}'; "
            f"use one of {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    if path.is_dir():
        raise PlotError(f"cannot write plot '{path}': it is a directory")
    return path


def _check_tables(real: object, synth: object) -> None:
    for name, df in (("real", real), ("generated", synth)):
        if not isinstance(df, pd.DataFrame):
            raise PlotError(f"the {name} table must be a pandas DataFrame, got {type(df).__name__}")
        if len(df) == 0:
            raise PlotError(f"the {name} table has no rows")
        if df.shape[1] == 0:
            raise PlotError(f"the {name} table has no columns")
    if not set(real.columns) & set(synth.columns):
        raise PlotError(f"the two tables share no column (real: {_short_list(list(real.columns), 5)}; "
                        f"generated: {_short_list(list(synth.columns), 5)}); were they made from the same table?")


def _save(fig: Figure, out: Path, tight: bool = True) -> Path:
    """Write ``fig`` to ``out`` atomically (table.io.atomic_write), its format from the extension; close it.
    SVG and PDF carry no date, so the same figure gives the same bytes. Errors: PlotError naming the path."""
    ext = out.suffix.lower()
    kwargs: dict = {"format": ext[1:]}
    if tight:
        kwargs.update(bbox_inches="tight", pad_inches=0.15)
    if ext == ".png":
        kwargs["dpi"] = PNG_DPI
    elif ext == ".svg":
        kwargs.update(metadata={"Date": None}, dpi=VECTOR_RASTER_DPI)
    elif ext == ".pdf":
        kwargs.update(metadata={"CreationDate": None}, dpi=VECTOR_RASTER_DPI)
    try:
        atomic_write(out, lambda tmp: fig.savefig(tmp, **kwargs))
    except OSError as exc:
        raise PlotError(f"cannot write plot '{out}': {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
    return out


def _subsample(
    df: pd.DataFrame, max_rows: int | None, seed: int, label: str, notes: list[str]
) -> pd.DataFrame:
    """At most ``max_rows`` rows (seeded random subset, original order kept), with a note when cut."""
    if max_rows is not None and max_rows > 0 and len(df) > max_rows:
        notes.append(f"{label}: subsampled to {max_rows} of {len(df)} rows (seed {seed})")
        idx = np.sort(np.random.default_rng(seed).choice(len(df), size=max_rows, replace=False))
        return df.iloc[idx]
    return df


def _add_notes(fig: Figure, notes: list[str]) -> None:
    if notes:
        fig.text(0.005, -0.005, "\n".join(notes), ha="left", va="top", fontsize=7, color="0.3")


# --------------------------------------------------------------------------------------------------------
# hue
# --------------------------------------------------------------------------------------------------------


def default_hue(df: pd.DataFrame) -> str | None:
    """The hue column to use when ``--hue`` is not given.

    Input: one table. Returns the name of its categorical column (object, string, category or bool dtype)
    with 2..20 distinct non-empty values when there is exactly one such column, else ``None`` (none, or
    several and the choice would be a guess). On the blog post's Iris table this is ``"target"`` (species names).
    Numeric columns are never picked, even when they hold class codes; pass ``hue=`` for those.
    """
    found = []
    for col in df.columns:
        s = df[col]
        if isinstance(s, pd.DataFrame):  # duplicated column name
            continue
        if _is_categorical(s) and 2 <= s.nunique(dropna=True) <= MAX_HUE_LEVELS:
            found.append(col)
    return found[0] if len(found) == 1 else None


def _hue_labels(s: pd.Series) -> pd.Series:
    """Hue values as strings; integral numbers without '.0' so 1 and 1.0 agree; empty -> '(missing)'."""
    if _is_numeric(s):
        f = pd.to_numeric(s, errors="coerce")
        finite = f[np.isfinite(f)]
        if len(finite) and np.all(finite == np.round(finite)):
            out = f.map(lambda v: str(int(v)) if pd.notna(v) and np.isfinite(v) else None)
        else:
            out = f.map(lambda v: repr(float(v)) if pd.notna(v) else None)
    else:
        out = s.map(lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
    out = out.astype(object)
    out[out.isna()] = "(missing)"
    return out


def _check_hue(real: pd.DataFrame, synth: pd.DataFrame, hue: str | None) -> None:
    if hue is None:
        return
    if hue not in real.columns:
        raise PlotError(
            f"--hue column '{hue}' is not in the table; columns: {_short_list(list(real.columns))}"
        )
    if hue not in synth.columns:
        raise PlotError(
            f"--hue column '{hue}' is in the real table but not in the generated one; "
            f"generated columns: {_short_list(list(synth.columns))}"
        )


def _hue_order(real_labels: pd.Series, synth_labels: pd.Series) -> list[str]:
    """Sorted levels of the real table, then the generated table's extra levels (sorted)."""
    real_levels = sorted(set(real_labels))
    extra = sorted(set(synth_labels) - set(real_levels))
    return real_levels + extra


def _palette(levels: Sequence[str]) -> dict[str, tuple]:
    n = len(levels)
    colors = sns.color_palette("deep" if n <= 10 else "husl", n)
    return dict(zip(levels, colors, strict=True))


# --------------------------------------------------------------------------------------------------------
# pairplot (the blog post's figure)
# --------------------------------------------------------------------------------------------------------


def _shared_limits(real: pd.DataFrame, synth: pd.DataFrame, cols: Sequence[str], pad: float = 0.05) -> dict:
    """Axis limits per column, shared by both tables: the union's finite [min, max] widened by ``pad``.

    A constant column gets +-0.5 (or +-5 % of its value) around its value; a column without finite values
    gets (0, 1). Returns ``{column: (low, high)}``.
    """
    limits = {}
    for col in cols:
        vals = []
        for df in (real, synth):
            if col in df.columns:
                v = _as_float(df[col]).to_numpy()
                vals.append(v[np.isfinite(v)])
        v = np.concatenate(vals) if vals else np.array([])
        if v.size == 0:
            limits[col] = (0.0, 1.0)
            continue
        lo, hi = float(v.min()), float(v.max())
        if hi > lo:
            width = (hi - lo) * pad
        else:
            width = max(0.5, abs(lo) * 0.05)
        limits[col] = (lo - width, hi + width)
    return limits


DECADE_LIMITS = (1e-4, 1e6)  # a column whose largest |value| lies outside is drawn in units of a power of ten


def _decade_exponents(real: pd.DataFrame, synth: pd.DataFrame, cols: Sequence[str]) -> dict[str, int]:
    """{column: e} for the numeric columns whose largest finite |value| is outside DECADE_LIMITS, drawn as
    value / 10**e. Why: the KDE's covariance of values around 1e200 overflows to inf (and of values around
    1e-170 underflows to 0), which scipy rejects ("array must not contain infs or NaNs")."""
    out = {}
    for col in cols:
        v = np.concatenate([_as_float(df[col]).to_numpy() for df in (real, synth) if col in df.columns])
        v = np.abs(v[np.isfinite(v) & (v != 0)])
        if v.size and not DECADE_LIMITS[0] <= v.max() <= DECADE_LIMITS[1]:
            out[col] = int(np.floor(np.log10(v.max())))
    return out


def _rescaled(df: pd.DataFrame, exponents: dict[str, int]) -> pd.DataFrame:
    """`df` with each column of `exponents` as float value / 10**e (others unchanged)."""
    if not exponents:
        return df
    scaled = {c: _as_float(df[c]) / 10.0 ** e for c, e in exponents.items() if c in df.columns}
    return df.assign(**scaled)


@dataclass
class _Pairplot:
    """A built (unsaved) side-by-side pairplot; exposed for tests."""

    fig: Figure
    grids: list  # two k x k numpy arrays of Axes: real, generated
    columns: list[str]
    limits: dict
    hue_order: list[str] | None
    notes: list[str] = field(default_factory=list)


def _pairplot_columns(
    real: pd.DataFrame, synth: pd.DataFrame, hue: str | None
) -> tuple[list[str], list[str]]:
    """Numeric columns for the axes (first 8 with values), and notes about those left out."""
    notes: list[str] = []
    numeric = [c for c in real.columns if c != hue and _is_numeric(real[c])]
    skipped_dt = [c for c in real.columns if c != hue and _is_datetime(real[c])]
    if skipped_dt:
        notes.append(f"datetime columns skipped: {_short_list(skipped_dt, 8)}")
    missing = [c for c in numeric if c not in synth.columns]
    if missing:
        notes.append(f"not in the generated table, skipped: {_short_list(missing, 8)}")
    numeric = [c for c in numeric if c in synth.columns]
    empty = [
        c for c in numeric if not (_as_float(real[c]).notna().any() or _as_float(synth[c]).notna().any())
    ]
    if empty:
        notes.append(f"all-empty columns dropped: {_short_list(empty, 8)}")
    numeric = [c for c in numeric if c not in empty]
    if not numeric:
        raise PlotError(
            "pairplot needs at least 1 numeric column with values in the real table; "
            f"columns: {_short_list(list(real.columns))}"
        )
    if len(numeric) > MAX_PAIRPLOT_COLUMNS:
        notes.append(
            f"showing the first {MAX_PAIRPLOT_COLUMNS} of {len(numeric)} numeric columns; "
            f"not shown: {_short_list(numeric[MAX_PAIRPLOT_COLUMNS:], 8)}"
        )
        numeric = numeric[:MAX_PAIRPLOT_COLUMNS]
    return numeric, notes


def _draw_grid(fig: Figure, gs, frame: pd.DataFrame, cols: list[str], limits: dict, hue_order, palette):
    """Draw one k x k pairplot grid into the gridspec ``gs``; returns the k x k array of Axes."""
    k = len(cols)
    axes = np.empty((k, k), dtype=object)
    hue_kw = {"hue": _HUE_KEY, "hue_order": hue_order, "palette": palette} if hue_order else {"color": "C0"}
    if hue_order:
        point_colors = np.array([palette[lvl] for lvl in frame[_HUE_KEY]]).reshape(-1, 3)
    else:
        point_colors = np.array([matplotlib.colors.to_rgb("C0")] * len(frame)).reshape(-1, 3)
    marker_size = 6 if len(frame) > 500 else 12
    # Dense scatter layers are rasterized inside SVG/PDF (axes, text and KDEs stay vector): drawn as vector
    # marks, 2 x 56 panels of 2000 points take over a minute to write and make a file viewers choke on.
    rasterize = len(frame) * k * (k - 1) > RASTERIZE_SCATTER_ABOVE
    for i, row_col in enumerate(cols):
        for j, col_col in enumerate(cols):
            ax = fig.add_subplot(gs[i, j])
            axes[i, j] = ax
            if i == j:
                # Like seaborn's pairplot: the density lives on a twin axis, so the left ticks keep showing
                # the row variable's scale.
                dax = ax.twinx()
                values = frame[col_col]
                if values.nunique(dropna=True) >= 2:
                    sns.kdeplot(
                        data=frame,
                        x=col_col,
                        ax=dax,
                        fill=True,
                        alpha=0.25,
                        linewidth=1,
                        common_norm=True,
                        legend=False,
                        warn_singular=False,
                        **hue_kw,
                    )
                elif values.notna().any():  # zero variance: no KDE, one histogram bar
                    lo, hi = limits[col_col]
                    sns.histplot(
                        data=frame,
                        x=col_col,
                        ax=dax,
                        bins=np.linspace(lo, hi, 21),
                        stat="density",
                        element="step",
                        common_norm=True,
                        legend=False,
                        **hue_kw,
                    )
                dax.set_yticks([])
                dax.set_ylabel("")
                dax.set_xlabel("")
                dax.set_xlim(limits[col_col])
                for side in ("top", "right"):
                    dax.spines[side].set_visible(False)
            else:
                # plain Axes.scatter (one collection, data order, the hue palette's colours): the same
                # picture as sns.scatterplot, at a fraction of the cost for 2 x 56 panels
                x = frame[col_col].to_numpy()
                y = frame[row_col].to_numpy()
                ok = np.isfinite(x) & np.isfinite(y)
                ax.scatter(
                    x[ok],
                    y[ok],
                    s=marker_size,
                    c=point_colors[ok],
                    linewidths=0,
                    alpha=0.8,
                    rasterized=rasterize,
                )
            ax.set_xlim(limits[col_col])
            ax.set_ylim(limits[row_col])
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
            ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
            ax.set_xlabel(_short(col_col, 24) if i == k - 1 else "")
            ax.set_ylabel(_short(row_col, 24) if j == 0 else "")
            ax.tick_params(labelbottom=i == k - 1, labelleft=j == 0)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
    return axes


def _build_pairplot(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    hue: str | None = None,
    max_rows: int = 2000,
    seed: int = 0,
    titles: Sequence[str] = ("Real", "Generated"),
) -> _Pairplot:
    _check_tables(real, synth)
    _check_hue(real, synth, hue)
    cols, notes = _pairplot_columns(real, synth, hue)
    exponents = _decade_exponents(real, synth, cols)
    real, synth = _rescaled(real, exponents), _rescaled(synth, exponents)
    limits = _shared_limits(real, synth, cols)  # from the full tables: identical in both grids
    if exponents:
        notes.append("axes in powers of ten: " + ", ".join(f"{_short(c, 20)} ×1e{e}" for c, e in exponents.items()))

    frames = []
    for label, df in zip(titles, (real, synth), strict=True):
        n_total = len(df)
        df = _subsample(df, max_rows, seed, label, notes)
        frame = pd.DataFrame({c: _as_float(df[c]).to_numpy() for c in cols})
        if hue is not None:
            frame[_HUE_KEY] = _hue_labels(df[hue]).to_numpy()
        frames.append((frame, n_total))

    hue_order = palette = None
    if hue is not None:
        # levels from the full tables, so a level that only survives in the full data keeps its colour
        hue_order = _hue_order(_hue_labels(real[hue]), _hue_labels(synth[hue]))
        if len(hue_order) > MAX_HUE_LEVELS:
            raise PlotError(
                f"--hue column '{hue}' has {len(hue_order)} levels in the two tables; "
                f"at most {MAX_HUE_LEVELS} can be told apart by colour"
            )
        palette = _palette(hue_order)

    # Manual layout in inches (constrained layout costs seconds on 2 x 64 axes): the blog post's height=1.5
    # per panel; tiny grids get more room.
    k = len(cols)
    cell = 1.5 if k >= 3 else 4.5 / k
    grid = k * cell
    left, gap, top = 0.65, 0.6, 0.45
    bottom = 0.6 + (0.15 * sum(n.count("\n") + 1 for n in notes) + 0.1 if notes else 0.0)
    legend_w = 0.0
    if hue_order:
        legend_w = min(0.5 + 0.07 * max(len(_short(lvl, 24)) for lvl in [hue, *hue_order]), 2.4)
    width = left + 2 * grid + gap + legend_w + 0.2
    height = top + grid + bottom
    fig = plt.figure(figsize=(width, height))
    grids = []
    for g, (title, (frame, n_total)) in enumerate(zip(titles, frames, strict=True)):
        x0 = (left + g * (grid + gap)) / width
        x1 = x0 + grid / width
        gs = fig.add_gridspec(
            k, k, left=x0, right=x1, bottom=bottom / height, top=1 - top / height, wspace=0.1, hspace=0.1
        )
        grids.append(_draw_grid(fig, gs, frame, cols, limits, hue_order, palette))
        shown = f"{len(frame)} of {n_total} rows" if len(frame) < n_total else f"{n_total} rows"
        fig.text((x0 + x1) / 2, 1 - 0.1 / height, f"{title} ({shown})", ha="center", va="top", fontsize=10)

    if hue_order:
        handles = [
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                markersize=6,
                markerfacecolor=palette[lvl],
                markeredgewidth=0,
                label=_short(lvl, 24),
            )
            for lvl in hue_order
        ]
        fig.legend(
            handles=handles,
            title=_short(hue, 24),
            loc="center left",
            bbox_to_anchor=((left + 2 * grid + gap + 0.1) / width, 0.5),
            frameon=False,
        )
    if notes:
        fig.text(
            0.1 / width, 0.08 / height, "\n".join(notes), ha="left", va="bottom", fontsize=7, color="0.3"
        )
    return _Pairplot(fig, grids, cols, limits, hue_order, notes)


def pairplot_side_by_side(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    out: str | Path,
    hue: str | None = None,
    max_rows: int = 2000,
    seed: int = 0,
    titles: Sequence[str] = ("Real", "Generated"),
) -> Path:
    """Draw the blog post's pairplot of the real and of the generated table side by side, in one figure.

    Source: the blog post shows ``sns.pairplot(df, hue='target', hue_order=iris.target_names, height=1.5)``
    for the real Iris table and for the 150 generated rows next to each other; this reproduces that figure
    as one figure holding two k x k grids of axes drawn here (not two ``sns.pairplot`` figures pasted
    together), so SVG/PDF stay vector: axes, text and KDEs always; the scatter marks too unless a grid has
    more than 20,000 of them (rows x k(k-1)), in which case only those marks are rasterized (at 120 dpi),
    because writing that many vector marks takes minutes.

    Inputs: ``real`` and ``synth`` DataFrames with the same columns. The axes are the real table's numeric
    columns (bool excluded) that the generated table also has, the first 8 of them (the rest are named in a
    note); datetime columns are skipped (noted); columns empty in both tables are dropped (noted).
    ``hue`` (optional) is a column of either kind whose values colour the points; both grids use the same
    hue order (sorted levels of the real table, then extra levels of the generated one) and palette, and
    one legend. Empty hue cells show as "(missing)".

    Drawn: diagonal = per-hue KDE (``sns.kdeplot``, common norm like the blog post's; ``sns.histplot`` for a
    zero-variance column); off-diagonal = scatter (``Axes.scatter``, hue colours). Each
    variable has the same axis limits in both grids (union range of the full tables, +5 %). Tables longer
    than ``max_rows`` are subsampled with ``seed`` (noted on the figure: "subsampled to N of M rows").

    Writes: ``out`` (format from the extension: .png at 120 dpi, .svg, .pdf), atomically. Returns its path.

    Raises: :class:`PlotError` for an unsupported extension, an unknown hue column, a hue with more than
    20 levels, empty tables, or no numeric column with values.
    """
    path = check_out(out)
    with plt.rc_context(_RC):
        pp = _build_pairplot(real, synth, hue=hue, max_rows=max_rows, seed=seed, titles=titles)
        return _save(pp.fig, path, tight=False)  # laid out by hand; 'tight' would cost a second draw


# --------------------------------------------------------------------------------------------------------
# marginals
# --------------------------------------------------------------------------------------------------------


def _column_kind(real: pd.DataFrame, synth: pd.DataFrame, col) -> str:
    """The panel kind of `col` (table.schema.dtype_kind of the real column, else the generated one)."""
    return dtype_kind(real[col] if col in real.columns else synth[col])


def _numeric_values(s: pd.Series, kind: str) -> np.ndarray:
    if kind == "datetime":
        v = _datetime_as_days(s)
    elif kind == "timedelta":
        v = pd.to_timedelta(s, errors="coerce").dt.total_seconds()
    else:
        v = _as_float(s)
    v = v.to_numpy(dtype="float64")
    return v[np.isfinite(v)]


def _draw_numeric_panel(ax, r: np.ndarray, g: np.ndarray, kind: str) -> None:
    both = np.concatenate([r, g])
    if both.size == 0:
        ax.text(0.5, 0.5, "all cells empty", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    lo, hi = float(both.min()), float(both.max())
    if hi > lo:
        edges = np.histogram_bin_edges(both, bins="auto", range=(lo, hi))
        if len(edges) > 51:
            edges = np.linspace(lo, hi, 51)
        elif len(edges) < 6:
            edges = np.linspace(lo, hi, 6)
    else:
        half = max(0.5, abs(lo) * 0.05)
        edges = np.linspace(lo - half, lo + half, 6)
    for vals, color in ((r, REAL_COLOR), (g, SYNTH_COLOR)):
        if vals.size:
            ax.hist(vals, bins=edges, density=True, color=color, alpha=0.45, linewidth=0)
            ax.hist(vals, bins=edges, density=True, histtype="step", color=color, linewidth=0.8)
    ax.set_yticks([])
    if kind == "datetime":
        locator = mdates.AutoDateLocator(maxticks=4)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    else:
        ax.locator_params(axis="x", nbins=4)


def _draw_categorical_panel(ax, r: pd.Series, g: pd.Series) -> None:
    r_counts = r.astype(str).value_counts()
    g_counts = g.astype(str).value_counts()
    if r_counts.sum() + g_counts.sum() == 0:
        ax.text(0.5, 0.5, "all cells empty", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    r_share = r_counts / max(r_counts.sum(), 1)
    g_share = g_counts / max(g_counts.sum(), 1)
    order = (r_share.add(g_share, fill_value=0)).sort_values(ascending=False, kind="stable")
    levels = list(order.index)
    if len(levels) > MAX_CATEGORY_BARS:
        top = levels[:MAX_CATEGORY_BARS]
        rest = levels[MAX_CATEGORY_BARS:]
        r_vals = [r_share.get(lv, 0.0) for lv in top] + [r_share.reindex(rest).fillna(0).sum()]
        g_vals = [g_share.get(lv, 0.0) for lv in top] + [g_share.reindex(rest).fillna(0).sum()]
        labels = [_short(lv, 14) for lv in top] + [f"other ({len(rest)})"]
    else:
        r_vals = [r_share.get(lv, 0.0) for lv in levels]
        g_vals = [g_share.get(lv, 0.0) for lv in levels]
        labels = [_short(lv, 14) for lv in levels]
    x = np.arange(len(labels))
    ax.bar(x - 0.2, r_vals, width=0.4, color=REAL_COLOR, alpha=0.8)
    ax.bar(x + 0.2, g_vals, width=0.4, color=SYNTH_COLOR, alpha=0.8)
    ax.set_xticks(x)
    rot = 0 if len(labels) <= 3 and max(len(s) for s in labels) <= 8 else 60
    ax.set_xticklabels(labels, rotation=rot, ha="right" if rot else "center", fontsize=6)
    ax.set_ylabel("share")


def _build_marginals(real: pd.DataFrame, synth: pd.DataFrame, max_rows: int = 20000, seed: int = 0,
                     labels: tuple[str, str] = ("Real", "Generated"), title: str | None = None) -> Figure:
    _check_tables(real, synth)
    notes: list[str] = []
    real = _subsample(real, max_rows, seed, "Real", notes)
    synth = _subsample(synth, max_rows, seed, "Generated", notes)
    cols = list(real.columns) + [c for c in synth.columns if c not in real.columns]
    if len(cols) > MAX_MARGINAL_PANELS:
        notes.append(f"showing the first {MAX_MARGINAL_PANELS} of {len(cols)} columns")
        cols = cols[:MAX_MARGINAL_PANELS]

    n = len(cols)
    ncols = min(4, n)
    nrows = math.ceil(n / ncols)
    fig = plt.figure(figsize=(3.0 * ncols, 2.5 * nrows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, col in zip(axes, cols, strict=False):
        kind = _column_kind(real, synth, col)
        missing_from = None
        r = real[col] if col in real.columns else pd.Series([np.nan] * len(real), dtype="float64")
        if col not in synth.columns:
            missing_from = "generated"
            g = pd.Series([np.nan] * len(synth), dtype="float64")
        else:
            g = synth[col]
        if col not in real.columns:
            missing_from = "real"
        r_empty = float(_empty_mask(r).mean())
        g_empty = float(_empty_mask(g).mean())
        if kind == "categorical":
            _draw_categorical_panel(ax, r[~_empty_mask(r)], g[~_empty_mask(g)])
        else:
            _draw_numeric_panel(ax, _numeric_values(r, kind), _numeric_values(g, kind), kind)
        panel_title = f"{_short(col, 30)}\nempty: {100 * r_empty:.1f}% / {100 * g_empty:.1f}%"
        if missing_from:
            panel_title += f" (not in {missing_from})"
        ax.set_title(panel_title, fontsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.legend(
        handles=[
            Patch(color=REAL_COLOR, alpha=0.7, label=labels[0]),
            Patch(color=SYNTH_COLOR, alpha=0.7, label=labels[1]),
        ],
        # with a title on top, the legend goes below the panels: both "outside upper" would overlap
        loc="outside lower center" if title else "outside upper center",
        ncols=2,
        frameon=False,
    )
    if title:
        fig.suptitle(title, fontsize=9)
    _add_notes(fig, notes)
    return fig


def marginals(
    real: pd.DataFrame, synth: pd.DataFrame, out: str | Path, max_rows: int = 20000, seed: int = 0
) -> Path:
    """Draw one panel per column comparing the real and the generated marginal distribution.

    Inputs: ``real`` and ``synth`` DataFrames (columns of the real table first, then any the generated one
    adds; a column missing from one table counts as all-empty there). Any dtype mix is fine, with NaN,
    constant and all-empty columns.

    Drawn, per column: numeric (and datetime, timedelta) -> overlaid density histograms of real vs
    generated on common bins over the union range; categorical / string / boolean -> side-by-side bars of
    each level's share among non-empty cells (top 20 levels by combined share, the rest as "other (n)").
    Each panel's title gives the empty-cell share (NaN, None, NaT or blank string), real / generated, e.g.
    ``empty: 10.0% / 9.6%``. Tables over ``max_rows`` rows are subsampled with ``seed`` (noted). The per-column
    view matches the "shape" score of ``tabdiff evaluate``.

    Writes: ``out`` (.png at 120 dpi, .svg or .pdf), atomically. Returns its path.
    Raises: :class:`PlotError` for an unsupported extension, or an empty table.
    """
    path = check_out(out)
    with plt.rc_context(_RC):
        return _save(_build_marginals(real, synth, max_rows=max_rows, seed=seed), path)


def posterior_plot(conditional: pd.DataFrame, unconditional: pd.DataFrame, columns: Sequence[str],
                   out: str | Path, title: str | None = None) -> Path:
    """The answer of `tabdiff infer`: each queried column's conditional marginal (given the observed values)
    beside its unconditional one, one panel per column (histograms or bars, as `marginals`).

    conditional / unconditional: generated rows with and without the conditions. Writes `out` atomically.
    Raises: PlotError for an unknown column or an unsupported extension.
    """
    path = check_out(out)
    missing = [c for c in columns if c not in conditional.columns]
    if missing:
        raise PlotError(f"column(s) {', '.join(map(repr, missing))} not in the table")
    cols = list(columns)
    with plt.rc_context(_RC):
        fig = _build_marginals(unconditional[cols], conditional[cols],
                               labels=("model, unconditional", "model, given the condition"),
                               title=f"given {title}" if title else None)
        return _save(fig, path)


# --------------------------------------------------------------------------------------------------------
# correlation difference
# --------------------------------------------------------------------------------------------------------


def _correlation_columns(real: pd.DataFrame, synth: pd.DataFrame) -> list:
    return [c for c in real.columns if _is_numeric(real[c]) and c in synth.columns]


def _build_correlation(
    real: pd.DataFrame, synth: pd.DataFrame, max_rows: int = 20000, seed: int = 0
) -> Figure:
    _check_tables(real, synth)
    notes: list[str] = []
    real = _subsample(real, max_rows, seed, "Real", notes)
    synth = _subsample(synth, max_rows, seed, "Generated", notes)
    cols = _correlation_columns(real, synth)
    skipped = [c for c in real.columns if c not in cols]
    if skipped:
        notes.append(f"not numeric in both tables, left out: {_short_list(skipped, 10)}")

    if len(cols) < 2:
        fig = plt.figure(figsize=(5, 2.5), layout="constrained")
        ax = fig.subplots()
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            f"correlation difference needs at least 2 numeric columns; found {len(cols)}",
            ha="center",
            va="center",
            wrap=True,
            transform=ax.transAxes,
        )
        _add_notes(fig, notes)
        return fig

    r = pd.DataFrame({c: _as_float(real[c]).to_numpy() for c in cols})
    g = pd.DataFrame({c: _as_float(synth[c]).to_numpy() for c in cols})
    with np.errstate(all="ignore"):
        diff = r.corr(method="pearson") - g.corr(method="pearson")
    values = diff.to_numpy()
    iu = np.triu_indices(len(cols), k=1)
    pairs = values[iu]
    finite = pairs[np.isfinite(pairs)]
    undefined = int(pairs.size - finite.size)
    if undefined:
        notes.append(
            f"{undefined} of {pairs.size} pairs undefined (a constant or empty column in a table), shown grey"
        )
    mad = float(np.abs(finite).mean()) if finite.size else float("nan")

    k = len(cols)
    side = min(max(4.5, 0.55 * k + 2.0), 24.0)
    fig = plt.figure(figsize=(side + 1.0, side), layout="constrained")
    ax = fig.subplots()
    labels = [_short(c, 20) for c in cols]
    annotate = k <= ANNOTATE_MAX_COLUMNS
    sns.heatmap(
        pd.DataFrame(values, index=labels, columns=labels),
        ax=ax,
        cmap="RdBu_r",
        vmin=-1,
        vmax=1,  # symmetric limits: RdBu_r is centred on 0 (seaborn's center=0 would rebuild the cmap)
        square=True,
        mask=~np.isfinite(values),
        annot=annotate,
        fmt=".2f",
        annot_kws={"fontsize": 6 if k > 8 else 7},
        linewidths=0.5 if k <= 40 else 0,
        linecolor="white",
        cbar_kws={"label": "corr(real) \u2212 corr(generated)", "shrink": 0.8},
    )
    ax.set_facecolor("0.9")  # masked (undefined) cells
    ax.tick_params(axis="x", labelrotation=60)
    ax.tick_params(axis="y", labelrotation=0)
    mad_text = f"{mad:.3f}" if np.isfinite(mad) else "n/a"
    ax.set_title(
        f"Pearson correlation, real \u2212 generated (mean |\u0394| = {mad_text} over {finite.size} pairs)",
        fontsize=9,
    )
    _add_notes(fig, notes)
    return fig


def correlation_difference(
    real: pd.DataFrame, synth: pd.DataFrame, out: str | Path, max_rows: int = 20000, seed: int = 0
) -> Path:
    """Draw a heatmap of the Pearson correlation matrix of the real table minus that of the generated one.

    Inputs: ``real`` and ``synth`` DataFrames; the columns used are the real table's numeric (non-bool)
    columns that the generated table also has (others are named in a note). Pairs whose correlation is
    undefined in one table (a constant or empty column) are left blank and counted in a note.

    Drawn: a k x k heatmap, colormap centred on 0 (vmin=-1, vmax=1), cells annotated when k <= 15, title
    with the mean absolute difference over the column pairs (the "trend" score of ``tabdiff evaluate`` for
    numeric pairs). With fewer than 2 numeric columns the figure is a panel saying so (no error, so
    ``--kind all`` still works on such tables). Tables over ``max_rows`` rows are subsampled with ``seed``.
    Not in the blog post, which only shows pairplots.

    Writes: ``out`` (.png at 120 dpi, .svg or .pdf), atomically. Returns its path.
    Raises: :class:`PlotError` for an unsupported extension, or an empty table.
    """
    path = check_out(out)
    with plt.rc_context(_RC):
        return _save(_build_correlation(real, synth, max_rows=max_rows, seed=seed), path)


# --------------------------------------------------------------------------------------------------------
# tables without numbers: level shares and a contingency view
# --------------------------------------------------------------------------------------------------------


def _has_numeric(real: pd.DataFrame, synth: pd.DataFrame, hue: str | None) -> bool:
    """True when the pairplot has an axis: a numeric column of the real table, in both, with a value."""
    try:
        _pairplot_columns(real, synth, hue)
    except PlotError:
        return False
    return True


def _joint_shares(df: pd.DataFrame, a: str, b: str, rows: list[str], cols: list[str]) -> np.ndarray:
    """(len(rows), len(cols)) share of the rows of `df` holding each (a, b) level pair (empty cells as
    "(missing)"); levels outside `rows`/`cols` count in no cell."""
    table = pd.crosstab(_hue_labels(df[a]), _hue_labels(df[b])).reindex(index=rows, columns=cols, fill_value=0)
    return table.to_numpy(dtype=float) / max(len(df), 1)


def _build_category_view(real: pd.DataFrame, synth: pd.DataFrame, max_rows: int = 20000, seed: int = 0) -> Figure:
    _check_tables(real, synth)
    notes: list[str] = []
    real = _subsample(real, max_rows, seed, "Real", notes)
    synth = _subsample(synth, max_rows, seed, "Generated", notes)
    cols = [c for c in real.columns if c in synth.columns][:MAX_PAIRPLOT_COLUMNS]
    pair = [c for c in cols if _is_categorical(real[c])][:2]
    n = len(cols)
    ncols = min(4, n)
    nrows = math.ceil(n / ncols) + (1 if len(pair) == 2 else 0)
    fig = plt.figure(figsize=(3.0 * max(ncols, 2), 2.6 * nrows + 0.4), layout="constrained")
    gs = fig.add_gridspec(nrows, max(ncols, 2))
    for i, col in enumerate(cols):
        ax = fig.add_subplot(gs[i // ncols, i % ncols])
        r, g = real[col], synth[col]
        kind = _column_kind(real, synth, col)
        if kind == "categorical":
            _draw_categorical_panel(ax, r[~_empty_mask(r)], g[~_empty_mask(g)])
        else:
            _draw_numeric_panel(ax, _numeric_values(r, kind), _numeric_values(g, kind), kind)
        ax.set_title(f"{_short(col, 30)}\nempty: {100 * float(_empty_mask(r).mean()):.1f}% / "
                     f"{100 * float(_empty_mask(g).mean()):.1f}%", fontsize=8)
    if len(pair) == 2:
        a, b = pair
        rows = _hue_order(_hue_labels(real[a]), _hue_labels(synth[a]))[:MAX_CATEGORY_BARS]
        levels = _hue_order(_hue_labels(real[b]), _hue_labels(synth[b]))[:MAX_CATEGORY_BARS]
        shares = [_joint_shares(df, a, b, rows, levels) for df in (real, synth)]
        vmax = max(float(s.max()) for s in shares) or 1.0
        half = max(ncols, 2) // 2
        for k, (title, share) in enumerate(zip(("Real", "Generated"), shares, strict=True)):
            ax = fig.add_subplot(gs[nrows - 1, k * half:(k + 1) * half])
            image = ax.imshow(share, cmap="Blues", vmin=0, vmax=vmax, aspect="auto")
            ax.set_xticks(range(len(levels)), [_short(v, 10) for v in levels], rotation=60, ha="right", fontsize=6)
            ax.set_yticks(range(len(rows)), [_short(v, 10) for v in rows], fontsize=6)
            ax.set_xlabel(_short(b, 24))
            ax.set_ylabel(_short(a, 24))
            ax.set_title(f"{title}: share of rows per pair", fontsize=8)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.legend(handles=[Patch(color=REAL_COLOR, alpha=0.7, label="Real"),
                        Patch(color=SYNTH_COLOR, alpha=0.7, label="Generated")],
               loc="outside upper center", ncols=2, frameon=False)
    _add_notes(fig, notes)
    return fig


def category_view(real: pd.DataFrame, synth: pd.DataFrame, out: str | Path, max_rows: int = 20000,
                  seed: int = 0) -> Path:
    """The figure of a table without numeric columns (what `tabdiff plot` draws instead of the pairplot).

    Drawn: one panel per shared column (the first 8): side-by-side bars of each level's share among the
    non-empty cells, real vs generated; with two or more categorical columns, a contingency view of the first
    two: two heatmaps (real, generated; one colour scale) of the share of rows holding each level pair.
    Writes `out` (.png/.svg/.pdf) atomically; returns its path. Raises PlotError as marginals().
    """
    path = check_out(out)
    with plt.rc_context(_RC):
        return _save(_build_category_view(real, synth, max_rows=max_rows, seed=seed), path)


# --------------------------------------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------------------------------------


def plot_tables(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    out: str | Path,
    kind: str = "pairplot",
    hue: str | None = None,
    seed: int = 0,
) -> list[Path]:
    """The figures behind ``tabdiff plot REAL GEN --out PATH --hue COL --kind ...``.

    Inputs: the real and the generated DataFrame; ``kind`` one of "pairplot", "marginals", "correlation",
    "all"; ``hue`` the pairplot's colour column: ``None`` picks :func:`default_hue` of the real table (no hue
    when it finds none), ``""`` or ``"none"`` (when no column has that name) means no hue; ``seed`` for
    subsampling.

    Writes: for a single kind, ``out`` itself; for "all", ``<stem>_pairplot<ext>``, ``<stem>_marginals<ext>``
    and ``<stem>_correlation<ext>`` next to ``out``. Each is written atomically. Returns the paths written,
    in that order. Source: the pairplot is the blog post's figure (see :func:`pairplot_side_by_side`).

    Raises: :class:`PlotError` for an unknown kind, an unsupported extension, an unknown hue column, or a
    table the pairplot cannot draw (checked before any file is written when kind is "all").
    """
    if kind not in KINDS:
        raise PlotError(f"unknown plot kind '{kind}'; use one of {', '.join(KINDS)}")
    path = check_out(out)
    _check_tables(real, synth)
    if hue is not None and hue not in real.columns and str(hue).strip().lower() in ("", "none"):
        hue = None
    elif hue is None and kind in ("pairplot", "all"):
        hue = default_hue(real)
        if hue is not None and hue not in synth.columns:
            hue = None
    else:
        _check_hue(real, synth, hue)

    if kind in ("pairplot", "all") and not _has_numeric(real, synth, hue):
        # a table without numbers is a normal table: show its level shares (and two columns' joint shares)
        if kind == "pairplot":
            return [category_view(real, synth, path, seed=seed)]
        targets = {name: path.with_name(f"{path.stem}_{name}{path.suffix}") for name in ("categories", "marginals")}
        return [category_view(real, synth, targets["categories"], seed=seed),
                marginals(real, synth, targets["marginals"], seed=seed)]
    if kind == "pairplot":
        return [pairplot_side_by_side(real, synth, path, hue=hue, seed=seed)]
    if kind == "marginals":
        return [marginals(real, synth, path, seed=seed)]
    if kind == "correlation":
        return [correlation_difference(real, synth, path, seed=seed)]

    _pairplot_columns(real, synth, hue)  # fail before writing anything
    ext = path.suffix
    targets = {
        name: path.with_name(f"{path.stem}_{name}{ext}") for name in ("pairplot", "marginals", "correlation")
    }
    return [
        pairplot_side_by_side(real, synth, targets["pairplot"], hue=hue, seed=seed),
        marginals(real, synth, targets["marginals"], seed=seed),
        correlation_difference(real, synth, targets["correlation"], seed=seed),
    ]


# --------------------------------------------------------------------------------------------------------
# figures as SVG text, for the HTML report (evaluation/report.py)
# --------------------------------------------------------------------------------------------------------


def _svg_text(fig: Figure) -> str:
    """``fig`` as a standalone SVG document (text drawn as paths, so no font is needed; no date), closed."""
    import io

    buffer = io.StringIO()
    try:
        fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.15, metadata={"Date": None},
                    dpi=VECTOR_RASTER_DPI)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def marginals_svg(real: pd.DataFrame, synth: pd.DataFrame, max_rows: int = 20000, seed: int = 0) -> str:
    """The figure of :func:`marginals` (one panel per column, real vs generated) as SVG text, not a file.
    Raises: :class:`PlotError` for an empty table or tables that share no column."""
    with plt.rc_context(_RC):
        return _svg_text(_build_marginals(real, synth, max_rows=max_rows, seed=seed))


def correlation_svg(real: pd.DataFrame, synth: pd.DataFrame, max_rows: int = 20000, seed: int = 0) -> str:
    """The figure of :func:`correlation_difference` (heatmap of corr(real) − corr(generated)) as SVG text.
    Raises: :class:`PlotError` for an empty table or tables that share no column."""
    with plt.rc_context(_RC):
        return _svg_text(_build_correlation(real, synth, max_rows=max_rows, seed=seed))


def loss_curve_svg(losses: Sequence[float], xlabel: str = "logged point", title: str | None = None) -> str:
    """A training curve as SVG text: ``losses`` (the mean training loss at each logged point, in order)
    against their index (1, 2, …). Raises: PlotError when empty."""
    values = np.asarray([float(v) for v in losses], dtype=float)
    if values.size == 0:
        raise PlotError("the training curve has no logged loss")
    with plt.rc_context(_RC):
        fig = plt.figure(figsize=(6.0, 2.6), layout="constrained")
        ax = fig.subplots()
        ax.plot(np.arange(1, values.size + 1), values, color=REAL_COLOR, linewidth=1.2)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("training loss")
        ax.grid(True, color="0.9", linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if title:
            ax.set_title(title, fontsize=8)
        return _svg_text(fig)


# --------------------------------------------------------------------------------------------------------
# calibration of conditional answers
# --------------------------------------------------------------------------------------------------------


def _build_calibration(result: dict) -> Figure:
    """Left: the coverage of the central credible intervals against their level, per numeric column (the
    diagonal is calibrated; the band is ±2 binomial standard deviations of the pooled cells). Right: the
    reliability diagram of the categorical columns (accuracy against confidence per bin; the diagonal is
    calibrated). `result`: conditioning.calibration_check's dict."""
    columns = result["columns"]
    numeric = {c: v for c, v in columns.items() if v["kind"] == "numeric"}
    categorical = {c: v for c, v in columns.items() if v["kind"] == "categorical"}
    fig = plt.figure(figsize=(8.0, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, linestyle="--")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if numeric:
        cells = sum(v["cells"] for v in numeric.values())
        levels = np.array(sorted(float(k) for k in next(iter(numeric.values()))["coverage"]))
        band = 2 * np.sqrt(levels * (1 - levels) / cells)
        left.fill_between(levels, levels - band, levels + band, color="0.9", linewidth=0)
        for i, (col, v) in enumerate(list(numeric.items())[:10]):
            got = [v["coverage"][str(level)] for level in levels]
            left.plot(levels, got, marker="o", markersize=2.5, linewidth=1, color=f"C{i}", label=_short(col, 18))
        left.legend(fontsize=6, frameon=False, loc="upper left")
    else:
        left.text(0.5, 0.5, "no numeric column hidden", ha="center", va="center", color="0.4")
    left.set_xlabel("credible interval level")
    left.set_ylabel("share of true values inside")
    left.set_title("numeric cells: interval coverage")
    if categorical:
        for i, (col, v) in enumerate(list(categorical.items())[:10]):
            conf = [b["confidence"] for b in v["bins"]]
            acc = [b["accuracy"] for b in v["bins"]]
            right.plot(conf, acc, marker="o", markersize=2.5, linewidth=1, color=f"C{i}",
                       label=f"{_short(col, 14)} (ECE {v['ece']:.3f})")
        right.legend(fontsize=6, frameon=False, loc="upper left")
    else:
        right.text(0.5, 0.5, "no categorical column hidden", ha="center", va="center", color="0.4")
    right.set_xlabel("probability of the most likely level")
    right.set_ylabel("share right")
    right.set_title("categorical cells: reliability")
    fig.suptitle(f"{result['hidden_cells']} hidden cells in {result['rows']} held-out rows, "
                 f"{result['draws']} draws each", fontsize=8)
    return fig


def calibration_plot(result: dict, out: str | Path) -> Path:
    """Draw a calibration check (conditioning.calibration_check's dict) to `out` (.png, .svg or .pdf),
    atomically. Raises: PlotError for an unsupported extension."""
    path = check_out(out)
    with plt.rc_context(_RC):
        return _save(_build_calibration(result), path)


def calibration_svg(result: dict) -> str:
    """The calibration figure as SVG text (for the HTML report)."""
    with plt.rc_context(_RC):
        return _svg_text(_build_calibration(result))
