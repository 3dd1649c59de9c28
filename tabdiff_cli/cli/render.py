"""Drawing results for a terminal with rich: tables, previews, summaries, notes. No computing of results:
each function turns what the library returned into renderables."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tabdiff_cli.cli.app import console, err_console


@contextmanager
def fit_progress(quiet: bool) -> Iterator[tuple[Callable | None, Callable | None]]:
    """(progress(step, total, loss), phase(text)) callbacks drawing fit's progress bar; (None, None) if quiet."""
    if quiet:
        yield None, None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]fit[/]"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                  TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TextColumn("left"),
                  TimeRemainingColumn(), console=console, transient=False) as bar:
        task = bar.add_task("fit", total=None, loss="…")

        def progress(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, total=total, loss=f"{loss:.4f}")

        def phase(text: str) -> None:
            bar.console.print(f"{text}…", highlight=False)  # work after the bar is full: say why it waits

        yield progress, phase


@contextmanager
def sample_progress(quiet: bool, total: int) -> Iterator[Callable[[int, float], None]]:
    """update(rows written, seconds) drawing sample's progress bar with its rate (a no-op if quiet)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]sample[/]"), BarColumn(), TextColumn("{task.completed}/{task.total} rows"),
                  TextColumn("{task.fields[rate]} rows/s"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console, disable=quiet) as bar:
        task = bar.add_task("sample", total=total, rate="…")
        yield lambda rows, seconds: bar.update(task, completed=rows, rate=f"{rows / max(seconds, 1e-9):,.0f}")


@contextmanager
def draws_progress(quiet: bool, draws: int) -> Iterator[Callable[[int, int], None]]:
    """progress(done, total) drawing impute's bar over draws. Transient: an error at the first draw should
    not follow a half-drawn bar; the summary table reports the finished work."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]impute[/]"), BarColumn(), TextColumn("{task.completed}/{task.total} draws"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=quiet,
                  transient=True) as bar:
        task = bar.add_task("impute", total=draws)
        yield lambda done, total: bar.update(task, completed=done)


def same_decimals(values: list[float | None], digits: int = 4) -> list[str]:
    """Numbers of one table row as text with one number of decimals, enough for `digits` significant
    digits of the largest (at most 6): 1.9 and 2 print as 1.900 and 2.000, not 1.9 and 2. None → ""."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    decimals = min(6, max(0, digits - 1 - math.floor(math.log10(max(finite))))) if finite else 0
    return ["" if v is None else f"{v:.{decimals}f}" for v in values]


def three_figures(v: float) -> str:
    """v to three significant figures without an exponent (0.0574, 0.214, 12.3, 1,235)."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{float(f'{v:.3g}'):g}"


def schema_table(schema) -> Table:
    """The column kinds fit inferred: kind, missing share, distinct values and range per column."""
    table = Table(title="Schema", show_lines=False)
    for col in ("column", "kind", "missing %", "distinct", "range"):
        table.add_column(col, overflow="fold")
    for c in schema.columns:
        if c.minimum is not None and c.kind == "datetime":
            import pandas as pd

            rng = f"{pd.Timestamp(c.minimum, unit='s')} … {pd.Timestamp(c.maximum, unit='s')}"
        elif c.minimum is not None:
            rng = f"{c.minimum:g} … {c.maximum:g}"
        elif c.kind == "constant":
            rng = f"= {c.value!r}"
        else:
            rng = ""
        table.add_row(c.name, c.kind, f"{100 * c.missing_rate:.1f}", str(c.n_distinct), rng)
    return table


def preview(df, rows: int = 5, total: int | None = None, width: int | None = None) -> Table:
    """The first rows of df as a rich Table with as many whole columns as fit `width` characters (default:
    the console's), so that a wide table is cut at a column, not folded into unreadable cells; the title
    says how many columns are shown."""
    width = console.width if width is None else width
    head = df.head(rows)
    cells = {col: ["" if v is None or v != v else str(v) for v in head[col].tolist()] for col in df.columns}
    shown, used = [], 1  # the table's left border
    for col in df.columns:
        # a header may wrap at its spaces, a cell may not; + padding and the right border
        need = max([*map(len, str(col).split()), *map(len, cells[col])]) + 3
        if shown and used + need > width:
            break
        shown.append(col)
        used += need
    title = f"first {len(head)} of {total if total is not None else len(df)} rows"
    if len(shown) < df.shape[1]:
        title += f", {len(shown)} of {df.shape[1]} columns (the file has all)"
    table = Table(title=title)
    for col in shown:
        table.add_column(str(col), overflow="fold")
    for i in range(len(head)):
        table.add_row(*[cells[col][i] for col in shown])
    return table


