"""Subsets of the benchmark tables (../shared/data) shipped as test fixtures.

Run from the repository root: python tests/data/make_fixtures.py [--data-dir ../shared/data]
Each fixture is a seeded sample of a benchmark table's rows, kept in the file's order, with the file's own
text (cells are copied as written, never re-formatted).
"""
import argparse
from pathlib import Path

import numpy as np

# (source file, rows, how): "random" = a seeded sample of rows; "block" = a contiguous run (keeps a
# consecutive identifier consecutive)
FIXTURES = {
    "adult.csv": (1500, "random"),
    "adult_test.csv": (300, "random"),
    "default_credit.csv": (400, "block"),
    "online_shoppers.csv": (400, "random"),
    "magic.csv": (300, "random"),
    "beijing_pm25.csv": (400, "random"),
    "abalone.csv": (300, "random"),
    "california_housing.csv": (300, "random"),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--out", default="tests/data")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, (rows, how) in FIXTURES.items():
        src = Path(args.data_dir) / name
        raw = src.read_bytes()
        newline = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
        lines = raw.split(newline)
        if lines and lines[-1] == b"":
            lines = lines[:-1]
        header, body = lines[0], lines[1:]
        rng = np.random.default_rng(0)
        if how == "block":
            start = int(rng.integers(0, len(body) - rows))
            keep = range(start, start + rows)
        else:
            keep = np.sort(rng.choice(len(body), size=rows, replace=False))
        text = newline.join([header, *(body[i] for i in keep)]) + newline
        (out / name.replace(".csv", "_sample.csv")).write_bytes(text)
        print(f"{name}: {rows} of {len(body)} rows ({how}) -> {len(text):,} bytes")


if __name__ == "__main__":
    main()
