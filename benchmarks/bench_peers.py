"""Benchmark tabdiff against the tools a user would pick instead; writes benchmarks/RESULTS_peers.md.

    python -m benchmarks.bench_peers                   # everything (`make bench`), about 54 minutes
    python -m benchmarks.bench_peers --quick           # 1 seed, small budgets: smoke test → RESULTS_peers_quick.md
    python -m benchmarks.bench_peers --datasets iris --systems tabdiff,ctgan --seeds 0
    python -m benchmarks.bench_peers --report-only     # rebuild RESULTS_peers.md from results/peers/*.json
    python -m benchmarks.bench_peers --baselines       # only the no-training rows (held-out, independent
                                                       # marginals) of every dataset with results, ~3 min
    python -m benchmarks.bench_peers --datasets adult --systems mostlyai,tabdiff --match-mostlyai
                                                       # issue #7: tabdiff gets mostlyai-engine's own fit time
                                                       # → RESULTS_peers_matched.md, results/peers_matched/

Two rows need no training (`--baselines` computes them alone, for every dataset with results, in tabdiff's
own venv): the real held-out rows scored as if generated (`<dataset>__reference.json`) and independent
marginals of the training rows (`<dataset>__independent-marginals-baseline__seed0.json`), which show where a
metric saturates.

Each system x dataset x seed runs fit + sample in a fresh subprocess (`--worker`), so that its peak memory is
its own and a crash, a hang (killed at the run's timeout) or a missing peer is recorded, not fatal. The parent
scores the generated table with `tabdiff_cli.evaluate_tables` against the training rows, with the real
held-out rows as the test split, and writes one JSON file per run to benchmarks/results/peers/.

TIME PLAN of `make bench` on 2 idle CPU cores (60 minutes in all; `expected_s` in the plans below)
------------------------------------------------------------------------------------------------
Per run, with process start-up (~5-8 s of imports) and scoring; x 3 seeds. Costs were measured as CPU
seconds of single-threaded runs on the shared 2-core machine (wall clock there was 2-4x noisier).

Iris / Wine (120 / 142 training rows): about 16 minutes for both.
    tabdiff (blog recipe)   the blog recipe unchanged (5000 full-batch epochs, 1000 steps)     30 / 35 s
    tabdiff (default)       the packaged default                                              15 / 20 s
    SDV GaussianCopula      defaults                                                          10 / 12 s
    SDV CTGAN, TVAE         SDV defaults (300 epochs, one batch each at this size)      25 / 30, 15 / 17 s
    ForestDiffusion         duplicate_K 10 / 5 and n_t 20 instead of 100 and 50: the tool fits one
                            XGBoost model per noise level and output column (~2.5 ms of CPU per tree),
                            and its defaults take ~3 / ~10 min a run here                     25 / 45 s
    mostlyai-engine         defaults (its early stopping stops after a few epochs)            22 / 25 s
Adult (32,561 training rows, 16,281 test rows): about 38 minutes, B = ADULT_BUDGET_S = 60 s.
    tabdiff (default)       training.max_time = B                                                 B + 45 s
    mostlyai-engine         max_training_time = B / 60 minutes (the same budget; analyse, encode
                            and sampling come on top)                                             B + 70 s
    tabdiff (blog recipe)   the blog recipe, training capped at ADULT_BLOG_BUDGET_S = 10 s; its
                            1000 ancestral steps over 32,561 rows take ~110 CPU-s                   110 s
    SDV GaussianCopula      defaults (~10 CPU-s)                                                     40 s
    SDV CTGAN               2 epochs: SDV's preprocessing alone (a Gaussian mixture per numeric
                            column) costs ~85 CPU-s, then ~18 CPU-s an epoch (default 300)         145 s
    SDV TVAE                8 epochs (same preprocessing, then ~3 CPU-s an epoch; default 300)      140 s
    ForestDiffusion         200-row subsample, duplicate_K 5, n_t 10, 10 trees; Adult one-hot encodes
                            to ~100 columns, so each tree costs ~100x more than on Iris (a 500-row
                            fit at these settings took 4.6 CPU-minutes); samples all 32,561 rows      85 s
    scoring                 evaluate_tables with max_rows = ADULT_EVAL_MAX_ROWS for the detection and
                            TSTR models (shape and trend use every row): ~20 s, inside the figures above
Total about 54 minutes. The head-to-head pair (tabdiff default, mostlyai-engine) runs first in each seed.
A run still going at its timeout is killed and recorded as "timeout". A run that would end past the
deadline (55 min from the start; --deadline-min) is not started and is recorded as "skipped", so a busier
machine loses the last Adult seeds rather than overrunning.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BENCH_DIR,
    REPO,
    RESULTS_DIR,
    add_data_dir,
    command_line,
    cpu_model,
    current_command,
    package_versions,
    ram,
    write_report,
)
from benchmarks.peers import (
    LEGACY_KEYS,
    LEGACY_SYSTEMS,
    PEER_PACKAGES,
    SYSTEM_KEYS,
    SYSTEMS,
    PeerUnavailable,
    make_adapter,
)

SEEDS = (0, 1, 2)
SPLIT_SEED = 0
TEST_SHARE = 0.2
ADULT_BUDGET_S = 60.0  # tabdiff (default) and mostlyai-engine on Adult: the same wall-clock training budget
ADULT_BLOG_BUDGET_S = 10.0  # the blog recipe on Adult
ADULT_EVAL_MAX_ROWS = 10_000
RSS_POLL_S = 0.25
BASELINE = "independent marginals (baseline)"  # a row of every table, no training: see baseline_record
RUN_PRIORITY = ("tabdiff (default)", "mostlyai-engine TabularARGN", "tabdiff (blog recipe)",
                "SDV GaussianCopula", "SDV TVAE", "SDV CTGAN", "ForestDiffusion")
DEADLINE_MIN = 55.0  # `make bench` must end within 60 minutes, venv check included


# ------------------------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class RunPlan:
    """How one system runs on one dataset.

    budget_s: training wall-clock budget handed to the adapter in seconds (None: the tool's own length).
    timeout_s: fit + sample are killed past this many seconds (recorded as "timeout").
    options: adapter options (epochs, rows, ...), see peers.py.
    note: why the settings differ from the tool's defaults, printed under the results table.
    expected_s: expected seconds of the whole run (start-up, fit, sample, scoring) on 2 idle cores, from the
        time plan above; a run that would end past the deadline is skipped, not started.
    """

    budget_s: float | None = None
    timeout_s: float = 300.0
    options: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    expected_s: float = 30.0


def small_plan(wine: bool) -> dict[str, RunPlan]:
    """Iris / Wine: every tool at its defaults except ForestDiffusion (see the time plan)."""
    fd_k = 5 if wine else 10
    return {
        "tabdiff (blog recipe)": RunPlan(expected_s=35 if wine else 30, note="the blog recipe unchanged"),
        "tabdiff (default)": RunPlan(expected_s=20 if wine else 15),
        "SDV GaussianCopula": RunPlan(expected_s=12 if wine else 10),
        "SDV CTGAN": RunPlan(expected_s=30 if wine else 25),
        "SDV TVAE": RunPlan(expected_s=17 if wine else 15),
        "ForestDiffusion": RunPlan(
            expected_s=45 if wine else 25, options={"duplicate_K": fd_k, "n_t": 20},
            note=f"duplicate_K {fd_k}, n_t 20 (defaults 100, 50: {'~10' if wine else '~3'} min a run here)"),
        "mostlyai-engine TabularARGN": RunPlan(expected_s=25 if wine else 22),
    }


def adult_plan(budget_s: float) -> dict[str, RunPlan]:
    """Adult: time-bounded tools get `budget_s`; the others get sizes that fit about as long (time plan)."""
    same = "(the same budget as {})"
    return {
        "tabdiff (blog recipe)": RunPlan(
            budget_s=ADULT_BLOG_BUDGET_S, expected_s=ADULT_BLOG_BUDGET_S + 100,
            note="the blog recipe, training capped by time (5000 full-batch epochs would take hours)"),
        "tabdiff (default)": RunPlan(
            budget_s=budget_s, timeout_s=budget_s + 300, expected_s=budget_s + 45,
            note="training.max_time " + same.format("mostlyai-engine")),
        "SDV GaussianCopula": RunPlan(expected_s=40),
        "SDV CTGAN": RunPlan(expected_s=145, timeout_s=600, options={"epochs": 2},
                             note="2 epochs (SDV default 300: over an hour a run on 2 cores)"),
        "SDV TVAE": RunPlan(expected_s=140, timeout_s=600, options={"epochs": 8},
                            note="8 epochs (SDV default 300)"),
        "ForestDiffusion": RunPlan(
            expected_s=85, options={"max_rows": 200, "duplicate_K": 5, "n_t": 10, "n_estimators": 10},
            note="fit on a seeded 200-row subsample with duplicate_K 5, n_t 10, 10 trees (defaults 100, "
                 "50, 100; with ~100 one-hot columns even a 500-row fit at these settings takes 2.5 "
                 "CPU-minutes); samples the full row count"),
        "mostlyai-engine TabularARGN": RunPlan(
            budget_s=budget_s, timeout_s=budget_s + 400, expected_s=budget_s + 70,
            note="max_training_time in minutes " + same.format("tabdiff default")
                 + "; its early stopping may end sooner"),
    }


def quick_small_plan() -> dict[str, RunPlan]:
    """--quick on Iris / Wine: tiny budgets, a smoke test of every path."""
    return {
        "tabdiff (blog recipe)": RunPlan(budget_s=10, note="quick", expected_s=20),
        "tabdiff (default)": RunPlan(budget_s=10, note="quick", expected_s=15),
        "SDV GaussianCopula": RunPlan(expected_s=10),
        "SDV CTGAN": RunPlan(options={"epochs": 30}, note="30 epochs (quick)", expected_s=15),
        "SDV TVAE": RunPlan(options={"epochs": 30}, note="30 epochs (quick)", expected_s=12),
        "ForestDiffusion": RunPlan(options={"duplicate_K": 5, "n_t": 10, "n_estimators": 20},
                                   note="duplicate_K 5, n_t 10, 20 trees (quick)", expected_s=15),
        "mostlyai-engine TabularARGN": RunPlan(budget_s=10, note="quick",
                                               expected_s=20),
    }


def quick_adult_plan(budget_s: float) -> dict[str, RunPlan]:
    """--quick on Adult: tabdiff default and mostlyai-engine keep their real budget (the Adult check)."""
    return {
        **adult_plan(budget_s),
        "tabdiff (blog recipe)": RunPlan(budget_s=10, note="quick", expected_s=110),
        "SDV CTGAN": RunPlan(options={"epochs": 1}, note="1 epoch (quick)", expected_s=130),
        "SDV TVAE": RunPlan(options={"epochs": 2}, note="2 epochs (quick)", expected_s=120),
        "ForestDiffusion": RunPlan(options={"max_rows": 100, "duplicate_K": 2, "n_t": 5, "n_estimators": 5},
                                   note="100-row subsample, duplicate_K 2, n_t 5, 5 trees (quick)",
                                   expected_s=40),
    }


def plan_for(dataset: str, system: str, quick: bool, adult_budget_s: float = ADULT_BUDGET_S) -> RunPlan:
    """The RunPlan of `system` on `dataset` (full or --quick)."""
    if dataset in LARGE_DATASETS:
        return (quick_adult_plan if quick else adult_plan)(adult_budget_s)[system]
    return (quick_small_plan() if quick else small_plan(dataset == "wine"))[system]


# ------------------------------------------------------------------------------------------------ datasets


@dataclass(frozen=True)
class Dataset:
    """A benchmark table: train and test frames, the TSTR target and the evaluator's discrete columns."""

    name: str
    train: Any
    test: Any
    target: str
    discrete: list[str]
    eval_max_rows: int
    split_note: str


def discrete_columns(df) -> list[str]:
    """The schema's categorical and boolean columns (tabdiff_cli.table.schema.infer_schema)."""
    from tabdiff_cli.table.schema import infer_schema

    return [c.name for c in infer_schema(df).of_kind("categorical", "boolean")]


def load_dataset(name: str, data_dir: Path) -> Dataset:
    """Iris / Wine: fixed stratified 80/20 split (seed 0) of the built-in table; Adult and the extra tables:
    the files of `data_dir` (--data-dir)."""
    from tabdiff_cli import read_table

    if name in ("iris", "wine"):
        from sklearn.model_selection import train_test_split

        df = read_table(name)
        train, test = train_test_split(df, test_size=TEST_SHARE, stratify=df["target"],
                                       random_state=SPLIT_SEED)
        train, test = train.reset_index(drop=True), test.reset_index(drop=True)
        note = f"built-in, stratified {1 - TEST_SHARE:.0%}/{TEST_SHARE:.0%} split (seed {SPLIT_SEED})"
        return Dataset(name, train, test, "target", discrete_columns(train), 20_000, note)
    if name == "adult":
        train, test = read_table(data_dir / "adult.csv"), read_table(data_dir / "adult_test.csv")
        note = "shared/data/adult.csv (train) and adult_test.csv (test); `?` read as missing"
        return Dataset(name, train, test, "income", discrete_columns(train), ADULT_EVAL_MAX_ROWS, note)
    if name in EXTRA_TABLES:
        from sklearn.model_selection import train_test_split

        file, target, drop = EXTRA_TABLES[name]
        df = read_table(data_dir / file).drop(columns=drop)
        train, test = train_test_split(df, test_size=TEST_SHARE, stratify=df[target], random_state=SPLIT_SEED)
        train, test = train.reset_index(drop=True), test.reset_index(drop=True)
        note = (f"shared/data/{file}{f' without {drop}' if drop else ''}, stratified "
                f"{1 - TEST_SHARE:.0%}/{TEST_SHARE:.0%} split (seed {SPLIT_SEED})")
        return Dataset(name, train, test, target, discrete_columns(train), ADULT_EVAL_MAX_ROWS, note)
    raise SystemExit(f"unknown dataset '{name}'; known: {', '.join(KNOWN_DATASETS)}")


# ------------------------------------------------------------------------------------------------ the worker


def worker_main(spec_path: str) -> int:
    """Subprocess body: fit + sample one system, write the generated table and the timings.

    Measured: import seconds (the tool's start-up, reported apart), fit seconds and sample seconds (wall
    clock, time.perf_counter), and the peak resident memory in MB of this process and of its waited-for
    children (getrusage ru_maxrss, KiB on Linux).
    """
    import pandas as pd

    spec = json.loads(Path(spec_path).read_text())
    out: dict[str, Any] = {"status": "ok"}
    try:
        train = pd.read_pickle(spec["train_path"])
        t_import = time.perf_counter()
        adapter = make_adapter(spec["system"], **spec["options"]).load()
        t0 = time.perf_counter()
        out["import_s"] = t0 - t_import
        adapter.fit(train, spec["discrete"], spec["seed"], spec["budget_s"])
        t1 = time.perf_counter()
        out["training"] = adapter.training
        gen = adapter.sample(spec["n_sample"], spec["seed"])
        t2 = time.perf_counter()
        gen.to_pickle(spec["gen_path"])
        out.update(fit_s=t1 - t0, sample_s=t2 - t1)
    except PeerUnavailable as exc:
        out.update(status="unavailable", error=str(exc))
    except Exception as exc:  # any failure of a peer is a result to report, not a crash of the benchmark
        out.update(status="error", error=f"{type(exc).__name__}: {exc}"[:500],
                   traceback=traceback.format_exc()[-3000:])
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out.update(maxrss_self_mb=own, maxrss_children_mb=kids)
    Path(spec["result_path"]).write_text(json.dumps(out))
    return 0


def _tree_rss_mb(proc) -> float:
    """Resident memory in MB of a psutil process and all its descendants (0 if it has gone)."""
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def run_subprocess(spec_path: Path, timeout_s: float, log_path: Path) -> tuple[str, float, float]:
    """Run the worker; poll its process tree's RSS. Returns (status, wall seconds, polled peak RSS in MB).

    status: "done" (the worker exited; its own JSON says ok/error/unavailable), "timeout" (killed), or
    "exit code N" (the worker died, e.g. killed by the OOM killer).
    """
    try:
        import psutil
    except ImportError:  # fall back on the worker's own getrusage figure
        psutil = None
    cmd = [sys.executable, "-m", "benchmarks.bench_peers", "--worker", str(spec_path)]  # cwd: the repository
    start = time.perf_counter()
    peak = 0.0
    with open(log_path, "wb") as log:
        # A session of its own so that a timeout kills the peer's worker pools too (ForestDiffusion's joblib).
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=REPO)
        handle = psutil.Process(proc.pid) if psutil else None
        while proc.poll() is None:
            if time.perf_counter() - start > timeout_s:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return "timeout", time.perf_counter() - start, peak
            if handle is not None:
                peak = max(peak, _tree_rss_mb(handle))
            time.sleep(RSS_POLL_S)
    wall = time.perf_counter() - start
    try:  # leftovers of the session (a peer's worker pool that outlived the worker) must not eat the cores
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return ("done" if proc.returncode == 0 else f"exit code {proc.returncode}"), wall, peak