def fit_summary(synth, seconds: float, model_path) -> Table:
    """What fit trained: sizes, steps, loss, conditioning, spike levels, calibration, time, device, seed."""
    m = synth.meta
    calibration = m.get("calibration")
    rows = (("rows", m["n_rows"]), ("columns", m["n_columns"]), ("encoded features", m["n_features"]),
            ("epochs", f"{m['epochs']:g}"), ("steps", m["steps"]), ("final loss", f"{m['final_loss']:.5f}"),
            ("conditioning", "conditional network (--given/impute read the given cells)"
             if synth.config.model.conditional else "inpainting"),
            ("spike levels", ", ".join(f"{c} ({len(v)})" for c, v in synth.encoder.spikes.items()) or "none"),
            ("level calibration", f"{calibration['rows']:,} rows, {calibration['seconds']:.1f} s"
             if calibration else "off"),
            ("seconds", f"{seconds:.1f}"), ("device", m["device"]), ("seed", m["seed"]),
            ("checkpoint", str(model_path)))
    summary = Table(title="Trained", show_header=False)
    for k, v in rows:
        summary.add_row(k, str(v))
    return summary


def notes(items: list[tuple[str, str]], stderr: bool = False) -> None:
    """Print (level, text) notes: level "note" in yellow, "warning" in yellow with its word (on stderr when
    `stderr`)."""
    from rich.markup import escape

    out = err_console if stderr else console
    for level, text in items:
        out.print(f"[yellow]{level}:[/] {escape(text)}", highlight=False)


def impute_table(summary: dict[str, Any], draws: int, seed: int) -> Table:
    """conditioning.impute_summary as a table titled with the counts of cells and rows filled."""
    cells, rows, total = summary["empty_cells"], summary["rows_with_holes"], summary["n_rows"]
    table = Table(title=f"imputed {cells} empty cell{'s' if cells > 1 else ''} in {rows} of {total} "
                        f"row{'s' if total > 1 else ''} ({draws} draw{'s' if draws > 1 else ''}, seed {seed})")
    for col in ("column", "empty cells", "spread across draws"):
        table.add_column(col)
    for s in summary["columns"]:
        spread = s["spread"]
        if spread is None:
            text = "– (one draw; --draws K for a spread)"
        elif "std" in spread:
            text = f"mean std {three_figures(spread['std'])}"
        else:
            text = f"{100 * spread['agree']:.0f}% agree with draw 0"
        table.add_row(s["column"], str(s["empty"]), text)
    return table


def beyond_range_note(found: list[dict[str, Any]]) -> None:
    """The note for observed cells outside the training range (conditioning.beyond_range)."""
    if not found:
        return
    parts = [f"'{f['column']}' {f['count']} (e.g. {f['example']:g}; trained on {f['minimum']:g}–{f['maximum']:g})"
             for f in found]
    console.print("[yellow]note:[/] observed cells outside the training range are kept as given, but the "
                  "model reads them as at most one range width past it: " + "; ".join(parts), highlight=False)


def posterior_table(column: str, post: dict[str, Any], title: str) -> Table:
    """One queried column's posterior: level probabilities, or mean, sd and quantiles of a number."""
    table = Table(title=f"{column} | {title}")
    if "probabilities" in post:
        table.add_column("value")
        table.add_column("probability", justify="right")
        for value, p in post["probabilities"].items():
            table.add_row(value, f"{p:.3f}")
        return table
    for name in ("mean", "sd", "median", "50% credible interval", "90% credible interval"):
        table.add_column(name, justify="right")
    iv = post.get("intervals", {})
    lo50, hi50 = iv.get("0.5", (None, None))
    lo90, hi90 = iv.get("0.9", (None, None))
    mean, sd, median, lo50, hi50, lo90, hi90 = same_decimals([post["mean"], post["std"], post["quantiles"].get("0.5"),
                                                              lo50, hi50, lo90, hi90])
    table.add_row(mean, sd, median, f"{lo50} – {hi50}" if lo50 else "", f"{lo90} – {hi90}" if lo90 else "")
    return table


def calibration_table(result: dict[str, Any], seed: int) -> Table:
    """A calibration check (conditioning.calibration_check): per hidden column its coverage at 50 % and 90 %
    (categorical: of the credible sets) and, for categories, accuracy and expected calibration error; the
    last row pools the cells, with the spread a calibrated model would show."""
    o = result["overall"]
    table = Table(title=f"calibration: {result['hidden_cells']} hidden cells in {result['rows']} held-out rows, "
                        f"{result['draws']} draws each (seed {seed})")
    for name in ("column", "kind", "cells", "50% covers", "90% covers", "accuracy", "ECE"):
        table.add_column(name, justify="left" if name in ("column", "kind") else "right")
    for col, c in result["columns"].items():
        cov = c["coverage"]
        table.add_row(col, c["kind"], str(c["cells"]), f"{cov['0.5']:.1%}", f"{cov['0.9']:.1%}",
                      f"{c['accuracy']:.3f}" if "accuracy" in c else "", f"{c['ece']:.3f}" if "ece" in c else "")
    table.add_row("all", "", str(o["cells"]), f"{o['coverage_50']:.1%} ± {o['spread_50']:.1%}",
                  f"{o['coverage_90']:.1%} ± {o['spread_90']:.1%}", "", f"{o['ece']:.3f}" if "ece" in o else "",
                  style="bold")
    return table


def _num(value: float | None, fmt: str = "{:.4f}") -> str:
    return "—" if value is None else fmt.format(value)


