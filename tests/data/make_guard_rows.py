"""Record the guard rows: CPU rows for fixed seeds of the recipes.

tests/test_guard_rows.py checks that the code still produces exactly these rows. Regenerate them only when a
change is meant to alter what a recipe generates, and say so in the commit message. Run from the repository
root: python tests/data/make_guard_rows.py [OUT_DIR]
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tabdiff_cli import DiffusionSynthesizer, load_config, read_table

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
DATA = Path(__file__).parent


def mixed_table() -> pd.DataFrame:
    """120 rows: floats with empty cells, ints, two categoricals (one with empty cells), a bool, a date."""
    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame({
        "height": np.round(rng.normal(170, 10, n), 1),
        "visits": rng.integers(0, 20, n),
        "color": rng.choice(["red", "green", "blue"], n),
        "size": rng.choice(["S", "M", "L", "XL"], n),
        "member": rng.choice([True, False], n),
        "joined": pd.date_range("2021-01-01", periods=n, freq="3D").strftime("%Y-%m-%d"),
    })
    df.loc[rng.choice(n, 15, replace=False), "height"] = np.nan
    df.loc[rng.choice(n, 10, replace=False), "color"] = np.nan
    return df


def short_large_config():
    """The default recipe on a table above 1,024 rows (masked conditioning, spike levels, log-normal times,
    level calibration), with training and sampling cut to seconds."""
    cfg = load_config("configs/default.yaml")
    cfg.training.steps = 60
    # One thread: split over more threads a matrix product sums in another order, float32's last bits
    # differ, and the heavy-tailed columns (fnlwgt ~1e6) round differently. The small tables run on one
    # thread already (config.auto.cpu_threads).
    cfg.training.threads = 1
    cfg.training.calibration_rows = 2048
    cfg.sampling.steps = 20
    return cfg


def holes(df: pd.DataFrame) -> pd.DataFrame:
    """The first 20 rows of df with a seeded fifth of their cells emptied."""
    rng = np.random.default_rng(1)
    out = df.head(20).copy().astype(object)
    out = out.mask(rng.random(out.shape) < 0.2)
    return out


def record(out: Path) -> dict[str, pd.DataFrame]:
    """{name: rows} of every guard run (out: a folder for files the runs write)."""
    iris = read_table("iris")
    mixed = mixed_table()
    adult = read_table(DATA / "adult_sample.csv")
    rows = {}
    blog = DiffusionSynthesizer(load_config("configs/iris.yaml")).fit(iris, seed=0)
    rows["blog_iris"] = blog.sample(150, seed=0)
    default_iris = DiffusionSynthesizer(load_config("configs/default.yaml")).fit(iris, seed=0)
    rows["default_iris"] = default_iris.sample(150, seed=0)
    rows["default_iris_given"] = default_iris.sample(100, seed=0, conditions=["target=setosa"])
    default_mixed = DiffusionSynthesizer(load_config("configs/default.yaml")).fit(mixed, seed=0)
    rows["default_mixed"] = default_mixed.sample(150, seed=0)
    rows["default_mixed_impute"] = default_mixed.impute(holes(mixed), draws=2, seed=0)
    large = DiffusionSynthesizer(short_large_config()).fit(adult, seed=0)
    rows["short_adult"] = large.sample(150, seed=0)
    rows["short_adult_given"] = large.sample(150, seed=0, conditions=["income=>50K", "age>=40"])
    return rows


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, df in record(OUT).items():
        df.to_csv(OUT / f"guard_{name}.csv", index=False)
        print(f"wrote {OUT / f'guard_{name}.csv'} ({len(df)} rows)")
