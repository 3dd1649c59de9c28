"""Small-table recipes side by side: fidelity, inverse answers and calibrated intervals (`make bench-small`).

For each recipe (the default and the alternatives in RECIPES, each a set of config overrides):
- Iris, the whole table, --seeds (6): shape and trend error % and C2ST (logistic, boosted) of 150 generated
  rows (evaluate's metrics); P(virginica | petal length 5.5 cm) from 2,000 conditional rows (every real
  flower at 5.5 cm is a virginica); the petal-length sd of 400 rows given target=setosa over the real one;
  the seconds of fit and of that infer query (in process, start-up excluded);
- Iris and Wine, 20 % held out, --split-seeds (3): the coverage of the central 50 % and 90 % credible
  intervals and credible sets when half the cells of the held-out rows are hidden and each is drawn 50 times
  given the rest of its row (DiffusionSynthesizer.calibration), pooled over seeds.
Writes RESULTS_small_tables.md; seconds are comparable only within one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.common import command_line, environment, write_report

OUT = Path(__file__).parent / "RESULTS_small_tables.md"
# name → config overrides ("section.key": value; a dict value is per table)
RECIPES: dict[str, dict] = {
    "default": {},
    "inpainting (default before 2026-12-06)": {
        "model.conditional": False, "model.dropout": 0.0, "data.clusters": False,
        "training.steps": {"iris": 300, "wine": 480}},
    "conditional without dropout": {"model.dropout": 0.0},
}


def recipe_config(overrides: dict, table: str):
    """The default recipe with a recipe's overrides for one table."""
    from tabdiff_cli.config import load_config

    cfg = load_config(None)
    for key, value in overrides.items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value[table] if isinstance(value, dict) else value)
    return cfg


def whole_iris(overrides: dict, seed: int) -> dict:
    """Fidelity and the two inverse queries of one Iris model fitted on the whole table."""
    from tabdiff_cli import DiffusionSynthesizer, read_table
    from tabdiff_cli.evaluation.metrics import evaluate_tables

    df = read_table("iris")
    t0 = time.perf_counter()
    synth = DiffusionSynthesizer(recipe_config(overrides, "iris")).fit(df, seed=seed)
    fit_s = time.perf_counter() - t0
    ev = evaluate_tables(df, synth.sample(150, seed=seed))
    t0 = time.perf_counter()
    answer = synth.infer(["petal length (cm)=5.5"], ["target"], num_samples=2000, seed=seed)
    infer_s = time.perf_counter() - t0
    setosa = synth.sample(400, seed=seed, conditions=["target=setosa"])["petal length (cm)"].std()
    real = df.loc[df["target"] == "setosa", "petal length (cm)"].std()
    return {"shape": ev["shape"]["shape_error_pct"], "trend": ev["trend"]["trend_error_pct"],
            "lr": ev["c2st"]["logistic_regression"], "gbt": ev["c2st"]["gradient_boosting"],
            "p_virginica": answer["target"]["probabilities"].get("virginica", 0.0),
            "setosa_ratio": setosa / real, "fit_s": fit_s, "infer_s": infer_s}


def held_out(overrides: dict, table: str, seed: int) -> tuple[int, float, float]:
    """(hidden cells, coverage at 50 %, at 90 %) on a seeded 20 % of the table held out."""
    from tabdiff_cli import DiffusionSynthesizer, read_table

    df = read_table(table)
    holdout = df.sample(frac=0.2, random_state=seed)
    train = df.drop(holdout.index).reset_index(drop=True)
    synth = DiffusionSynthesizer(recipe_config(overrides, table)).fit(train, seed=seed)
    overall = synth.calibration(holdout.reset_index(drop=True), cell_share=0.5, draws=50, seed=seed)["overall"]
    return overall["cells"], overall["coverage_50"], overall["coverage_90"]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default=",".join(RECIPES), help="Comma-separated recipe names (RECIPES).")
    parser.add_argument("--seeds", default="0,1,2,3,4,5", help="Seeds of the whole-Iris models.")
    parser.add_argument("--split-seeds", default="0,1,2", help="Seeds of the held-out splits.")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    split_seeds = [int(s) for s in args.split_seeds.split(",")]
    lines = ["# Small-table recipes: fidelity, inverse answers, calibrated intervals", "",
             f"Command: `{command_line(__file__, argv if argv is not None else sys.argv[1:])}`", "",
             *environment(), "",
             f"Iris whole table, seeds {args.seeds}: means (min of P, max of the setosa sd ratio); held-out "
             f"coverage pooled over split seeds {args.split_seeds}.", "",
             "| recipe | shape % | trend % | C2ST LR | C2ST GBT | P(virginica \\| 5.5) min | setosa sd ratio max "
             "| fit s | infer s | Iris cov 50 / 90 | Wine cov 50 / 90 |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in args.recipes.split(","):
        overrides = RECIPES[name]
        runs = [whole_iris(overrides, s) for s in seeds]
        cover = {}
        for table in ("iris", "wine"):
            parts = [held_out(overrides, table, s) for s in split_seeds]
            cells = sum(p[0] for p in parts)
            cover[table] = (sum(p[0] * p[1] for p in parts) / cells, sum(p[0] * p[2] for p in parts) / cells, cells)
        row = (f"| {name} | {mean([r['shape'] for r in runs]):.2f} | {mean([r['trend'] for r in runs]):.2f} | "
               f"{mean([r['lr'] for r in runs]):.3f} | {mean([r['gbt'] for r in runs]):.3f} | "
               f"{min(r['p_virginica'] for r in runs):.3f} | {max(r['setosa_ratio'] for r in runs):.2f} | "
               f"{mean([r['fit_s'] for r in runs]):.1f} | {mean([r['infer_s'] for r in runs]):.2f} | "
               + " | ".join(f"{cover[t][0]:.3f} / {cover[t][1]:.3f} ({cover[t][2]} cells)" for t in ("iris", "wine"))
               + " |")
        lines.append(row)
        print(row, flush=True)
    write_report(args.out, "\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
