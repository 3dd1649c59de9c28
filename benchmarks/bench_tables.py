"""Real tables with the default config (`make bench-tables`): fit/sample seconds and fidelity per table.

    python -m benchmarks.bench_tables                                # every table, uncapped
    python -m benchmarks.bench_tables --tables adult                 # re-measure one table, keep the others
    python -m benchmarks.bench_tables --max-time 60                  # the others capped at 60 s (Adult not)

For each table of the data folder (--data-dir, default ../shared/data; or those named with --tables): fit
tabdiff's default config (optionally capped with --max-time seconds, reported), sample as many rows as the
table has, and report fit and sample seconds, shape and trend error % (tabdiff_cli.evaluate_tables against the
same table), the generated empty-cell rate per column next to the real one (max absolute difference in
percentage points), and whether every column's dtype matches the input. Each table's row is kept in
benchmarks/results/tables/<table>.json, and benchmarks/RESULTS_tables.md is rebuilt from all of them, so
`--tables adult` re-measures one table and keeps the others (each row says when and with which cap it was
measured).

TIME PLAN on the reference machine (2 cores shared with other jobs), from the seconds in RESULTS_tables.md
and each table's default steps (200 epochs of 1,024-row batches within [1,000, 8,000]): uncapped, about 40
minutes (Adult 6,400 steps ~10 min fit and sampling, Beijing PM2.5 8,000 steps ~9 min, Default credit ~6 min,
California housing ~4 min, MAGIC and Online shoppers ~3 min each, Abalone ~20 s); with --max-time 60 (Adult
still uncapped), about 22 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import (
    BENCH_DIR,
    REPO,
    RESULTS_DIR,
    add_data_dir,
    command_line,
    current_command,
    environment,
    write_report,
)

TABLES = ["adult", "default_credit", "online_shoppers", "magic", "beijing_pm25", "abalone", "california_housing"]


def run_table(name: str, data_dir: Path, max_time: float | None, seed: int) -> dict:
    """Fit, sample and evaluate one table (data_dir/<name>.csv); returns the row of the results table."""
    from tabdiff_cli import DiffusionSynthesizer, evaluate_tables, load_config, read_table

    df = read_table(data_dir / f"{name}.csv")
    cfg = load_config(None)
    cfg.training.max_time = max_time
    t = time.perf_counter()
    synth = DiffusionSynthesizer(cfg).fit(df, seed=seed)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    gen = synth.sample(len(df), seed=seed)
    sample_s = time.perf_counter() - t
    learned = [c.name for c in synth.schema.columns if c.kind not in ("id",)]
    disc = [c.name for c in synth.schema.columns if c.kind in ("categorical", "boolean")]
    rep = evaluate_tables(df[learned], gen[learned], discrete_columns=disc, seed=0, max_rows=10000)
    gaps = {c: (df[c].isna().mean() * 100, gen[c].isna().mean() * 100) for c in df.columns}
    worst = max(gaps, key=lambda c: abs(gaps[c][0] - gaps[c][1]))
    bad_dtypes = [c for c in df.columns if str(df[c].dtype) != str(gen[c].dtype)]
    bad_ints = []
    for spec in synth.schema.columns:
        if spec.kind == "integer":
            real_v, gen_v = df[spec.name].dropna(), gen[spec.name].dropna().astype(float)
            if not ((gen_v == gen_v.round()).all() and gen_v.min() >= real_v.min() and gen_v.max() <= real_v.max()):
                bad_ints.append(spec.name)
    return dict(table=name, measured=time.strftime("%Y-%m-%d %H:%M"), rows=len(df), steps=synth.meta["steps"],
                fit_s=fit_s, sample_s=sample_s,
                shape=rep["shape"]["shape_error_pct"], trend=rep["trend"]["trend_error_pct"],
                c2st_lr=rep["c2st"]["logistic_regression"], missing_pp=abs(gaps[worst][0] - gaps[worst][1]),
                missing_worst=f"{worst} {gaps[worst][0]:.2f} → {gaps[worst][1]:.2f}",
                missing_cols={c: [round(a, 2), round(b, 2)] for c, (a, b) in gaps.items() if a or b},
                bad_dtypes=bad_dtypes, bad_ints=bad_ints, max_time=max_time,
                stopped_by_time=synth.meta["stopped_by_time"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", default=",".join(TABLES))
    ap.add_argument("--max-time", type=float, default=None, help="training cap in seconds (default: none)")
    ap.add_argument("--uncapped", default="adult",
                    help="comma list of tables trained without --max-time (default: adult, issue #3's table)")
    ap.add_argument("--seed", type=int, default=0)
    add_data_dir(ap)
    ap.add_argument("--results-dir", type=Path, default=RESULTS_DIR / "tables",
                    help="per-table JSON folder (default benchmarks/results/tables)")
    ap.add_argument("--out", type=Path, default=BENCH_DIR / "RESULTS_tables.md",
                    help="report path (default benchmarks/RESULTS_tables.md)")
    args = ap.parse_args()
    results = args.results_dir
    for name in args.tables.split(","):
        cap = None if name in args.uncapped.split(",") else args.max_time
        row = run_table(name, args.data_dir, cap, args.seed)
        row["command"] = command_line(__file__)
        row["seed"] = args.seed
        write_report(results / f"{name}.json", json.dumps(row, indent=1, default=float))
        print(row, flush=True)
    rows = [json.loads((results / f"{t}.json").read_text()) for t in TABLES if (results / f"{t}.json").exists()]
    lines = ["# Real tables with the default config", "",
             *environment(), "",
             "Each table is generated with as many rows as it has and compared with itself (shape/trend on every "
             f"row, C2ST on 10,000). Rows come from {os.path.relpath(results, REPO)}/*.json; the last columns "
             "say when and how each was measured.", "",
             "| table | rows | training steps | fit s | sample s | shape err % | trend err % | C2ST LR "
             "| largest empty-cell gap: column real % → generated % | dtypes differing | integer columns "
             "off-grid or out of range | measured | command |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cap = f" ({r['max_time']:g} s cap)" if r["stopped_by_time"] else ""
        lines.append(f"| {r['table']} | {r['rows']:,} | {r['steps']}{cap} | "
                     f"{r['fit_s']:.0f} | {r['sample_s']:.0f} | {r['shape']:.2f} | {r['trend']:.2f} | "
                     f"{r['c2st_lr']:.3f} | {r['missing_worst']} ({r['missing_pp']:.2f} pp) | "
                     f"{', '.join(r['bad_dtypes']) or 'none'} | {', '.join(r['bad_ints']) or 'none'} | "
                     f"{r.get('measured', '?')} | `{current_command(r.get('command', '?'))}` |")
    lines += ["", "Empty-cell rates per column (real % → generated %), columns that have any:", ""]
    for r in rows:
        if r["missing_cols"]:
            lines.append(f"- {r['table']}: " + "; ".join(f"{c} {a} → {b}" for c, (a, b) in r["missing_cols"].items()))
    write_report(args.out, "\n".join(lines) + "\n")
    print("\n".join(lines))
    assert np.isfinite([r["shape"] for r in rows]).all()


if __name__ == "__main__":
    main()
