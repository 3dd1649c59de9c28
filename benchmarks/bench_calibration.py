"""Are tabdiff's credible intervals honest on real tables? (`make bench-calibration`)

For each table: split it into training and held-out rows (Adult: its own test file), fit the default recipe
on the training rows, then run `tabdiff calibration`'s check (DiffusionSynthesizer.calibration) on the
held-out rows: a random share of their cells is hidden (`--cell-share`, 0.3) and each hidden cell is drawn
`--draws` times given the rest of its row. A calibrated model covers the truth with its central 50 % and
90 % credible intervals (numbers) and credible sets (categories) in 50 % and 90 % of the cells, up to the
binomial spread sqrt(l(1 − l)/n); the expected calibration error (ECE, Guo et al. 2017) of the categorical
cells is 0 when calibrated. Reported per table and seed, pooled over seeds, in RESULTS_calibration.md.

Tables: iris, wine (built in; 20 % held out), adult (adult.csv / adult_test.csv), abalone and
california_housing (../shared/data, 20 % held out). Held-out rows are capped at --rows.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import pandas as pd

from benchmarks.common import add_data_dir, command_line, environment, write_report

TABLES = ("iris", "wine", "adult", "abalone", "california_housing")
OUT = Path(__file__).parent / "RESULTS_calibration.md"
RUNS = Path(__file__).parent / "results" / "calibration"


def split(name: str, data_dir: Path, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, held-out rows) of a benchmark table: Adult's own test file, else a seeded 80/20 split."""
    from tabdiff_cli.table.io import read_table

    if name == "adult":
        return read_table(data_dir / "adult.csv"), read_table(data_dir / "adult_test.csv")
    df = read_table(name if name in ("iris", "wine") else data_dir / f"{name}.csv")
    holdout = df.sample(frac=0.2, random_state=seed)
    return df.drop(holdout.index).reset_index(drop=True), holdout.reset_index(drop=True)


def run_one(name: str, seed: int, args: argparse.Namespace) -> dict:
    """Fit the default recipe on one table's training rows and check its calibration on held-out rows."""
    from tabdiff_cli import DiffusionSynthesizer

    train, holdout = split(name, args.data_dir, seed)
    t0 = time.perf_counter()
    synth = DiffusionSynthesizer().fit(train, seed=seed)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    check = synth.calibration(holdout, cell_share=args.cell_share, draws=args.draws, seed=seed,
                              max_rows=args.rows)
    return {"table": name, "seed": seed, "train_rows": len(train), "fit_s": fit_s,
            "check_s": time.perf_counter() - t0, "check": check}


def pooled(runs: list[dict]) -> dict[str, float]:
    """Cell-weighted coverage at 50 % and 90 % (numbers and categories together), its calibrated binomial
    spread, and the categorical cells' ECE, over runs (a table's seeds)."""
    cells = sum(r["check"]["overall"]["cells"] for r in runs)
    out: dict[str, float] = {"cells": cells}
    for pct in (50, 90):
        out[f"coverage_{pct}"] = sum(r["check"]["overall"][f"coverage_{pct}"] * r["check"]["overall"]["cells"]
                                     for r in runs) / cells
        out[f"spread_{pct}"] = math.sqrt(pct / 100 * (1 - pct / 100) / cells)
    cat = [c for r in runs for c in r["check"]["columns"].values() if c["kind"] == "categorical"]
    weight = sum(c["cells"] for c in cat)
    out["ece"] = sum(c["cells"] * c["ece"] for c in cat) / weight if weight else float("nan")
    return out


def report(runs: list[dict], argv: list[str]) -> str:
    lines = ["# Calibration of the default recipe on held-out rows", "",
             f"Command: `{command_line(__file__, argv)}`", "", *environment(), "",
             "Hidden cells of held-out rows drawn given the rest of the row; coverage is the share of hidden "
             "cells whose true value lies in the central credible interval (numbers) or credible set "
             "(categories) of its draws; ± is the binomial spread of a calibrated model.", "",
             "| table | seeds | hidden cells | coverage 50 % | coverage 90 % | ECE (categories) | fit s | check s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in dict.fromkeys(r["table"] for r in runs):
        mine = [r for r in runs if r["table"] == name]
        p = pooled(mine)
        ece = "–" if math.isnan(p["ece"]) else f"{p['ece']:.3f}"
        lines.append(f"| {name} | {','.join(str(r['seed']) for r in mine)} | {p['cells']} | "
                     f"{p['coverage_50']:.3f} ± {p['spread_50']:.3f} | "
                     f"{p['coverage_90']:.3f} ± {p['spread_90']:.3f} | {ece} | "
                     f"{sum(r['fit_s'] for r in mine) / len(mine):.0f} | "
                     f"{sum(r['check_s'] for r in mine) / len(mine):.0f} |")
    lines += ["", "Per run (coverage of the 90 % intervals by column):", ""]
    for r in runs:
        cols = ", ".join(f"{c} {v['coverage']['0.9']:.2f}" + ("" if v["kind"] == "numeric"
                                                            else f" (accuracy {v['accuracy']:.2f})")
                         for c, v in r["check"]["columns"].items())
        lines.append(f"- {r['table']} seed {r['seed']}: {cols}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help="Comma-separated tables.")
    parser.add_argument("--seeds", default="0,1,2", help="Seeds of the small tables (Iris, Wine).")
    parser.add_argument("--large-seeds", default="0", help="Seeds of the other tables.")
    parser.add_argument("--cell-share", type=float, default=0.3, help="Share of held-out cells hidden.")
    parser.add_argument("--draws", type=int, default=50, help="Posterior draws per hidden cell.")
    parser.add_argument("--rows", type=int, default=400, help="Held-out rows at most (seeded subsample).")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report-only", action="store_true", help="Rebuild the report from results/.")
    add_data_dir(parser)
    args = parser.parse_args(argv)
    argv = argv if argv is not None else __import__("sys").argv[1:]
    RUNS.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        for name in args.tables.split(","):
            seeds = args.seeds if name in ("iris", "wine") else args.large_seeds
            for seed in (int(s) for s in seeds.split(",")):
                result = run_one(name, seed, args)
                write_report(RUNS / f"{name}__seed{seed}.json", json.dumps(result, indent=1))
                print(f"{name} seed {seed}: coverage 90 % {result['check']['overall']['coverage_90']:.3f}, "
                      f"fit {result['fit_s']:.0f} s, check {result['check_s']:.0f} s", flush=True)
    wanted = args.tables.split(",")
    runs = [json.loads(p.read_text()) for p in sorted(RUNS.glob("*.json"))]
    runs = sorted((r for r in runs if r["table"] in wanted), key=lambda r: (wanted.index(r["table"]), r["seed"]))
    write_report(args.out, report(runs, argv))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
