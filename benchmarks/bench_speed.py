"""Speed benchmark (`make bench-speed`): tabdiff's fast default against the blog recipe, in one run.

    python -m benchmarks.bench_speed              # everything → benchmarks/RESULTS_speed.md
    python -m benchmarks.bench_speed --no-adult   # Iris only
    python -m benchmarks.bench_speed --quick      # one seed, no 100k / 1M rows: prints, writes no file

Measured side by side on this machine, each in a fresh subprocess (so peak memory is its own):
- blog script         : benchmarks/blog_recipe.py, the blog post's code (DataLoader, 5000 full-batch
                        epochs, 1000 ancestral steps);
- tabdiff blog recipe : tabdiff with configs/iris.yaml (the same recipe through tabdiff);
- tabdiff fast default: tabdiff's default config (auto-sized; ancestral sampling, 100 steps).
For each: fit seconds, sample seconds for 150 and for 100,000 rows, peak RSS (MiB), and quality of the
150-row sample against Iris (shape error %, trend error %, C2ST LR/GBT), mean ± std over seeds. Ratios are
taken against the blog script of the same run (machines here are shared and noisy).
Also the sampler sweep (quality of ancestral / DDIM / DPM-Solver++ at several step counts on the fast
model, against 1000-step ancestral) and Adult: 1,000,000 rows streamed to Parquet (rows/s, peak RSS).

Every run uses its own default torch threads, as a user would run it (torch's default, all cores, for the
blog script; tabdiff's rule in engine.runtime.configure_threads). The first torch optimizer of a process imports
torch._dynamo (about 2 s here); both scripts pay it before the clock starts, as they pay `import torch`.
The 100,000-row samples are drawn once (first seed): sampling speed does not depend on the seed.
Peak memory is each child's own maximum resident set (os.wait4).

TIME PLAN on the reference machine (2 cores shared with other jobs), about 16 minutes, from the seconds in
RESULTS_speed.md: Iris per seed ~65 s (blog script 29 s fit, the blog recipe through tabdiff 15 s, the fast
default 2 s, each child ~5 s of start-up) x 3 seeds; the 100,000-row samples ~2.5 min (the blog script's
alone 150 s); the sampler sweep ~45 s; Adult ~9 min (read and 400 training steps ~40 s, 1,000,000 rows at
20 DPM-Solver++ steps ~470 s). --no-adult: ~7 minutes; --quick: ~2 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import BENCH_DIR, REPO, add_data_dir, command_line, environment, write_report

OUT = BENCH_DIR / "RESULTS_speed.md"


def _child(code: str, timeout: float = 3600) -> dict:
    """Run `code` in a fresh interpreter; it prints one JSON line last. Adds the child's peak RSS (MiB)."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=err, text=True, env=env, cwd=REPO)
        start = time.monotonic()
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                proc.kill()
                raise RuntimeError(f"timed out after {timeout:.0f} s")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(err.read()[-2000:])
        result = json.loads(out.read().strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


_WARM = """
import torch
torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))]).step()  # imports torch._dynamo (module docstring)
"""


_QUALITY = """
def quality(gen):
    from tabdiff_cli import evaluate_tables
    r = evaluate_tables(real, gen, discrete_columns=["target"], seed=0)
    return dict(shape=r["shape"]["shape_error_pct"], trend=r["trend"]["trend_error_pct"],
                c2st_lr=r["c2st"]["logistic_regression"], c2st_gbt=r["c2st"]["gradient_boosting"])
"""

BLOG_SCRIPT = _WARM + """
import json, time, torch
from benchmarks.blog_recipe import BlogRecipeModel, load_iris_frame
real = load_iris_frame()
""" + _QUALITY + """
t = time.perf_counter(); m = BlogRecipeModel(seed={seed}).fit(real); fit = time.perf_counter() - t
t = time.perf_counter(); g = m.sample(150); s150 = time.perf_counter() - t
s100k = None
if {big}:
    t = time.perf_counter(); m.sample(100000); s100k = time.perf_counter() - t
print(json.dumps(dict(fit=fit, sample150=s150, sample100k=s100k, **quality(g))))
"""

TABDIFF_SCRIPT = _WARM + """
import json, time
from tabdiff_cli import DiffusionSynthesizer, load_config
from tabdiff_cli.table.io import load_builtin
real = load_builtin("iris")
""" + _QUALITY + """
cfg = load_config({config!r})
t = time.perf_counter(); m = DiffusionSynthesizer(cfg).fit(real, seed={seed}); fit = time.perf_counter() - t
t = time.perf_counter(); g = m.sample(150, seed={seed}); s150 = time.perf_counter() - t
s100k = None
if {big}:
    t = time.perf_counter(); m.sample(100000, seed={seed}); s100k = time.perf_counter() - t
print(json.dumps(dict(fit=fit, sample150=s150, sample100k=s100k, **quality(g))))
"""

SAMPLER_SCRIPT = """
import json
from tabdiff_cli import DiffusionSynthesizer, load_config
from tabdiff_cli.table.io import load_builtin
real = load_builtin("iris")
""" + _QUALITY + """
m = DiffusionSynthesizer(load_config(None)).fit(real, seed={seed})
res = {{}}
for sampler, steps in {grid!r}:
    g = m.sample(600, seed={seed}, sampler=sampler, steps=steps)
    res[f"{{sampler}}:{{steps}}"] = quality(g)
print(json.dumps(res))
"""

ADULT_SCRIPT = """
import json, time
from tabdiff_cli import DiffusionSynthesizer, load_config
from tabdiff_cli.table.io import read_table, StreamingTableWriter
cfg = load_config(None)
cfg.training.steps = {steps}
df = read_table({path!r})
m = DiffusionSynthesizer(cfg).fit(df, seed=0)
t = time.perf_counter()
with StreamingTableWriter({out!r}, m.na_markers) as w:
    for part in m.iter_sample({n}, seed=0, sampler={sampler!r}, steps={sample_steps}):
        w.write(part)
secs = time.perf_counter() - t
import os
print(json.dumps(dict(rows=w.rows, seconds=secs, rows_per_s=w.rows / secs, file_mib=os.path.getsize({out!r}) / 2**20)))
"""


def mean_std(values: list[float | None]) -> str:
    v = [x for x in values if x is not None]
    if not v:
        return "—"
    return f"{np.mean(v):.3g} ± {np.std(v):.2g}" if len(v) > 1 else f"{v[0]:.3g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--quick", action="store_true", help="one seed, no 100k / 1M rows (smoke test)")
    ap.add_argument("--no-adult", action="store_true")
    ap.add_argument("--adult-rows", type=int, default=1_000_000)
    ap.add_argument("--adult-sampler", default="dpmpp2m")
    ap.add_argument("--adult-steps", type=int, default=20,
                    help="sampling steps for the Adult rows (time grows linearly with them)")
    add_data_dir(ap)
    ap.add_argument("--out", type=Path, default=None,
                    help=f"report path (default {OUT.relative_to(REPO)}; --quick: none, the report is printed)")
    args = ap.parse_args()
    from tabdiff_cli.config import preset_path

    out_path = args.out if args.out is not None else (None if args.quick else OUT)
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    big = not args.quick

    def large(s: int) -> bool:  # 100k rows once per system, on the first seed
        return big and s == seeds[0]

    systems = {
        "blog script": lambda s: BLOG_SCRIPT.format(seed=s, big=large(s)),
        "tabdiff blog recipe": lambda s: TABDIFF_SCRIPT.format(seed=s, big=False, config=str(preset_path("iris"))),
        "tabdiff fast default": lambda s: TABDIFF_SCRIPT.format(seed=s, big=large(s), config=None),
    }
    runs: dict[str, list[dict]] = {k: [] for k in systems}
    for s in seeds:
        for name, make in systems.items():
            t = time.time()
            runs[name].append(_child(make(s)))
            print(f"{name} seed {s}: {runs[name][-1]} ({time.time() - t:.0f}s)", flush=True)
    base = {k: np.mean([r[k] for r in runs["blog script"] if r[k] is not None] or [np.nan])
            for k in ("fit", "sample150", "sample100k")}
    lines = [
        "# Speed: tabdiff vs the blog recipe (Iris)", "",
        *environment(),
        "",
        f"Each run at its default torch threads; seeds {seeds} (100k rows: seed {seeds[0]} only; the blog recipe "
        "through tabdiff skips its 100k run, it is the blog script's network and steps); "
        f"{time.strftime('%Y-%m-%d %H:%M')}. Command: `{command_line(__file__)}`.",
        "",
        "| system | fit s | sample 150 s | fit+sample150 speed-up | sample 100k s | 100k speed-up | peak MiB "
        "| shape err % | trend err % | C2ST LR | C2ST GBT |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rs in runs.items():
        fit_sample = np.mean([r["fit"] + r["sample150"] for r in rs])
        s100 = [r["sample100k"] for r in rs]
        speed_fs = (base["fit"] + base["sample150"]) / fit_sample
        s100 = [v for v in s100 if v is not None]
        speed_100 = base["sample100k"] / np.mean(s100) if s100 else float("nan")
        lines.append(
            f"| {name} | {mean_std([r['fit'] for r in rs])} | {mean_std([r['sample150'] for r in rs])} | "
            f"{speed_fs:.1f}× | {mean_std(s100)} | {speed_100:.1f}× | {mean_std([r['peak_mib'] for r in rs])} | "
            f"{mean_std([r['shape'] for r in rs])} | {mean_std([r['trend'] for r in rs])} | "
            f"{mean_std([r['c2st_lr'] for r in rs])} | {mean_std([r['c2st_gbt'] for r in rs])} |")
    grid = [("ancestral", 1000), ("ancestral", 200), ("ancestral", 100), ("ancestral", 50), ("ancestral", 25),
            ("ddim", 50), ("ddim", 25), ("dpmpp2m", 25), ("dpmpp2m", 15)]
    if args.quick:
        grid = [("ancestral", 100), ("ddim", 25)]
    sweeps = [_child(SAMPLER_SCRIPT.format(seed=s, grid=grid)) for s in seeds]
    lines += ["", "## Samplers on the fast default model (Iris, 600 rows per sample)", "",
              "| sampler:steps | shape err % | trend err % | C2ST LR | C2ST GBT |", "|---|---|---|---|---|"]
    for key in sweeps[0]:
        if key == "peak_mib":
            continue
        lines.append(f"| {key} | " + " | ".join(mean_std([sw[key][m] for sw in sweeps])
                                               for m in ("shape", "trend", "c2st_lr", "c2st_gbt")) + " |")
    if big and not args.no_adult:
        with tempfile.TemporaryDirectory() as tmp:
            out = str(Path(tmp) / "adult_1m.parquet")
            r = _child(ADULT_SCRIPT.format(steps=400, path=str(args.data_dir / "adult.csv"), out=out,
                                           n=args.adult_rows, sampler=args.adult_sampler,
                                           sample_steps=args.adult_steps))
            size_mib = r["file_mib"]
        lines += ["", f"## Adult: {args.adult_rows:,} rows streamed to Parquet", "",
                  "Model: default config (hidden 256 x 4 blocks, 499 encoded features) with 400 training steps "
                  "(sampling speed does not depend on training length); "
                  f"{args.adult_sampler} with {args.adult_steps} steps, sampling.batch_size auto (2,048 rows at "
                  "width 256). Time per row grows "
                  "linearly with the steps: rows/s at the default 100 ancestral steps ≈ row-steps/s ÷ 100.", "",
                  "| rows | seconds | rows/s | row-steps/s | Parquet MiB | peak MiB (whole process: fit + sample) |",
                  "|---|---|---|---|---|---|",
                  f"| {r['rows']:,} | {r['seconds']:.0f} | {r['rows_per_s']:,.0f} | "
                  f"{r['rows_per_s'] * args.adult_steps:,.0f} | {size_mib:.0f} | {r['peak_mib']:.0f} |"]
    text = "\n".join(lines) + "\n"
    print(text)
    if out_path is not None:
        write_report(out_path, text)
        print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
