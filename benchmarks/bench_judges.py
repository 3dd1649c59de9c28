"""What the detection judges of `tabdiff evaluate` cost on an Adult-sized table (`make bench-judges`).

REAL: Adult's training rows (../shared/data/adult.csv), subsampled to --rows (20,000: evaluate's default
max_rows). GEN: the same number of rows with every column permuted independently (marginals kept, the joint
broken), so that each judge has something to find. Both go through evaluate's own encoding
(tabdiff_cli.evaluation.metrics), then each judge runs evaluate's 3-fold protocol; printed per judge: the
seconds for the three folds (fit + predict), the score and the per-fold AUCs. Also printed: the seconds
`import xgboost` adds once numpy, pandas, scipy and scikit-learn are loaded (they always are in evaluate),
and the installed size of the xgboost package. The numbers go to docs/evaluation.md with the date.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import add_data_dir

IMPORT_PROBE = (
    "import time, numpy, pandas, scipy.stats, sklearn.ensemble, sklearn.linear_model, sklearn.metrics\n"
    "t = time.perf_counter()\nfrom xgboost import XGBClassifier\nprint(time.perf_counter() - t)"
)


def import_seconds(repeats: int = 3) -> list[float]:
    """Seconds of `from xgboost import XGBClassifier` in fresh interpreters, after evaluate's own imports."""
    return [float(subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(repeats)]


def installed_mib() -> float:
    import xgboost

    folder = Path(xgboost.__file__).parent
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000, help="Rows of REAL and of GEN.")
    parser.add_argument("--seed", type=int, default=0)
    add_data_dir(parser)
    args = parser.parse_args(argv)

    import xgboost
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import RobustScaler

    from tabdiff_cli.evaluation import metrics as m
    from tabdiff_cli.table.io import read_table

    real = read_table(args.data_dir / "adult.csv").sample(n=args.rows, random_state=args.seed).reset_index(drop=True)
    rng = np.random.default_rng(args.seed)
    gen = real.apply(lambda col: col.to_numpy()[rng.permutation(len(col))])
    columns = list(real.columns)
    kinds, temporal = m._column_kinds(real, set(m.discrete_columns(real)))
    prepared = m._prepare({"REAL": real, "GEN": gen}, columns, kinds, temporal, [])
    X_real, X_gen = m._raw_design([prepared["REAL"], prepared["GEN"]], columns, kinds)
    X = np.vstack([X_real, X_gen])
    y = np.concatenate([np.ones(len(X_real)), np.zeros(len(X_gen))])
    X_filled = np.where(np.isnan(X), np.nanmean(X_real, axis=0)[None, :], X)
    threads = 1 if len(X) < m._SINGLE_THREAD_ROWS else None
    judges = {
        "logistic regression": (X_filled, lambda: make_pipeline(SimpleImputer(), RobustScaler(),
                                                                 LogisticRegression(solver="lbfgs"))),
        "HistGradientBoosting": (X, lambda: HistGradientBoostingClassifier(random_state=args.seed)),
        "XGBoost": (X_filled, lambda: make_pipeline(SimpleImputer(), RobustScaler(),
                                                    xgboost.XGBClassifier(random_state=args.seed, n_jobs=threads))),
    }
    print(f"xgboost {xgboost.__version__}, installed {installed_mib():.1f} MiB; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPUs")
    print("import xgboost after evaluate's imports (s): " + ", ".join(f"{s:.3f}" for s in import_seconds()))
    print(f"REAL {len(X_real)} rows, GEN {len(X_gen)} rows, {X.shape[1]} features")
    for name, (features, make) in judges.items():
        t = time.perf_counter()
        score, aucs = m._detection_scores(features, y, make, args.seed)
        print(f"{name:22s} {time.perf_counter() - t:6.1f} s  score {score:.3f}  AUCs "
              + ", ".join(f"{a:.3f}" for a in aucs))


if __name__ == "__main__":
    main()