# ------------------------------------------------------------------------------------------------ one run


def slug(text: str) -> str:
    """File-name-safe form of a system name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def key_metrics(report: dict) -> dict[str, float | None]:
    """The headline numbers of an evaluate_tables report (units: % for errors, scores in [0, 1])."""
    tstr = report.get("tstr") or {}
    synth, real = tstr.get("train_synth") or {}, tstr.get("train_real") or {}
    privacy = report.get("privacy") or {}
    return {
        "shape_error_pct": report["shape"].get("shape_error_pct"),
        "trend_error_pct": report["trend"].get("trend_error_pct"),
        "c2st_lr": report["c2st"].get("logistic_regression"),
        "c2st_gbt": report["c2st"].get("gradient_boosting"),
        "c2st_xgb": report["c2st"].get("xgboost"),
        "alpha_precision": report.get("alpha_precision"),
        "beta_recall": report.get("beta_recall"),
        "tstr_accuracy": synth.get("accuracy"),
        "tstr_macro_f1": synth.get("macro_f1"),
        "trtr_accuracy": real.get("accuracy"),
        "trtr_macro_f1": real.get("macro_f1"),
        "dcr_ratio": privacy.get("dcr_ratio"),
        "dcr_share": privacy.get("dcr_share"),
        "dcr_share_ideal": privacy.get("dcr_share_ideal"),
        "exact_copy_share": privacy.get("exact_copy_share"),
    }


def run_one(ds: Dataset, system: str, seed: int, plan: RunPlan, workdir: Path, train_path: Path) -> dict:
    """Fit + sample `system` on `ds` in a subprocess, then score the generated table; returns the record."""
    import pandas as pd

    tag = f"{ds.name}__{slug(system)}__seed{seed}"
    spec = {
        "system": system, "seed": seed, "budget_s": plan.budget_s, "options": plan.options,
        "discrete": ds.discrete, "n_sample": len(ds.train), "train_path": str(train_path),
        "gen_path": str(workdir / f"{tag}.gen.pkl"), "result_path": str(workdir / f"{tag}.result.json"),
    }
    spec_path = workdir / f"{tag}.spec.json"
    spec_path.write_text(json.dumps(spec))
    log_path = workdir / f"{tag}.log"
    status, wall_s, polled_mb = run_subprocess(spec_path, plan.timeout_s, log_path)
    record: dict[str, Any] = {
        "dataset": ds.name, "system": system, "seed": seed, "plan": asdict(plan), "wall_s": wall_s,
        "n_train": len(ds.train), "n_test": len(ds.test), "n_sample": len(ds.train),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command_line(__file__),
    }
    result_path = Path(spec["result_path"])
    if status == "timeout":
        record.update(status="timeout", error=f"killed after {plan.timeout_s:.0f} s")
    elif not result_path.exists():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        why = f"worker ended ({status}) without a result: {' | '.join(tail)}"
        record.update(status="error", error=why[:500])
    else:
        result = json.loads(result_path.read_text())
        record.update(result)
        record["peak_rss_mb"] = max(polled_mb, result["maxrss_self_mb"], result["maxrss_children_mb"])
    if record["status"] == "ok":
        record.update(score(ds, pd.read_pickle(spec["gen_path"]), seed))
    return record


def score(ds: Dataset, gen, seed: int) -> dict:
    """evaluate_tables(train, gen, test, target, discrete) → {"metrics", "report", "eval_s"} (or an error)."""
    from tabdiff_cli import evaluate_tables

    t0 = time.perf_counter()
    try:
        report = evaluate_tables(ds.train, gen, test=ds.test, target=ds.target, discrete_columns=ds.discrete,
                                 seed=seed, max_rows=ds.eval_max_rows)
    except Exception as exc:  # a malformed generated table is that system's failure
        return {"status": "error", "error": f"evaluation failed: {type(exc).__name__}: {exc}"[:500]}
    return {"metrics": key_metrics(report), "report": report, "eval_s": time.perf_counter() - t0}


def reference_record(ds: Dataset) -> dict:
    """The real held-out rows scored as if generated: the floor the evaluator reaches on real data."""
    from tabdiff_cli import evaluate_tables

    report = evaluate_tables(ds.train, ds.test, discrete_columns=ds.discrete, seed=0,
                             max_rows=ds.eval_max_rows)
    return {"dataset": ds.name, "system": "reference", "metrics": key_metrics(report),
            "n_train": len(ds.train), "n_test": len(ds.test), "split_note": ds.split_note}


def baseline_record(ds: Dataset) -> dict:
    """The independent-marginals baseline (tabdiff_cli.evaluation.baselines.independent_marginals: each
    column drawn from its own empirical distribution in the training rows, as many rows, seed 0), scored
    like a generated table: where a metric cannot tell a model that learned nothing but the marginals."""
    from tabdiff_cli.evaluation.baselines import independent_marginals

    gen = independent_marginals(ds.train, len(ds.train), seed=0)
    record = {"dataset": ds.name, "system": BASELINE, "seed": 0, "status": "ok", "n_train": len(ds.train),
              "n_test": len(ds.test), "n_sample": len(gen),
              "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command_line(__file__)}
    record.update(score(ds, gen, 0))
    return record


def write_baselines(ds: Dataset, results_dir: Path, overwrite: bool) -> None:
    """The two rows that need no training, `<dataset>__reference.json` (the real held-out rows) and
    `<dataset>__independent-marginals__seed0.json`, written unless they exist (or `overwrite`)."""
    for path, make in ((results_dir / f"{ds.name}__reference.json", reference_record),
                       (results_dir / f"{ds.name}__{slug(BASELINE)}__seed0.json", baseline_record)):
        if overwrite or not path.exists():
            write_report(path, json.dumps(make(ds), indent=1, default=str))


def datasets_with_results(results_dir: Path) -> list[str]:
    """The datasets that have at least one system run in `results_dir`, in the report's order."""
    names = {p.name.split("__")[0] for p in results_dir.glob("*__*__seed*.json")}
    return [d for d in KNOWN_DATASETS if d in names]


