"""Shared fixtures: small tables, a quickly trained synthesizer, the shared bug-report cases."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "cases"
# Subsets of the benchmark tables and the guard rows, shipped with the tests (tests/data/README.md)
DATA = REPO / "tests" / "data"


@pytest.fixture(scope="session")
def iris_df() -> pd.DataFrame:
    from tabdiff_cli.table.io import load_builtin

    return load_builtin("iris")


@pytest.fixture(scope="session")
def mixed_df() -> pd.DataFrame:
    """A small mixed table: floats, ints, two categoricals, a bool, a date, missing cells."""
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


def quick_config(**training):
    """The default recipe shrunk to seconds: small network, few steps, few sampling steps."""
    from tabdiff_cli.config import load_config

    cfg = load_config(None)
    cfg.model.hidden_dim = 32
    cfg.model.n_blocks = 2
    cfg.training.steps = training.pop("steps", 150)
    cfg.training.batch_size = 256
    cfg.training.warmup_steps = 10
    cfg.sampling.steps = 20
    for k, v in training.items():
        setattr(cfg.training, k, v)
    return cfg


@pytest.fixture(scope="session")
def iris_synth(iris_df):
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    return DiffusionSynthesizer(quick_config(steps=300)).fit(iris_df, seed=0)


@pytest.fixture(scope="session")
def iris_inpainting_synth(iris_df):
    """An unconditional network that inpaints given cells (model.conditional false, as the blog recipe)."""
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    cfg = quick_config(steps=300)
    cfg.model.conditional, cfg.model.dropout = False, 0.0
    return DiffusionSynthesizer(cfg).fit(iris_df, seed=0)
