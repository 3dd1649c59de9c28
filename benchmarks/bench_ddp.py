"""Fit time with 1 vs N processes (PyTorch DDP through `tabdiff fit --nproc N`), and that they agree.

Every run is the same command line (the default recipe, fixed steps, batch and seed) in a fresh process:
`tabdiff fit DATA --steps S --batch-size B --seed 0 --nproc N --device cpu`. Reported per N: wall seconds of
the whole command (start-up, reading, encoder, training, checkpoint), the training loop's seconds
(checkpoint meta `fit_seconds`, rank 0), the final loss, and the largest weight difference from the
1-process checkpoint. Prints a markdown table and appends it, with the environment lines, to
benchmarks/RESULTS_ddp.md.

    python -m benchmarks.bench_ddp                       # Adult, 300 steps, batch 1024, N = 1 and 2
    python -m benchmarks.bench_ddp --nprocs 1,2,4 --steps 1000

TIME PLAN on the reference machine (2 cores shared with other jobs), from RESULTS_ddp.md: about 3 minutes
(N = 1: ~75 s, N = 2: ~90 s, each including ~15-30 s of start-up, reading and the encoder).
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import BENCH_DIR, add_data_dir, command_line, environment, write_report


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
    ap.add_argument("--data", type=Path, default=None, help="the table to fit (default: adult.csv of --data-dir)")
    add_data_dir(ap)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nprocs", default="1,2", help="comma-separated process counts; the first is the "
                    "reference")
    ap.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (nccl, one GPU per process)")
    ap.add_argument("--out", "--results", type=Path, default=BENCH_DIR / "RESULTS_ddp.md",
                    help="report the section is appended to (default benchmarks/RESULTS_ddp.md)")
    args = ap.parse_args()
    args.data = args.data or args.data_dir / "adult.csv"

    from safetensors.torch import load_file

    from tabdiff_cli.engine.checkpoint import load_checkpoint

    nprocs = [int(v) for v in args.nprocs.split(",")]
    info = environment()
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
        *info,
        f"- Command: `{command_line(__file__)}`",
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
    before = args.out.read_text(encoding="utf-8") if args.out.exists() else (
        "# DDP benchmark: `tabdiff fit --nproc N`\n\n"
        "Written by `python -m benchmarks.bench_ddp` (one section per run). "
        "Same command, config, steps, global batch and seed for every N; the weights should agree to float "
        "rounding.\n\n")
    write_report(args.out, before + table + "\n")
    print(f"appended to {args.out}")


if __name__ == "__main__":
    main()
