"""A table with tens of thousands of levels fits in bounded time and memory (`make bench-levels`).

The table (generated, seeded): --rows rows (50,000) of `transaction_id` (unique), `customer_id` (45,000
levels), `merchant_id` (150), `category` (8) and `amount` (log-normal, by category). It is written to a
temporary CSV and fitted by the command a user would run, `tabdiff fit big.csv --epochs 2 --device cpu`, in a
child process: wall seconds (start-up included) and the child's peak resident memory (os.wait4), beside
the encoded width and training steps the checkpoint records. Then `tabdiff sample --n ROWS` from it.

The cap: a categorical column keeps its data.max_categories − 1 (499) most frequent levels and draws the
rest from one shared slot, so the encoded width, and with it the network and the batches, is bounded
whatever the number of levels (docs/configuration.md, data.max_categories). Printed, one line per step.
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
import pandas as pd


def customers(rng: np.random.Generator, rows: int) -> np.ndarray:
    """(rows,) customer numbers: 90 % of the rows each a customer of their own, the rest repeat them."""
    distinct = int(rows * 0.9)
    ids = np.concatenate([np.arange(distinct), rng.integers(0, distinct, rows - distinct)])
    return rng.permutation(ids)


def levels_table(rows: int, seed: int = 0) -> pd.DataFrame:
    """The high-cardinality table: (rows, 5), seeded."""
    rng = np.random.default_rng(seed)
    category = rng.choice([f"cat{k}" for k in range(8)], rows)
    scale = {f"cat{k}": 10.0 * (k + 1) for k in range(8)}
    return pd.DataFrame({
        "transaction_id": np.arange(1, rows + 1),
        "customer_id": [f"C{v:06d}" for v in customers(rng, rows)],
        "merchant_id": [f"M{v:03d}" for v in rng.integers(0, 150, rows)],
        "category": category,
        "amount": np.round(rng.lognormal(0, 0.7, rows) * np.vectorize(scale.get)(category), 2),
    })


def run(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of one child command."""
    t0 = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code:
        sys.stderr.write(child.stderr.read().decode())
    return seconds, usage.ru_maxrss / 1024, code


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    tabdiff = str(Path(sys.executable).with_name("tabdiff"))
    with tempfile.TemporaryDirectory() as tmp:
        data, model = Path(tmp) / "big.csv", Path(tmp) / "big.ckpt"
        df = levels_table(args.rows)
        df.to_csv(data, index=False)
        print(f"table: {args.rows} rows; levels: " + ", ".join(f"{c} {df[c].nunique()}" for c in df.columns))
        fit_s, fit_mib, code = run([tabdiff, "fit", str(data), "--epochs", str(args.epochs), "--device", "cpu",
                                    "--model", str(model), "--seed", "0", "-q"])
        print(f"fit --epochs {args.epochs}: {fit_s:.1f} s, peak {fit_mib:.0f} MiB, exit {code}")
        if code:
            raise SystemExit(code)
        from tabdiff_cli import DiffusionSynthesizer

        synth = DiffusionSynthesizer.load(model)
        meta = {k: v for k, v in synth.model.meta.items() if isinstance(v, (int, float, str))}
        print(f"encoded width {synth.encoder.n_features}; fit recorded {json.dumps(meta)}")
        out = Path(tmp) / "gen.csv"
        sample_s, sample_mib, code = run([tabdiff, "sample", "-m", str(model), "--n", str(args.rows), "--seed", "0",
                                          "--out", str(out), "-q"])
        print(f"sample --n {args.rows}: {sample_s:.1f} s, peak {sample_mib:.0f} MiB, exit {code}")


if __name__ == "__main__":
    main()
