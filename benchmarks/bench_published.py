"""tabdiff's default recipe beside the published TabPC / TabDiff / TabSyn numbers; writes RESULTS_published.md.

    python -m benchmarks.bench_published                       # 5 datasets x 3 seeds (`make bench-published`)
    python -m benchmarks.bench_published --seeds 0             # one seed of every dataset
    python -m benchmarks.bench_published --datasets magic --seeds 1,2
    python -m benchmarks.bench_published --report-only         # rebuild the report from results/published/*.json

The published numbers are TabPC's per-dataset result files (april-tools/tabpc at commit
dc384087d4de79d7370c35a0b1d17173bcc25f9a, `article_material/our_results/<metric>.csv`: mean and std over 5
trained models, one sample each, `scripts/experiment_main.py` NUM_RUNS = 5), copied into PUBLISHED_CSV
below; TabPC re-ran TabDiff and TabSyn under its own protocol, so their rows are TabPC's measurements of
those models, not the TabDiff or TabSyn papers' own tables.

THE PROTOCOL (what is the same as TabPC's, what may differ; docs/benchmarks.md has the long version)
- Datasets and splits as TabPC's `datasets_scripts/tabdiff_process_dataset.py` (TabDiff's processing):
  Adult: adult.data is the training split, adult.test the test split. Default (ID dropped), Shoppers, Magic,
  Beijing (No dropped, rows with an empty cell dropped): 90 % / 10 % by `np.random.seed(s)` +
  `np.random.shuffle` of the row positions, s = 1234, incremented until every categorical column of the
  training part holds all of the table's levels (`tabpc_split`). Column kinds as TabDiff's info files:
  integer-coded categoricals (Default's SEX, EDUCATION, MARRIAGE, PAY_*; Beijing's year, month, day, hour)
  are passed to `fit` as categorical (`--categorical`), as TabDiff's info marks them.
- tabdiff: the default config (`load_config(None)`), one fit per seed, as many rows sampled as the training
  split (TabPC's models also generate as many rows as the training split), the same seed for fit and sample.
- Metrics: `tabdiff_cli.evaluate_tables(train, generated, test=…, target=…, discrete_columns=…)` — what
  `tabdiff evaluate` prints — against the TRAINING split, as TabPC (`scripts/array_evaluate.py`,
  use_train_set=True). Shape / trend error = 100·(1 − sdmetrics QualityReport Column Shapes / Column Pair
  Trends): tabdiff's code reproduces those sdmetrics metrics (TabPC's `LegacyDensity` runs sdmetrics itself).
  Detection = 1 − (2·max(AUC, 0.5) − 1) over 3 stratified folds with logistic regression (sdmetrics
  LogisticDetection) and XGBoost at default parameters (TabPC's `XGBoostDetection`), on every row
  (max_rows = the training split's rows). Differences: tabdiff re-implements sdmetrics' encoding and runs
  the judges in the same SimpleImputer + RobustScaler pipeline, but its folds are seeded (sdmetrics':
  unseeded), it caps one-hot at 50 levels a column (no column of these five tables has more) and keeps the
  table's column order (TabPC puts numbers first, which can change XGBoost's tie-breaks); Adult's `?` is a
  missing cell here and a category 'nan' there. Close to, not bit-identical with, TabPC's script.
- Seeds: TabPC reports mean ± std over 5 trained models with one sample each (its README asks the same of
  the baselines it re-ran: "1 dataset from 5 different trained models"); here over 3 (or fewer, see the
  report) independently trained seeds with one sample each.
- Fit time: tabdiff's wall-clock fit seconds on this machine's CPU (2 cores shared with other jobs, one torch
  thread), against TabPC's `training_time.csv` (GPU; seconds as TabPC records them).

TIME PLAN on the reference machine (2 cores shared, OMP_NUM_THREADS=1): a default fit is 200 epochs of
1,024-row batches within [1,000, 8,000] steps (Adult 6,400, Default 5,400, Shoppers 2,200, Magic 3,400,
Beijing 7,400), about 8.5 CPU-minutes for Adult's fit, 1.7 for sampling it and ~1 for scoring (XGBoost on
2 x 32,561 rows); at a load average of 8 (this machine on 2026-12-06) Adult took 1,041 s + 214 s + 75 s of
wall clock. About 40 CPU-minutes a seed for the five tables, so ~1.3 h of wall clock a seed on a loaded
machine, ~4 h for 3 seeds; on an idle one about 45 min a seed. Every cell (dataset x seed) writes
results/published/<dataset>__<system>__seed<N>.json when it ends, and the generated table goes to --work-dir
(default /tmp/tabdiff_published), so a run that is cut short keeps its cells and a re-run scores kept rows
without refitting; `--report-only` rebuilds the report from whatever cells exist and says which ran.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.bench_peers import key_metrics as peer_key_metrics
from benchmarks.bench_peers import mean_std
from benchmarks.common import (
    BENCH_DIR,
    RESULTS_DIR,
    add_data_dir,
    command_line,
    environment,
    write_report,
)

RESULTS = RESULTS_DIR / "published"
REPORT = BENCH_DIR / "RESULTS_published.md"
SEEDS = (0, 1, 2)
SPLIT_SEED = 1234  # TabDiff's / TabPC's first shuffle seed
TRAIN_SHARE = 0.9
TABPC_COMMIT = "dc384087d4de79d7370c35a0b1d17173bcc25f9a"


@dataclass(frozen=True)
class Spec:
    """One TabDiff-benchmark dataset: its file(s) in --data-dir and TabDiff's column kinds.

    categorical: the non-target columns TabDiff's info file marks categorical (the split check uses them);
    target / task: the prediction target and its task ("binclass" or "regression"); drop: columns removed
    first; dropna: drop rows with an empty cell (Beijing's empty pm2.5).
    """

    file: str
    target: str
    task: str
    categorical: tuple[str, ...]
    test_file: str | None = None
    drop: tuple[str, ...] = ()
    dropna: bool = False


DATASETS: dict[str, Spec] = {
    "adult": Spec("adult.csv", "income", "binclass",
                  ("workclass", "education", "marital_status", "occupation", "relationship", "race", "sex",
                   "native_country"), test_file="adult_test.csv"),
    "default": Spec("default_credit.csv", "default payment next month", "binclass",
                    ("SEX", "EDUCATION", "MARRIAGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"),
                    drop=("ID",)),
    "shoppers": Spec("online_shoppers.csv", "Revenue", "binclass",
                     ("Month", "OperatingSystems", "Browser", "Region", "TrafficType", "VisitorType", "Weekend")),
    "magic": Spec("magic.csv", "class", "binclass", ()),
    "beijing": Spec("beijing_pm25.csv", "pm2.5", "regression", ("year", "month", "day", "hour", "cbwd"),
                    drop=("No",), dropna=True),
}

# TabPC's result files, copied verbatim (april-tools/tabpc @ TABPC_COMMIT, article_material/our_results/
# <metric>.csv, rows method,dataset,mean,std; here metric,method,dataset,mean,std for the four models and five
# datasets compared). shape / trend: sdmetrics QualityReport scores (1 ideal; the report shows error % =
# 100·(1 − score)); xgb_detection / lr_detection: detection scores (1 ideal); training_time: seconds on their
# GPU (the file states no unit; TabDiff's 11,604 on Adult is the "190 minutes" of issue #23).
# FullyFactorizedPreprocessed is TabPC's independent-marginals model ("FF" in its tables).
PUBLISHED_CSV = """\
shape,TabSyn,adult,0.9921,0.0010
shape,TabSyn,beijing,0.9739,0.0126
shape,TabSyn,default,0.9868,0.0043
shape,TabSyn,magic,0.9902,0.0019
shape,TabSyn,shoppers,0.9852,0.0018
shape,TabDiff,adult,0.9932,0.0008
shape,TabDiff,beijing,0.9895,0.0004
shape,TabDiff,default,0.9884,0.0016
shape,TabDiff,magic,0.9920,0.0008
shape,TabDiff,shoppers,0.9851,0.0028
shape,FullyFactorizedPreprocessed,adult,0.9961,0.0006
shape,FullyFactorizedPreprocessed,beijing,0.9949,0.0003
shape,FullyFactorizedPreprocessed,default,0.9954,0.0003
shape,FullyFactorizedPreprocessed,magic,0.9938,0.0007
shape,FullyFactorizedPreprocessed,shoppers,0.9934,0.0007
shape,TabPC,adult,0.9942,0.0007
shape,TabPC,beijing,0.9943,0.0005
shape,TabPC,default,0.9946,0.0004
shape,TabPC,magic,0.9902,0.0013
shape,TabPC,shoppers,0.9910,0.0014
trend,TabSyn,adult,0.9795,0.0030
trend,TabSyn,beijing,0.9550,0.0157
trend,TabSyn,default,0.9712,0.0094
trend,TabSyn,magic,0.9918,0.0014
trend,TabSyn,shoppers,0.9771,0.0013
trend,TabDiff,adult,0.9846,0.0007
trend,TabDiff,beijing,0.9741,0.0018
trend,TabDiff,default,0.9726,0.0068
trend,TabDiff,magic,0.9916,0.0021
trend,TabDiff,shoppers,0.9809,0.0017
trend,FullyFactorizedPreprocessed,adult,0.9251,0.0004
trend,FullyFactorizedPreprocessed,beijing,0.9101,0.0010
trend,FullyFactorizedPreprocessed,default,0.8875,0.0013
trend,FullyFactorizedPreprocessed,magic,0.8696,0.0005
trend,FullyFactorizedPreprocessed,shoppers,0.9367,0.0014
trend,TabPC,adult,0.9856,0.0012
trend,TabPC,beijing,0.9781,0.0025
trend,TabPC,default,0.9496,0.0189
trend,TabPC,magic,0.9830,0.0051
trend,TabPC,shoppers,0.9822,0.0023
xgb_detection,TabSyn,adult,0.7942,0.0341
xgb_detection,TabSyn,beijing,0.5266,0.1397
xgb_detection,TabSyn,default,0.4024,0.0515
xgb_detection,TabSyn,magic,0.7602,0.0310
xgb_detection,TabSyn,shoppers,0.6554,0.0196
xgb_detection,TabDiff,adult,0.8409,0.0067
xgb_detection,TabDiff,beijing,0.7723,0.0138
xgb_detection,TabDiff,default,0.5914,0.0226
xgb_detection,TabDiff,magic,0.7732,0.0278
xgb_detection,TabDiff,shoppers,0.7361,0.0162
xgb_detection,FullyFactorizedPreprocessed,adult,0.0160,0.0007
xgb_detection,FullyFactorizedPreprocessed,beijing,0.0172,0.0006
xgb_detection,FullyFactorizedPreprocessed,default,0.0002,0.0001
xgb_detection,FullyFactorizedPreprocessed,magic,0.0052,0.0002
xgb_detection,FullyFactorizedPreprocessed,shoppers,0.0211,0.0013
xgb_detection,TabPC,adult,0.8554,0.0328
xgb_detection,TabPC,beijing,0.5704,0.0262
xgb_detection,TabPC,default,0.2617,0.0052
xgb_detection,TabPC,magic,0.8602,0.0142
xgb_detection,TabPC,shoppers,0.8936,0.0100
lr_detection,TabSyn,adult,0.9866,0.0081
lr_detection,TabSyn,beijing,0.9226,0.0303
lr_detection,TabSyn,default,0.9463,0.0588
lr_detection,TabSyn,magic,0.9940,0.0051
lr_detection,TabSyn,shoppers,0.9787,0.0141
lr_detection,TabDiff,adult,0.9899,0.0054
lr_detection,TabDiff,beijing,0.9770,0.0027
lr_detection,TabDiff,default,0.9699,0.0095
lr_detection,TabDiff,magic,0.9964,0.0035
lr_detection,TabDiff,shoppers,0.9756,0.0170
lr_detection,FullyFactorizedPreprocessed,adult,1.0000,0.0000
lr_detection,FullyFactorizedPreprocessed,beijing,0.9979,0.0029
lr_detection,FullyFactorizedPreprocessed,default,0.9949,0.0045
lr_detection,FullyFactorizedPreprocessed,magic,0.9892,0.0072
lr_detection,FullyFactorizedPreprocessed,shoppers,1.0000,0.0000
lr_detection,TabPC,adult,0.9959,0.0083
lr_detection,TabPC,beijing,0.9989,0.0015
lr_detection,TabPC,default,0.9999,0.0003
lr_detection,TabPC,magic,0.9953,0.0067
lr_detection,TabPC,shoppers,0.9969,0.0056
training_time,FullyFactorizedPreprocessed,adult,1.0963,0.3073
training_time,FullyFactorizedPreprocessed,beijing,1.7258,0.3996
training_time,FullyFactorizedPreprocessed,default,2.5433,0.2866
training_time,FullyFactorizedPreprocessed,magic,0.4779,0.0095
training_time,FullyFactorizedPreprocessed,shoppers,0.4591,0.0281
training_time,TabDiff,adult,11604.6000,2638.2714
training_time,TabDiff,beijing,14418.4000,3526.9843
training_time,TabDiff,default,13899.0000,2723.9720
training_time,TabDiff,magic,11643.4000,3487.6803
training_time,TabDiff,shoppers,10320.8000,2256.3419
training_time,TabPC,adult,272.4569,18.7950
training_time,TabPC,beijing,581.5754,40.2687
training_time,TabPC,default,78.3351,16.2498
training_time,TabPC,magic,38.9187,1.9214
training_time,TabPC,shoppers,50.5603,0.7823
training_time,TabSyn,adult,3082.5000,516.0472
training_time,TabSyn,beijing,3321.2500,327.1845
training_time,TabSyn,default,3438.5000,578.0798
training_time,TabSyn,magic,2270.7500,369.7968
training_time,TabSyn,shoppers,2441.2500,192.9228
"""
PUBLISHED_MODELS = ("TabPC", "TabDiff", "TabSyn")
PUBLISHED_BASELINE = "FullyFactorizedPreprocessed"


def published() -> dict[tuple[str, str, str], tuple[float, float]]:
    """{(metric, model, dataset): (mean, std)} from PUBLISHED_CSV."""
    out = {}
    for line in PUBLISHED_CSV.strip().splitlines():
        metric, model, dataset, mean, std = line.split(",")
        out[(metric, model, dataset)] = (float(mean), float(std))
    return out


# ------------------------------------------------------------------------------------------------ data


def tabpc_split(n_rows: int, level_sets: list, columns_of, seed: int = SPLIT_SEED,
                train_share: float = TRAIN_SHARE, max_tries: int = 1000) -> tuple:
    """TabDiff's / TabPC's train/test split of a table without a test file (tabdiff_process_dataset.py
    `train_val_test_split`): row positions 0..n_rows-1 shuffled by `np.random.seed(s); np.random.shuffle`,
    the first int(n_rows·train_share) positions train, the remaining ones test; s starts at `seed` and goes up
    by one until the training part holds every level of every categorical column.

    Args:
        n_rows: rows of the table.
        level_sets: per categorical column, the set of its levels in the whole table.
        columns_of: callable(train_positions) → per categorical column, the set of its levels in those rows.
    Returns: (train_positions, test_positions, seed used), numpy int arrays of lengths n_train, n_test.
    """
    import numpy as np

    n_train = int(n_rows * train_share)
    n_test = n_rows - n_train
    idx = np.arange(n_rows)
    for s in range(seed, seed + max_tries):
        np.random.seed(s)
        np.random.shuffle(idx)  # TabDiff shuffles the same array again on each retry
        train, test = idx[:n_train].copy(), idx[-n_test:].copy()
        if all(len(got) == len(want) for got, want in zip(columns_of(train), level_sets, strict=True)):
            return train, test, s
    raise RuntimeError(f"no split keeps every level in {max_tries} tries")


def load(name: str, data_dir: Path):
    """(train, test, note) of one dataset as TabPC splits it; DataFrames with a fresh RangeIndex."""
    from tabdiff_cli import read_table

    spec = DATASETS[name]
    df = read_table(data_dir / spec.file)
    df = df.drop(columns=list(spec.drop))
    if spec.dropna:
        df = df.dropna().reset_index(drop=True)
    if spec.test_file:
        test = read_table(data_dir / spec.test_file)
        return df, test, f"`{spec.file}` (train) and `{spec.test_file}` (test), as TabPC"
    cats = list(spec.categorical)
    levels = [set(df[c].astype(str)) for c in cats]

    def columns_of(pos):
        part = df.iloc[pos]
        return [set(part[c].astype(str)) for c in cats]

    train_pos, test_pos, used = tabpc_split(len(df), levels, columns_of)
    train = df.iloc[train_pos].reset_index(drop=True)
    test = df.iloc[test_pos].reset_index(drop=True)
    dropped = f" without {', '.join(spec.drop)}" if spec.drop else ""
    na = ", rows with an empty cell dropped" if spec.dropna else ""
    note = (f"`{spec.file}`{dropped}{na}: {len(df):,} rows, TabPC's {TRAIN_SHARE:.0%}/{1 - TRAIN_SHARE:.0%} "
            f"shuffle split (numpy seed {used})")
    return train, test, note


def discrete(name: str) -> list[str]:
    """The columns scored as categorical: TabDiff's categorical columns, and the target of a classification."""
    spec = DATASETS[name]
    return list(spec.categorical) + ([spec.target] if spec.task == "binclass" else [])


# ------------------------------------------------------------------------------------------------ one cell


def key_metrics(report: dict) -> dict:
    """The numbers of the comparison from an evaluate_tables report: bench_peers' headline numbers (shape /
    trend error %, the three detection scores, α-precision / β-recall, TSTR, DCR ratio / share) and the DCR
    score on equal splits (0.5 ideal)."""
    return {**peer_key_metrics(report), "dcr_score": (report.get("privacy") or {}).get("dcr_score")}


def score(name: str, train, gen, test, seed: int = 0) -> tuple[dict, float]:
    """evaluate_tables(train, gen, test, target, discrete) on every row; (key metrics, seconds)."""
    from tabdiff_cli import evaluate_tables

    t0 = time.perf_counter()
    report = evaluate_tables(train, gen, test=test, target=DATASETS[name].target if test is not None else None,
                             discrete_columns=discrete(name), seed=seed, max_rows=max(len(train), len(gen)))
    return key_metrics(report), time.perf_counter() - t0


def run_cell(name: str, seed: int, data_dir: Path, work_dir: Path) -> dict:
    """Fit tabdiff's default recipe on `name`'s training split, sample as many rows, score them."""
    import pandas as pd

    from tabdiff_cli import DiffusionSynthesizer, load_config
    from tabdiff_cli.table.schema import infer_schema

    train, test, note = load(name, data_dir)
    gen_path = work_dir / f"{name}__seed{seed}.gen.pkl"
    meta_path = work_dir / f"{name}__seed{seed}.fit.json"
    if gen_path.exists() and meta_path.exists():  # a cell whose scoring was cut short: score the kept rows
        gen, fit = pd.read_pickle(gen_path), json.loads(meta_path.read_text())
    else:
        cats = {c: "categorical" for c in DATASETS[name].categorical}
        schema = infer_schema(train, overrides=cats)
        t0 = time.perf_counter()
        synth = DiffusionSynthesizer(load_config(None)).fit(train, seed=seed, schema=schema)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        gen = synth.sample(len(train), seed=seed)
        sample_s = time.perf_counter() - t0
        fit = {"fit_s": fit_s, "sample_s": sample_s, "steps": synth.meta.get("steps"),
               "load_at_fit_end": os.getloadavg()[0]}
        work_dir.mkdir(parents=True, exist_ok=True)
        gen.to_pickle(gen_path)
        meta_path.write_text(json.dumps(fit))
    metrics, eval_s = score(name, train, gen, test)
    return {"dataset": name, "system": "tabdiff (default)", "seed": seed, **fit, "eval_s": eval_s,
            "n_train": len(train), "n_test": len(test), "n_sample": len(gen), "split_note": note,
            "metrics": metrics, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": command_line(__file__), "torch_threads": _threads()}


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def baseline_cells(name: str, data_dir: Path):
    """The rows that need no training, yielded one at a time: independent marginals of the training split (as
    many rows, seed 0; scored with the test split, so TSTR and the DCR score too) and the real test split
    (scored against the training split alone)."""
    from tabdiff_cli.evaluation.baselines import independent_marginals

    train, test, note = load(name, data_dir)
    for system, gen, held_out in (("independent marginals", independent_marginals(train, len(train), seed=0), test),
                                  ("real test rows", test, None)):
        metrics, eval_s = score(name, train, gen, held_out)
        yield {"dataset": name, "system": system, "seed": 0, "eval_s": eval_s, "n_train": len(train),
               "n_test": len(test), "n_sample": len(gen), "split_note": note, "metrics": metrics,
               "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command_line(__file__)}


def cell_path(results: Path, record: dict) -> Path:
    """results/<dataset>__<system slug>__seed<N>.json"""
    system = re.sub(r"[^a-z0-9]+", "-", record["system"].lower()).strip("-")
    return results / f"{record['dataset']}__{system}__seed{record['seed']}.json"


# ------------------------------------------------------------------------------------------------ report


COLUMNS = [  # (header, metric key of our records, TabPC file, as error %, decimals)
    ("shape err %", "shape_error_pct", "shape", True, 2),
    ("trend err %", "trend_error_pct", "trend", True, 2),
    ("C2ST LR", "c2st_lr", "lr_detection", False, 3),
    ("C2ST XGB", "c2st_xgb", "xgb_detection", False, 3),
]
OURS = "tabdiff (default)"
BASELINES = ("independent marginals", "real test rows")
DATASET_TITLES = {"adult": "Adult", "default": "Default", "shoppers": "Shoppers", "magic": "Magic",
                  "beijing": "Beijing"}


def published_cell(pub: dict, metric_file: str, model: str, dataset: str, as_error: bool, decimals: int) -> str:
    """One published number as the report shows it: error % = 100·(1 − score) (std × 100) for shape and
    trend, the score itself otherwise; 'not in their files' where TabPC has no such row."""
    if (metric_file, model, dataset) not in pub:
        return "not in their files"
    mean, std = pub[(metric_file, model, dataset)]
    if as_error:
        mean, std = 100 * (1 - mean), 100 * std
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def fit_cell(runs: list[dict]) -> str:
    """tabdiff's fit seconds (mean ± std over seeds) and the minutes they come to."""
    fits = [r["fit_s"] for r in runs if r.get("fit_s") is not None]
    return f"{mean_std(fits, 0)} ({statistics.fmean(fits) / 60:.1f} min)" if fits else "–"


def dataset_table(name: str, records: list[dict], pub: dict) -> list[str]:
    """The markdown table of one dataset: tabdiff's seeds, TabPC's three models, both baselines."""
    header = ["model", "where the number comes from", *[c[0] for c in COLUMNS], "fit s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    ours = sorted((r for r in records if r["system"] == OURS), key=lambda r: r["seed"])
    if ours:
        seeds = ", ".join(str(r["seed"]) for r in ours)
        cells = [mean_std([r["metrics"].get(k) for r in ours], d) for _, k, _, _, d in COLUMNS]
        lines.append(f"| **tabdiff (default)** | this repo, seed{'s' if len(ours) > 1 else ''} {seeds}, CPU | "
                     + " | ".join(cells)
                     + f" | {fit_cell(ours)} |")
    for model in PUBLISHED_MODELS:
        cells = [published_cell(pub, f, model, name, e, d) for _, _, f, e, d in COLUMNS]
        time_cell = published_cell(pub, "training_time", model, name, False, 0)
        if time_cell != "not in their files":
            time_cell += f" ({pub[('training_time', model, name)][0] / 60:.0f} min)"
        lines.append(f"| {model} | TabPC's files, GPU | " + " | ".join(cells) + f" | {time_cell} |")
    for system in BASELINES:
        rec = next((r for r in records if r["system"] == system), None)
        if rec:
            cells = [mean_std([rec["metrics"].get(k)], d) for _, k, _, _, d in COLUMNS]
            lines.append(f"| {system} | this repo, no training | " + " | ".join(cells) + " | – |")
        if system == "independent marginals":
            cells = [published_cell(pub, f, PUBLISHED_BASELINE, name, e, d) for _, _, f, e, d in COLUMNS]
            lines.append("| independent marginals (TabPC's FF) | TabPC's files | " + " | ".join(cells)
                         + f" | {published_cell(pub, 'training_time', PUBLISHED_BASELINE, name, False, 1)} |")
    return lines


def extra_table(records: list[dict]) -> list[str]:
    """tabdiff's numbers that TabPC's files do not hold on the same definition, one row per dataset."""
    header = ["dataset", "seeds", "sample s", "scoring s", "DCR score (0.5 ideal)", "α-precision (k-NN)",
              "β-recall (k-NN)", "load at fit end"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in DATASETS:
        ours = sorted((r for r in records if r["dataset"] == name and r["system"] == OURS), key=lambda r: r["seed"])
        if not ours:
            continue
        m = [r["metrics"] for r in ours]
        cells = [", ".join(str(r["seed"]) for r in ours),
                 mean_std([r.get("sample_s") for r in ours], 1), mean_std([r.get("eval_s") for r in ours], 0),
                 mean_std([x.get("dcr_score") for x in m], 3), mean_std([x.get("alpha_precision") for x in m], 3),
                 mean_std([x.get("beta_recall") for x in m], 3),
                 mean_std([r.get("load_at_fit_end") for r in ours], 1)]
        lines.append(f"| {DATASET_TITLES[name]} | " + " | ".join(cells) + " |")
    return lines


def summary_table(records: list[dict], pub: dict) -> list[str]:
    """XGBoost detection (TabPC's headline judge) of every model and both baselines on every dataset with a
    cell ('–' where tabdiff's cell did not run)."""
    names = [n for n in DATASETS if any(r["dataset"] == n for r in records)]
    lines = ["| XGBoost detection (1 ideal) | " + " | ".join(DATASET_TITLES[n] for n in names) + " |",
             "|" + "---|" * (len(names) + 1)]
    row = [mean_std([r["metrics"].get("c2st_xgb") for r in records if r["dataset"] == n and r["system"] == OURS], 3)
           for n in names]
    lines.append("| **tabdiff (default)**, this repo, CPU | " + " | ".join(row) + " |")
    for model in PUBLISHED_MODELS:
        lines.append(f"| {model}, TabPC's files | "
                     + " | ".join(published_cell(pub, "xgb_detection", model, n, False, 3) for n in names) + " |")
    for system in BASELINES:
        row = [mean_std([r["metrics"].get("c2st_xgb") for r in records
                         if r["dataset"] == n and r["system"] == system], 3) for n in names]
        lines.append(f"| {system}, this repo | " + " | ".join(row) + " |")
    return lines


def build_report(results: Path) -> str:
    """RESULTS_published.md from the cell JSON in `results` and PUBLISHED_CSV."""
    records = [json.loads(p.read_text()) for p in sorted(results.glob("*__seed*.json"))]
    env_path = results / "environment.json"
    env = json.loads(env_path.read_text()) if env_path.exists() else {"lines": [], "command": ""}
    pub = published()
    commands = sorted({r.get("command", "") for r in records} - {""})
    dates = sorted(r["time"][:10] for r in records if r.get("time"))
    ran = [f"{DATASET_TITLES[n]} seed{'s' if len(rs) > 1 else ''} "
           f"{', '.join(str(r['seed']) for r in sorted(rs, key=lambda r: r['seed']))}"
           for n in DATASETS if (rs := [r for r in records if r["dataset"] == n and r["system"] == OURS])]
    lines = [
        "# tabdiff beside TabPC's published numbers (TabPC, TabDiff, TabSyn)",
        "",
        f"Generated by `python -m benchmarks.bench_published` on {dates[0] if dates else '–'}"
        f"{' to ' + dates[-1] if dates and dates[-1] != dates[0] else ''} (per-cell JSON in "
        "`benchmarks/results/published/`; rebuild with `--report-only`). "
        f"tabdiff cells that ran: {'; '.join(ran) if ran else 'none'}. "
        "The protocol and where it differs from TabPC's: docs/benchmarks.md, and this script's docstring.",
        "",
        "**Columns.** *shape err* / *trend err*: 100·(1 − sdmetrics Column Shapes / Column Pair Trends score), "
        "% (0 ideal). *C2ST LR* / *C2ST XGB*: detection score 1 − (2·max(AUC, 0.5) − 1) of a logistic "
        "regression / an XGBoost classifier at default parameters telling generated rows from the training "
        "rows, 3 stratified folds (1 ideal: no better than chance). Every metric compares the generated rows "
        "with the TRAINING split, as TabPC does. tabdiff: mean ± sample std over seeds (one fit and one "
        "sample of as many rows as the training split per seed), `tabdiff_cli.evaluate_tables`, every row. "
        f"TabPC's rows: mean ± std over 5 trained models, one sample each, copied from april-tools/tabpc @ "
        f"{TABPC_COMMIT[:7]} `article_material/our_results/*.csv` (TabDiff and TabSyn there are TabPC's "
        "re-runs). *fit s*: tabdiff's wall-clock fit on this machine's CPU (shared; one torch thread) against "
        "TabPC's `training_time.csv` on their GPU.",
        "",
        "**Baselines.** *independent marginals* draws each column from its own empirical distribution in the "
        "training split (`tabdiff_cli.evaluation.baselines.independent_marginals`, seed 0; TabPC's FF fits a "
        "Gaussian or categorical per column after its preprocessing); *real test rows* scores the held-out "
        "split as if generated. A score the independent-marginals row matches (shape, LR C2ST) cannot tell a "
        "joint model from the marginals.",
        "",
        "## XGBoost detection on every dataset",
        "",
        *summary_table(records, pub),
        "",
    ]
    for name in DATASETS:
        rs = [r for r in records if r["dataset"] == name]
        if not rs:
            continue
        note = rs[0].get("split_note", "")
        lines += [f"## {DATASET_TITLES[name]}", "",
                  f"{rs[0]['n_train']:,} training rows, {rs[0]['n_test']:,} test rows; {note}.", "",
                  *dataset_table(name, rs, pub), ""]
    lines += ["## tabdiff's other numbers", "",
              "Not beside TabPC's: its DCR uses separate 50/50 splits (`*_dcr` datasets) and its α-precision / "
              "β-recall are synthcity's AlphaPrecision (naive), while `evaluate_tables` computes a k-NN "
              "support estimate (k = 5) and the DCR score on train vs test rows of equal size.", "",
              *extra_table(records), "",
              "## Environment", "", *env.get("lines", []), "- Command(s):", *[f"  - `{c}`" for c in commands], ""]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_dir(p)
    p.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated, of " + ", ".join(DATASETS))
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    p.add_argument("--results-dir", type=Path, default=RESULTS)
    p.add_argument("--out", type=Path, default=REPORT)
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/tabdiff_published"),
                   help="generated tables and fit records, kept so that a cut-short cell is not refitted")
    p.add_argument("--no-baselines", action="store_true", help="skip the independent-marginals and test rows")
    p.add_argument("--baselines-only", action="store_true",
                   help="only the independent-marginals and test rows of --datasets (no training)")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args(argv)
    args.dataset_list = [d for d in args.datasets.split(",") if d]
    unknown = [d for d in args.dataset_list if d not in DATASETS]
    if unknown:
        p.error(f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(DATASETS)}")
    args.seed_list = [int(s) for s in args.seeds.split(",") if s]
    return args


def write_baselines(args: argparse.Namespace) -> None:
    """The independent-marginals and real-test-row cells of every dataset of --datasets."""
    for name in args.dataset_list:
        for rec in baseline_cells(name, args.data_dir):
            write_report(cell_path(args.results_dir, rec), json.dumps(rec, indent=1))
            print(f"{name} {rec['system']}: {rec['metrics']}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        env_path = args.results_dir / "environment.json"
        if not (args.baselines_only and env_path.exists()):  # the environment of the fits
            write_report(env_path, json.dumps({"lines": environment(), "command": command_line(__file__)},
                                              indent=1))
        for i, seed in enumerate([] if args.baselines_only else args.seed_list):
            for name in args.dataset_list:
                rec = run_cell(name, seed, args.data_dir, args.work_dir)
                write_report(cell_path(args.results_dir, rec), json.dumps(rec, indent=1))
                print(f"{name} seed {seed}: fit {rec['fit_s']:.0f} s, eval {rec['eval_s']:.0f} s, "
                      f"{rec['metrics']}", flush=True)
            if i == 0 and not args.no_baselines:  # after the first seed: the rows that need no training
                write_baselines(args)
        if args.baselines_only:
            write_baselines(args)
    write_report(args.out, build_report(args.results_dir))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
