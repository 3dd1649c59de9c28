"""tabdiff on a CUDA GPU: correctness and speed checks → benchmarks/RESULTS_cuda.md (`make bench-cuda`).

Run on a machine with a CUDA device; every check uses device "cuda". What is measured:

1. Iris, default config, seed 0: fit seconds; 150 rows sampled twice with seed 0 (identical?); 100,000 rows
   with batch_size 1,000 and 50,000 (identical?) and their seconds; shape/trend error % and C2ST (LR)
   of 150 rows against the 150 real ones (tabdiff_cli.evaluate_tables).
2. Adult (adult.csv of --data-dir, default ../shared/data), default config (conditional network,
   6,400 steps), seed 0: fit seconds; 32,561 rows sampled: seconds, shape/trend error %, C2ST (LR),
   worst empty-cell rate gap in percentage points; `income=>50K` conditional rows (every row >50K?);
   imputation of 2,000 test rows with 20 % cells hidden (observed cells unchanged? no cell left empty?).
3. Adult, 1,000,000 rows streamed to Parquet by the CLI (`tabdiff sample --n 1000000 --out x.parquet
   --device cuda`) in a child process: seconds, rows/s, the child's peak host memory (MiB, os.wait4).
   The in-process peak GPU memory of 200,000 rows is reported too (torch.cuda.max_memory_allocated).
4. DDP over NCCL: `tabdiff fit adult.csv --device cuda --steps 300` as one torchrun process against the
   same fit without torchrun: largest weight difference (the NCCL code path on one GPU).

    python -m benchmarks.bench_cuda              # everything, ~3 minutes on an H200
    python -m benchmarks.bench_cuda --quick      # Iris only
    python -m benchmarks.bench_cuda --quick --device cpu --out /tmp/cuda.md   # smoke test without a GPU

The report replaces benchmarks/RESULTS_cuda.md (--out, or $BENCH_CUDA_OUT, to write elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import BENCH_DIR, add_data_dir, command_line, environment, write_report

OUT = BENCH_DIR / "RESULTS_cuda.md"
DEVICE = "cuda"


def _sync() -> None:
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def _timed(fn):
    _sync()
    t = time.perf_counter()
    value = fn()
    _sync()
    return value, time.perf_counter() - t


def _quality(real, gen, schema) -> dict:
    from tabdiff_cli import evaluate_tables

    learned = [c.name for c in schema.columns if c.kind != "id"]
    disc = [c.name for c in schema.columns if c.kind in ("categorical", "boolean")]
    rep = evaluate_tables(real[learned], gen[learned], discrete_columns=disc, seed=0, max_rows=10000)
    return dict(shape=rep["shape"]["shape_error_pct"], trend=rep["trend"]["trend_error_pct"],
                c2st_lr=rep["c2st"]["logistic_regression"])


def iris_section() -> dict:
    from tabdiff_cli import DiffusionSynthesizer, load_config, read_table

    df = read_table("iris")
    cfg = load_config(None)
    cfg.training.device = DEVICE
    synth, fit_s = _timed(lambda: DiffusionSynthesizer(cfg).fit(df, seed=0))
    a = synth.sample(150, seed=0, device=DEVICE)
    b = synth.sample(150, seed=0, device=DEVICE)
    big_a, s_a = _timed(lambda: synth.sample(100_000, seed=0, batch_size=1000, device=DEVICE))
    big_b, s_b = _timed(lambda: synth.sample(100_000, seed=0, batch_size=50_000, device=DEVICE))
    numeric = big_a.select_dtypes("number").columns
    diff = float((big_a[numeric] - big_b[numeric]).abs().max().max())
    return dict(fit_s=fit_s, steps=synth.meta["steps"], same_seed_identical=bool(a.equals(b)),
                batch_identical=bool(big_a.equals(big_b)), batch_max_abs_diff=diff,
                sample100k_b1000_s=s_a, sample100k_b50000_s=s_b,
                **_quality(df, a, synth.schema))


def adult_section(data_dir: Path, steps: int | None) -> dict:
    import torch

    from tabdiff_cli import DiffusionSynthesizer, load_config, read_table

    df = read_table(data_dir / "adult.csv")
    cfg = load_config(None)
    cfg.training.device = DEVICE
    if steps:
        cfg.training.steps = steps
    synth, fit_s = _timed(lambda: DiffusionSynthesizer(cfg).fit(df, seed=0))
    gen, sample_s = _timed(lambda: synth.sample(len(df), seed=0, device=DEVICE))
    gaps = {c: abs(df[c].isna().mean() - gen[c].isna().mean()) * 100 for c in df.columns}
    cond = synth.sample(2000, seed=1, device=DEVICE, conditions=["income=>50K"])
    test = read_table(data_dir / "adult_test.csv").sample(2000, random_state=0).reset_index(drop=True)
    test = test[df.columns]
    rng = np.random.default_rng(0)
    holes = rng.random(test.shape) < 0.2
    holed = test.mask(holes)
    filled, impute_s = _timed(lambda: synth.impute(holed, draws=1, seed=0, device=DEVICE))
    observed = ~holed.isna().to_numpy()
    same = all(((filled[c] == holed[c]) | holed[c].isna()).all() for c in df.columns)
    peak_gpu = None
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
        synth.sample(200_000, seed=0, device=DEVICE, batch_size=50_000)
        peak_gpu = torch.cuda.max_memory_allocated() / 2**20
    path = Path(tempfile.mkdtemp()) / "adult.ckpt"
    synth.save(path)
    return dict(fit_s=fit_s, steps=synth.meta["steps"], conditional=bool(synth.config.model.conditional),
                sample_s=sample_s, rows=len(df), **_quality(df, gen, synth.schema),
                worst_missing_pp=max(gaps.values()),
                cond_rows=len(cond), cond_all_match=bool((cond["income"] == ">50K").all()),
                impute_s=impute_s, observed_cells=int(observed.sum()), observed_unchanged=bool(same),
                empty_after_impute=int(filled.isna().sum().sum()),
                peak_gpu_mib_200k=peak_gpu, checkpoint=str(path))


def million_section(checkpoint: str, rows: int) -> dict:
    out = Path(tempfile.mkdtemp()) / "adult_1m.parquet"
    cmd = [sys.executable, "-m", "tabdiff_cli", "sample", "--model", checkpoint, "--n", str(rows), "--seed", "0",
           "--out", str(out), "--device", DEVICE]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    import pandas as pd

    n = len(pd.read_parquet(out)) if out.exists() else 0
    return dict(rows=n, exit=os.waitstatus_to_exitcode(status), seconds=seconds, rows_per_s=n / seconds,
                peak_host_mib=usage.ru_maxrss / 1024, file_mib=out.stat().st_size / 2**20 if out.exists() else 0)


DDP_CHILD = """
import os, sys, time
os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT="29533")
import torch
from tabdiff_cli import DiffusionSynthesizer, load_config, read_table
from tabdiff_cli.engine import distributed
df = read_table(sys.argv[1])
cfg = load_config(None)
cfg.training.device, cfg.training.steps, cfg.training.batch_size = sys.argv[2], int(sys.argv[3]), 1024
distributed.env_world_size = lambda: 2  # init_from_env skips one-process jobs; this one is on purpose
ctx = distributed.init_from_env(sys.argv[2])
print("backend", ctx.backend, ctx.device)
t = time.perf_counter()
synth = DiffusionSynthesizer(cfg).fit(df, seed=0, distributed=ctx)
print("seconds", time.perf_counter() - t)
synth.save(sys.argv[4])
distributed.cleanup(ctx)
"""


def ddp_section(data_dir: Path, steps: int = 300) -> dict:
    """The DDP code path (process group, rank-0 broadcast, DistributedDataParallel, stop flag) as a
    one-process group: NCCL on cuda:0 (a one-GPU machine cannot hold two NCCL ranks), against the same fit
    without a group. Also: `--nproc 2` on a one-GPU machine must be a clear error (exit 2)."""
    from tabdiff_cli import DiffusionSynthesizer, load_config, read_table
    from tabdiff_cli.engine.checkpoint import load_checkpoint

    tmp = Path(tempfile.mkdtemp())
    proc = subprocess.run([sys.executable, "-c", DDP_CHILD, str(data_dir / "adult.csv"), DEVICE, str(steps),
                           str(tmp / "ddp.ckpt")], capture_output=True, text=True)
    out = dict(exit=proc.returncode, stdout=proc.stdout[-300:], stderr=proc.stderr[-600:])
    cfg = load_config(None)
    cfg.training.device, cfg.training.steps, cfg.training.batch_size = DEVICE, steps, 1024
    DiffusionSynthesizer(cfg).fit(read_table(data_dir / "adult.csv"), seed=0).save(tmp / "plain.ckpt")
    if proc.returncode == 0:
        wa, _ = load_checkpoint(tmp / "plain.ckpt")
        wb, _ = load_checkpoint(tmp / "ddp.ckpt")
        out["max_weight_diff"] = max(float((wa[k] - wb[k]).abs().max()) for k in wa)
    if DEVICE == "cuda":
        two = subprocess.run([sys.executable, "-m", "tabdiff_cli", "fit", "iris", "--nproc", "2", "--device", "cuda",
                              "--steps", "20", "-q", "--model", str(tmp / "two.ckpt")], capture_output=True, text=True)
        out["nproc2_one_gpu"] = dict(exit=two.returncode, stderr=two.stderr[-400:])
    return out


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Iris only")
    ap.add_argument("--sections", default="iris,adult,million,ddp", help="comma list (million needs adult)")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--adult-steps", type=int, default=None, help="training steps (default: the config's)")
    ap.add_argument("--ddp-steps", type=int, default=300)
    ap.add_argument("--device", default="cuda", help="cuda; cpu only to smoke-test this script")
    add_data_dir(ap)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("BENCH_CUDA_OUT", OUT)),
                    help="report path (default $BENCH_CUDA_OUT, else benchmarks/RESULTS_cuda.md)")
    args = ap.parse_args()
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_cuda: no CUDA device here")
    gpu = torch.cuda.get_device_name(0) if DEVICE == "cuda" else "none (cpu)"
    report = dict(measured=time.strftime("%Y-%m-%d %H:%M"), gpu=gpu,
                  torch=torch.__version__, python=platform.python_version(), cpus=os.cpu_count())
    sections = (("iris", iris_section),
                ("adult", lambda: adult_section(args.data_dir, args.adult_steps)),
                ("million", lambda: million_section(report["adult"]["checkpoint"], args.rows)),
                ("ddp", lambda: ddp_section(args.data_dir, args.ddp_steps)))
    chosen = ["iris"] if args.quick else args.sections.split(",")
    for name, fn in [(k, f) for k, f in sections if k in chosen]:
        t = time.perf_counter()
        try:
            report[name] = fn()
        except Exception as exc:  # one failing section must not hide the others' numbers
            report[name] = dict(error=f"{type(exc).__name__}: {exc}")
        print(f"{name} ({time.perf_counter() - t:.0f} s): {json.dumps(report[name], default=str)}", flush=True)
    text = ("# tabdiff on CUDA\n\nWritten by `" + command_line(__file__) + "` (seconds include CUDA "
            "synchronisation).\n\n" + "\n".join(environment()) + "\n\n```json\n"
            + json.dumps(report, indent=1, default=str) + "\n```\n")
    write_report(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
