"""Fit time with 1 vs N processes (PyTorch DDP through `tabdiff fit --nproc N`), and that they agree.

Every run is the same command line (the default recipe, fixed steps, batch and seed) in a fresh process:
`tabdiff fit DATA --steps S --batch-size B --seed 0 --nproc N --device cpu`. Reported per N: wall seconds of
the whole command (start-up, reading, encoder, training, checkpoint), the training loop's seconds
(checkpoint meta `fit_seconds`, rank 0), the final loss, and the largest weight difference from the
1-process checkpoint. Prints a markdown table and appends it, with machine information, to
benchmarks/RESULTS_ddp.md.

    python benchmarks/bench_ddp.py                       # Adult, 300 steps, batch 1024, N = 1 and 2
    python benchmarks/bench_ddp.py --nprocs 1,2,4 --steps 1000
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path(os.environ.get("TABDIFF_SHARED", HERE.parent.parent / "shared")) / "data" / "adult.csv"


def machine_info() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"{cpu}; {os.cpu_count()} logical CPUs; load average {load}; GPU {gpu}; "
            f"Python {platform.python_version()}; torch {torch.__version__}; "
            f"{platform.system()} {platform.release()}")


def run_fit(data: Path, out: Path, nproc: int, steps: int, batch: int, seed: int, device: str) -> float:
    cmd = [sys.executable, "-m", "tabdiff_cli", "fit", str(data), "--model", str(out), "--steps", str(steps),
           "--batch-size", str(batch), "--seed", str(seed), "--device", device, "--nproc", str(nproc),
           "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"fit with {nproc} process(es) failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nprocs", default="1,2", help="comma-separated process counts; the first is the "
                    "reference")
    ap.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (nccl, one GPU per process)")
    ap.add_argument("--results", type=Path, default=HERE / "RESULTS_ddp.md")
    args = ap.parse_args()

    from safetensors.torch import load_file
    from tabdiff_cli.checkpoint import load_checkpoint

    nprocs = [int(v) for v in args.nprocs.split(",")]
    info = machine_info()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ref = None
        for n in nprocs:
            ckpt = Path(tmp) / f"n{n}.ckpt"
            wall = run_fit(args.data, ckpt, n, args.steps, args.batch, args.seed, args.device)
            header = load_checkpoint(ckpt)[1]
            meta = header["meta"]
            weights = load_file(str(ckpt))
            if ref is None:
                ref = (weights, meta, header["config"])
            elif header["config"] != ref[2]:  # e.g. the packaged default config was edited during the run
                sys.exit(f"the {n}-process run used another config than the first; run the benchmark again")
            diff = max(float((weights[k] - ref[0][k]).abs().max()) for k in weights)
            pairs = zip(meta["loss_history"], ref[1]["loss_history"], strict=True)
            loss_diff = max(abs(a - b) for a, b in pairs)
            rows.append((n, wall, meta["fit_seconds"], meta["final_loss"], loss_diff, diff))
            print(f"N={n}: wall {wall:.1f}s, training {meta['fit_seconds']:.1f}s, final loss "
                  f"{meta['final_loss']:.6f}", flush=True)
    base_fit = rows[0][2]
    lines = [
        f"### {datetime.datetime.now().isoformat(timespec='seconds')}: {args.data.name}, {args.steps} steps, "
        f"batch {args.batch}, seed {args.seed}, device {args.device}",
        "",
        f"Machine: {info}",
        "",
        "| processes | wall s (whole command) | training s | speed-up (training) | final loss "
        "| max abs loss-curve diff | max abs weight diff vs 1st |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, wall, fit_s, loss, loss_diff, diff in rows:
        lines.append(f"| {n} | {wall:.1f} | {fit_s:.1f} | {base_fit / fit_s:.2f}× | {loss:.6f} "
                     f"| {loss_diff:.2e} | {diff:.2e} |")
    table = "\n".join(lines) + "\n"
    print()
    print(table)
    header = "" if args.results.exists() else (
        "# DDP benchmark: `tabdiff fit --nproc N`\n\n"
        "Written by benchmarks/bench_ddp.py (one section per run). "
        "Same command, config, steps, global batch and seed for every N; the weights should agree to float "
        "rounding.\n\n")
    with args.results.open("a", encoding="utf-8") as f:
        f.write(header + table + "\n")
    print(f"appended to {args.results}")


if __name__ == "__main__":
    main()