# ------------------------------------------------------------------------------------------------ environment


def environment_record() -> dict:
    """Machine (cores, CPU model, RAM), Python and library versions, date: results/peers/environment.json,
    which the report's Environment section renders."""
    return {
        "cores": os.cpu_count(), "cpu": cpu_model(), "ram": ram(), "platform": platform.platform(),
        "python": platform.python_version(), "versions": package_versions(("tabdiff", *PEER_PACKAGES)),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "command": command_line(__file__),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset (each tool's own choice)"),
    }


# ------------------------------------------------------------------------------------------------ the report

COLUMNS = [  # (header, record field, metric key, decimals)
    ("fit s", "fit_s", None, 1),
    ("sample s", "sample_s", None, 1),
    ("peak RSS MB", "peak_rss_mb", None, 0),
    ("shape err %", None, "shape_error_pct", 1),
    ("trend err %", None, "trend_error_pct", 1),
    ("C2ST LR", None, "c2st_lr", 3),
    ("C2ST GBT", None, "c2st_gbt", 3),
    ("C2ST XGB", None, "c2st_xgb", 3),
    ("α-precision", None, "alpha_precision", 3),
    ("β-recall", None, "beta_recall", 3),
    ("TSTR acc", None, "tstr_accuracy", 3),
    ("TSTR F1", None, "tstr_macro_f1", 3),
    ("DCR ratio", None, "dcr_ratio", 3),
    ("DCR share", None, "dcr_share", 3),
]
DATASET_ORDER = ("iris", "wine", "adult")  # `make bench`
# More tables for issue #7's "two more tables" (not in `make bench`'s 60 minutes: about 12 minutes a seed each,
# with Adult's plan and budget): file, TSTR target, columns dropped for every system (a row ID).
EXTRA_TABLES = {"default": ("default_credit.csv", "default payment next month", ["ID"]),
                "shoppers": ("online_shoppers.csv", "Revenue", [])}
KNOWN_DATASETS = (*DATASET_ORDER, *EXTRA_TABLES)
LARGE_DATASETS = ("adult", *EXTRA_TABLES)  # planned with adult_plan: the same budget for tabdiff and mostlyai


def mean_std(values: list[float], decimals: int) -> str:
    """'mean ± std' over seeds (sample std), 'mean' for one value, '–' for none."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {statistics.stdev(values):.{decimals}f}"


def value_of(record: dict, field_name: str | None, metric: str | None) -> float | None:
    """One number of a run record: a top-level field (timings) or a metric."""
    if field_name:
        return record.get(field_name)
    return (record.get("metrics") or {}).get(metric)


def reference_row(ref: dict, runs: list[dict]) -> str:
    """Table row of the real held-out rows scored as if generated; its TSTR cells hold train-on-real and its
    DCR share cell the ideal share (the targets to match)."""
    m = dict(ref["metrics"])
    for synth_key, real_key in (("tstr_accuracy", "trtr_accuracy"), ("tstr_macro_f1", "trtr_macro_f1")):
        reals = [v for r in runs if (v := (r.get("metrics") or {}).get(real_key)) is not None]
        m[synth_key] = statistics.fmean(reals) if reals else None
    cells = ["real held-out rows (reference)", "–"]
    for _, field_name, metric, decimals in COLUMNS:
        value = None if field_name else m.get(metric)
        if metric == "dcr_share":  # the ideal share: n_train / (n_train + n_test)
            value = ref["n_train"] / (ref["n_train"] + ref["n_test"])
        blank = value is None or metric == "dcr_ratio"  # held-out vs held-out: 1 by construction
        cells.append("–" if blank else f"{value:.{decimals}f}")
    return "| " + " | ".join(cells) + " |"


def is_unavailable(record: dict) -> bool:
    """True for a run whose peer could not be imported (or that was skipped for that reason)."""
    return record["status"] == "unavailable" or str(record.get("error", "")).startswith("unavailable:")


def failure_note(system: str, bad: list[dict]) -> str:
    """One footnote for a system's failed, timed-out or skipped runs, grouped by reason."""
    reasons: dict[str, list[str]] = {}
    for r in bad:
        reason = str(r.get("error", "")).removeprefix("unavailable: ")
        label = "not installed" if is_unavailable(r) else r["status"]
        reasons.setdefault(f"{label}: {reason}", []).append(str(r["seed"]))
    return f"{system}: " + "; ".join(f"seed(s) {', '.join(seeds)} {why}" for why, seeds in reasons.items())


def system_row(system: str, runs: list[dict], footnotes: list[str]) -> str:
    """Table row of one system: mean ± std over its successful seeds; failures become footnotes."""
    ok = [r for r in runs if r.get("status") == "ok"]
    bad = [r for r in runs if r.get("status") != "ok"]
    label = system
    if bad:
        footnotes.append(failure_note(system, bad))
        label += f" [{len(footnotes)}]"
    missing = [r for r in bad if is_unavailable(r)]
    if missing and len(missing) == len(runs):
        return "| " + " | ".join([label, "not installed"] + ["–"] * len(COLUMNS)) + " |"
    cells = [label, f"{len(ok)}/{len(runs)}"]
    cells += [mean_std([value_of(r, f, m) for r in ok], d) for _, f, m, d in COLUMNS]
    return "| " + " | ".join(cells) + " |"


def dataset_section(name: str, runs: list[dict], ref: dict | None) -> list[str]:
    """Markdown for one dataset: sizes, the results table, plan notes and footnotes."""
    any_run = runs[0]
    lines = [f"## {name.capitalize()}", ""]
    if ref:
        lines.append(f"{ref['n_train']:,} training rows, {ref['n_test']:,} test rows; "
                     f"{ref.get('split_note', '')}. Each system generates as many rows as the training "
                     f"table ({any_run['n_sample']:,}).")
        lines.append("")
    header = ["system", "runs ok"] + [c[0] for c in COLUMNS]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    if ref:
        lines.append(reference_row(ref, runs))
    footnotes: list[str] = []
    by_system: dict[str, list[dict]] = {}
    for r in runs:
        by_system.setdefault(r["system"], []).append(r)
    order = sorted(by_system, key=system_rank)
    for system in order:
        lines.append(system_row(system, sorted(by_system[system], key=lambda r: r["seed"]), footnotes))
    lines.append("")
    notes = []
    for system in order:
        plan = by_system[system][-1].get("plan") or {}
        budget, ran = budget_notes(by_system[system])
        parts = [x for x in (budget, plan.get("note"), ran) if x]
        if parts:
            notes.append(f"- {system}: {'; '.join(parts)}")
    if notes:
        lines += ["Settings that differ from the tool's defaults:", "", *notes, ""]
    if footnotes:
        lines += [f"[{i}] {text}" for i, text in enumerate(footnotes, 1)]
        lines.append("")
    return lines


def budget_notes(runs: list[dict]) -> tuple[str, str]:
    """('training budget …', 'training steps run …') of one system's runs, per seed where they differ
    (--match-mostlyai gives each seed its own budget); empty strings for runs without a budget."""
    runs = sorted(runs, key=lambda r: r["seed"])
    budgets = [(r.get("plan") or {}).get("budget_s") for r in runs]
    if not all(budgets):
        return "", ""
    seeds = ", ".join(str(r["seed"]) for r in runs)
    if len(set(budgets)) == 1:
        budget = f"training budget {budgets[0]:g} s"
    else:
        budget = f"training budgets (seeds {seeds}): {', '.join(f'{b:.0f}' for b in budgets)} s"
    steps = [(r.get("training") or {}).get("steps") for r in runs]
    ran = f"training steps run (seeds {seeds}): {', '.join(map(str, steps))}" if all(steps) else ""
    return budget, ran


def system_rank(system: str) -> int:
    """A system's place in the tables: the independent-marginals baseline first (under the reference row),
    then the registry's order, a name recorded before a rename at the place of its current name (old run JSON
    keeps the name it ran under), unknown names last."""
    if system == BASELINE:
        return -1
    order = list(SYSTEMS)
    current = LEGACY_SYSTEMS.get(system, system)
    return order.index(current) if current in order else len(order)


def build_report(results_dir: Path) -> str:
    """RESULTS_peers*.md from every run JSON in `results_dir` (one file per dataset/system/seed)."""
    paths = [p for p in sorted(results_dir.glob("*.json")) if p.name != "environment.json"]
    records = [json.loads(p.read_text()) for p in paths]
    refs = {r["dataset"]: r for r in records if r.get("system") == "reference"}
    runs = [r for r in records if r.get("system") != "reference"]
    env_path = results_dir / "environment.json"
    env = json.loads(env_path.read_text()) if env_path.exists() else environment_record()
    commands = sorted({current_command(r.get("command", "")) for r in runs} - {""})
    lines = [
        "# Benchmark: tabdiff against the tools a user would pick instead",
        "",
        "Generated by `python -m benchmarks.bench_peers` (raw per-run JSON in "
        f"`{os.path.relpath(results_dir, REPO)}/`; rebuild this file with `--report-only`). "
        "Each cell is mean ± sample std over seeds; every fit + sample ran in a fresh subprocess.",
        "",
        "**Columns.** *fit s* / *sample s*: wall-clock seconds of training and of generating as many rows "
        "as the training table (the tool's import time is left out). *peak RSS MB*: peak resident memory of "
        "that subprocess and its children (MB). The rest is `tabdiff_cli.evaluate_tables(train, "
        "generated, test=test, target=…, discrete_columns=<schema's categorical/boolean>)` (defined in "
        "tabdiff_cli/evaluation/metrics.py): "
        "*shape err* / *trend err* in % (0 ideal), *C2ST* detection score with logistic regression / "
        "gradient boosting / XGBoost (1 ideal; XGBoost is TabPC's judge, – for runs scored before "
        "`evaluate` had it), *α-precision* / *β-recall* (1 ideal), *TSTR* accuracy / macro-F1 of a "
        "model trained on generated rows and tested on the real test rows (the reference row shows "
        "train-on-real), *DCR ratio* (≈ 1 ideal, ≪ 1 means copying) and *DCR share* (ideal ≈ "
        "n_train / (n_train + n_test), shown in the reference row). The reference row scores the real "
        "held-out rows as if they were generated: the floor this evaluator reaches on real data.",
        "",
        f"**Where a metric saturates.** The *{BASELINE}* row draws every column independently from its own "
        "empirical distribution in the training rows (`tabdiff_cli.evaluation.baselines.independent_marginals`, "
        "as many rows, seed 0; no training) and is scored like a generated table: a model that learned only "
        "the marginals. A metric on which it matches the reference row (shape error, the logistic C2ST) "
        "cannot tell a joint model from one; the tree judges (GBT, XGB) and the trend error can. Both "
        "baseline rows come from `python -m benchmarks.bench_peers --baselines` (tabdiff's own venv suffices).",
        "",
        "**Timings are noisy**: the machine is shared; compare seconds within one run of this script only.",
        "",
    ]
    for name in [d for d in KNOWN_DATASETS if any(r["dataset"] == d for r in runs)]:
        lines += dataset_section(name, [r for r in runs if r["dataset"] == name], refs.get(name))
    lines += environment_section(env, commands)
    return "\n".join(lines) + "\n"


def environment_section(env: dict, commands: list[str]) -> list[str]:
    """Machine, versions, date and the commands that produced the runs."""
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines = [
        "## Environment",
        "",
        f"- Machine: {env['cores']} cores, {env['cpu']}, {env['ram']} RAM ({env['platform']})",
        f"- Python {env['python']}; {versions}",
        f"- Date: {env['date']}; OMP_NUM_THREADS: {env.get('omp_num_threads', 'unset')}",
        "- Command(s):",
        *[f"  - `{c}`" for c in commands],
        f"- Evaluation on Adult: detection and TSTR models on at most {ADULT_EVAL_MAX_ROWS:,} rows per table "
        "(evaluate_tables max_rows; shape and trend use every row).",
        "",
    ]
    return lines


# ------------------------------------------------------------------------------------------------ main


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line flags (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default=None,
                   help=f"comma list of {', '.join(KNOWN_DATASETS)} (default: {', '.join(DATASET_ORDER)})")
    p.add_argument("--systems", default="all", help=f"comma list of {', '.join(SYSTEM_KEYS)} (default all)")
    p.add_argument("--seeds", default=None, help="comma list of seeds (default 0,1,2; --quick: 0)")
    p.add_argument("--quick", action="store_true",
                   help="1 seed and small budgets (smoke test): RESULTS_peers_quick.md, results/peers_quick/")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from the saved JSON")
    p.add_argument("--baselines", action="store_true",
                   help="only (re)compute the rows that need no training (real held-out rows, independent "
                        "marginals) of every dataset with results in --results-dir (or --datasets if given), "
                        "then rebuild the report; runs in tabdiff's own venv")
    p.add_argument("--deadline-min", type=float, default=None,
                   help="skip runs that would end after this many minutes (default 55; --quick/0: none)")
    p.add_argument("--adult-budget-s", type=float, default=ADULT_BUDGET_S,
                   help=f"training seconds of tabdiff default and mostlyai-engine on Adult "
                        f"(default {ADULT_BUDGET_S:g})")
    p.add_argument("--match-mostlyai", action="store_true",
                   help="Adult and the extra tables: mostlyai-engine trains to its own early stop and runs first; "
                        "tabdiff (default) gets its fit time as the training budget (issue #7's criterion): "
                        "RESULTS_peers_matched.md, results/peers_matched/")
    p.add_argument("--threads", type=int, default=None,
                   help="OMP_NUM_THREADS for every run (default: each tool's choice; 1 helps a busy machine)")
    add_data_dir(p)
    p.add_argument("--results-dir", type=Path, default=None,
                   help="run JSON folder (default benchmarks/results/peers[_quick][_matched])")
    p.add_argument("--out", type=Path, default=None,
                   help="report path (default benchmarks/RESULTS_peers[_quick][_matched].md)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    variant = "".join(f"_{v}" for v, on in (("quick", args.quick), ("matched", args.match_mostlyai)) if on)
    args.results_dir = args.results_dir or RESULTS_DIR / f"peers{variant}"
    args.out = args.out or BENCH_DIR / f"RESULTS_peers{variant}.md"
    if args.deadline_min is None:
        args.deadline_min = 0 if args.quick else DEADLINE_MIN
    args.seed_list = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
    datasets = args.datasets or ("" if args.baselines else ",".join(DATASET_ORDER))
    args.dataset_list = [d.strip() for d in datasets.split(",") if d.strip()]
    if args.systems == "all":
        args.system_list = list(SYSTEMS)
    else:
        keys = [LEGACY_KEYS.get(s.strip(), s.strip()) for s in args.systems.split(",")]
        unknown = [k for k in keys if k not in SYSTEM_KEYS]
        if unknown:
            p.error(f"unknown system(s) {unknown}; known: {', '.join(SYSTEM_KEYS)}")
        args.system_list = [SYSTEM_KEYS[k] for k in keys]
    # Run order: the head-to-head pair first, so that a deadline cut never loses it.
    args.system_list.sort(key=lambda s: RUN_PRIORITY.index(s) if s in RUN_PRIORITY else len(RUN_PRIORITY))
    return args


def skipped_record(ds: Dataset, system: str, seed: int, plan: RunPlan, reason: str) -> dict:
    """The record of a run that was not started (its peer is unavailable, or the deadline is near)."""
    return {"dataset": ds.name, "system": system, "seed": seed, "plan": asdict(plan), "status": "skipped",
            "error": reason, "n_train": len(ds.train), "n_test": len(ds.test), "n_sample": len(ds.train),
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command_line(__file__)}


MOSTLY, TABDIFF_DEFAULT = "mostlyai-engine TabularARGN", "tabdiff (default)"
MATCH_MARGIN_S = 5.0  # tabdiff's fit beyond its training loop (encoder fit, tensors, EMA copy): ~2-4 s on Adult


def matched_order(systems: list[str]) -> list[str]:
    """--match-mostlyai: mostlyai-engine first, so that tabdiff (default) can take its time as a budget."""
    first = [s for s in (MOSTLY, TABDIFF_DEFAULT) if s in systems]
    return first + [s for s in systems if s not in first]


def matched_plan(plan: RunPlan, system: str, mostly_fit_s: float | None) -> RunPlan:
    """--match-mostlyai: mostlyai-engine trains to its own early stop (no budget); tabdiff (default) then
    gets training.max_time = mostlyai's fit seconds in the same seed minus MATCH_MARGIN_S, so that its whole
    fit takes no longer (issue #7: 'fit <= the time mostlyai-engine takes on the same machine in the same
    run'). Without a mostlyai time (it failed or was not run) tabdiff keeps the plan's budget."""
    if system == MOSTLY:
        return replace(plan, budget_s=None, timeout_s=1800.0, expected_s=420.0,
                       note="no budget: trains until its own early stopping; runs first in each seed")
    if system == TABDIFF_DEFAULT and mostly_fit_s is not None:
        budget = max(10.0, mostly_fit_s - MATCH_MARGIN_S)
        return replace(plan, budget_s=budget, timeout_s=budget + 600, expected_s=budget + 200,
                       note=f"training.max_time = mostlyai-engine's fit time in the same seed "
                            f"minus {MATCH_MARGIN_S:g} s (--match-mostlyai)")
    return plan


def run_all(args: argparse.Namespace) -> None:
    """Every dataset × seed × system, one JSON per run.

    Seeds are the middle loop so that a deadline cuts the last seeds of a dataset, not whole systems. A system
    found unavailable is skipped for the rest of the run.
    """
    args.results_dir.mkdir(parents=True, exist_ok=True)
    write_report(args.results_dir / "environment.json", json.dumps(environment_record(), indent=1))
    planned = sum(plan_for(d, s, args.quick, args.adult_budget_s).expected_s
                  for d in args.dataset_list for s in args.system_list) * len(args.seed_list)
    sizes = (f"{len(args.dataset_list)} dataset(s) × {len(args.system_list)} system(s) × "
             f"{len(args.seed_list)} seed(s)")
    print(f"planned: {planned / 60:.0f} min on 2 idle cores ({sizes})", flush=True)
    start = time.perf_counter()
    deadline = args.deadline_min * 60 if args.deadline_min else float("inf")
    unavailable: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="tabdiff-bench-") as tmp:
        workdir = Path(tmp)
        for name in args.dataset_list:
            ds = load_dataset(name, args.data_dir)
            train_path = workdir / f"{name}.train.pkl"
            ds.train.to_pickle(train_path)
            write_baselines(ds, args.results_dir, overwrite=False)
            matched = args.match_mostlyai and name in LARGE_DATASETS
            systems = matched_order(args.system_list) if matched else args.system_list
            for seed in args.seed_list:
                mostly_fit_s = None
                for system in systems:
                    plan = plan_for(name, system, args.quick, args.adult_budget_s)
                    if matched:
                        plan = matched_plan(plan, system, mostly_fit_s)
                    elapsed = time.perf_counter() - start
                    if system in unavailable:
                        record = skipped_record(ds, system, seed, plan, unavailable[system])
                    elif elapsed + plan.expected_s > deadline:
                        reason = f"not started: the --deadline-min {args.deadline_min:g} would be passed"
                        record = skipped_record(ds, system, seed, plan, reason)
                    else:
                        record = run_one(ds, system, seed, plan, workdir, train_path)
                    if record["status"] == "unavailable":
                        unavailable[system] = f"unavailable: {record.get('error', '')}"
                    if system == MOSTLY and record["status"] == "ok":
                        mostly_fit_s = float(record["fit_s"])
                    path = args.results_dir / f"{name}__{slug(system)}__seed{seed}.json"
                    write_report(path, json.dumps(record, indent=1, default=str))
                    print(progress_line(record, time.perf_counter() - start), flush=True)


def progress_line(record: dict, elapsed: float) -> str:
    """One line per finished run: what, status, the main numbers, time so far."""
    m = record.get("metrics") or {}
    parts = [f"[{elapsed / 60:5.1f} min] {record['dataset']:5s} {record['system']:28s} seed {record['seed']}",
             record["status"]]
    if record["status"] == "ok":
        nan = float("nan")
        parts.append(f"fit {record['fit_s']:.1f}s sample {record['sample_s']:.1f}s "
                     f"rss {record['peak_rss_mb']:.0f}MB shape {m.get('shape_error_pct') or nan:.1f}% "
                     f"trend {m.get('trend_error_pct') or nan:.1f}% c2st-lr {m.get('c2st_lr') or nan:.3f} "
                     f"eval {record.get('eval_s', 0):.0f}s")
        if (record.get("training") or {}).get("steps"):
            parts.append(f"steps {record['training']['steps']}")
    else:
        parts.append(str(record.get("error", ""))[:200])
    return "  ".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        return worker_main(args.worker)
    if args.threads:
        # Inherited by every worker: torch, XGBoost and scikit-learn read it at start-up.
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)
    if args.baselines:
        for name in args.dataset_list or datasets_with_results(args.results_dir):
            write_baselines(load_dataset(name, args.data_dir), args.results_dir, overwrite=True)
            print(f"{name}: reference and {BASELINE} rows written", flush=True)
    elif not args.report_only:
        run_all(args)
    write_report(args.out, build_report(args.results_dir))
    print(f"wrote {os.path.relpath(args.out, REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