def _summary_rows(report: dict) -> list[tuple[str, str | None, str, str]]:
    """(label, key in report["splits"], value, ideal) for each headline score of an evaluation report."""
    shape, trend, c2st, priv = report["shape"], report["trend"], report["c2st"], report["privacy"]
    rows = [("shape (KS / TV complement)", "shape", _num(shape["mean"]), "1"),
            ("  shape error %", None, _num(shape["shape_error_pct"], "{:.2f}"), "0"),
            ("trend (correlation / contingency)", "trend", _num(trend["mean"]), "1"),
            ("  trend error %", None, _num(trend["trend_error_pct"], "{:.2f}"), "0"),
            ("C2ST, logistic regression", "c2st", _num(c2st["logistic_regression"]), "1"),
            ("C2ST, gradient boosting", "c2st", _num(c2st["gradient_boosting"]), "1"),
            ("C2ST, XGBoost", "c2st", _num(c2st.get("xgboost")) if c2st.get("xgboost") is not None
             else "not run", "1"),
            ("alpha-precision", "alpha_precision", _num(report["alpha_precision"]), "1"),
            ("beta-recall", "beta_recall", _num(report["beta_recall"]), "1"),
            ("exact copies of REAL rows", "exact_copy_share", _num(priv["exact_copy_share"], "{:.2%}"), "0 %")]
    if priv.get("test_exact_copy_share") is not None:
        rows.append(("  (TEST rows that equal a REAL row)", None, _num(priv["test_exact_copy_share"], "{:.2%}"), ""))
    rows.append(("DCR median, GEN → REAL", "dcr_synth_median", _num(priv["dcr_synth_median"]), ""))
    if priv.get("dcr_test_median") is not None:
        rows.append(("DCR median, TEST → REAL", None, _num(priv["dcr_test_median"]), ""))
    rows.append(("DCR ratio", "dcr_ratio", _num(priv.get("dcr_ratio"), "{:.3f}"), "≈ 1"))
    if priv.get("dcr_share") is not None:
        rows.append(("DCR share", "dcr_share", _num(priv["dcr_share"], "{:.3f}"),
                     _num(priv["dcr_share_ideal"], "{:.3f}")))
    if priv.get("dcr_score") is not None:
        rows.append(("DCR score, equal train / holdout splits", "dcr_score", _num(priv["dcr_score"], "{:.3f}"),
                     "0.5"))
    return rows


def _evaluation_summary(report: dict) -> Table:
    """The headline scores of an evaluation report with their ideal values and the tables each compares."""
    summary = Table(title="tabdiff evaluate", title_justify="left")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    summary.add_column("ideal", justify="right")
    summary.add_column("compares", style="dim", overflow="fold")
    splits = report.get("splits", {})
    for label, key, value, ideal in _summary_rows(report):
        summary.add_row(label, value, ideal, splits.get(key, "") if key else "")
    return summary


def evaluation_report(report: dict) -> Group:
    """A report from evaluation.metrics.evaluate_tables (or the same dict read back from JSON) for a
    terminal: a summary table (score, ideal), the TSTR table when present, the worst columns and pairs, and
    the warnings."""

    parts: list[Any] = [_evaluation_summary(report)]

    tstr = report.get("tstr")
    if tstr and tstr.get("train_real"):
        table = Table(
            title=f"TSTR: {tstr['task']} of '{tstr['target']}' ({tstr['model']})", title_justify="left"
        )
        table.add_column("score")
        table.add_column("train on REAL", justify="right")
        table.add_column("train on GEN", justify="right")
        for key in tstr["train_real"]:
            table.add_row(key, _num(tstr["train_real"][key]), _num(tstr["train_synth"].get(key)))
        parts.append(table)

    for title, rows, key in (
        ("worst columns (shape)", report["worst_columns"], "column"),
        ("worst pairs (trend)", report["worst_pairs"], "columns"),
    ):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("column" if key == "column" else "columns")
        table.add_column("metric")
        table.add_column("score", justify="right")
        for row in rows:
            name = row[key] if key == "column" else " × ".join(row[key])
            table.add_row(name, row["metric"], _num(row["score"]))
        parts.append(table)

    for note in report.get("warnings", []):
        parts.append(Text(f"warning: {note}", style="yellow"))
    return Group(*parts)




def report_written(report: dict, out) -> str:
    """The line `tabdiff report` prints: the file and its headline scores (the detection judge named)."""
    from tabdiff_cli.evaluation.report import detection_judge

    c2st, priv = report["c2st"], report["privacy"]
    parts = [f"shape {_num(report['shape']['mean'], '{:.3f}')}", f"trend {_num(report['trend']['mean'], '{:.3f}')}"]
    judge = detection_judge(c2st)
    if judge:
        parts.append(f"detection ({judge.replace('_', ' ')}) {_num(c2st[judge], '{:.3f}')}")
    if priv.get("dcr_score") is not None:
        parts.append(f"DCR score {_num(priv['dcr_score'], '{:.3f}')} (ideal 0.5)")
    return f"wrote {out}: " + " · ".join(parts)
