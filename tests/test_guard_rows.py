"""The guard: fixed seeds give exactly the rows recorded in tests/data/guard_*.csv (CPU).

The rows were recorded by tests/data/make_guard_rows.py. A refactoring must leave them byte-identical; a
change meant to alter what a recipe generates regenerates them and says so in its commit message.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def _recorder():
    spec = importlib.util.spec_from_file_location("make_guard_rows", DATA / "make_guard_rows.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def guard_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("guard")
    return _recorder().record(out), out


@pytest.mark.parametrize("name", ["blog_iris", "default_iris", "default_iris_given", "default_mixed",
                                  "default_mixed_impute", "short_adult", "short_adult_given"])
def test_fixed_seeds_give_the_recorded_rows(guard_rows, name):
    rows, _ = guard_rows
    assert rows[name].to_csv(index=False) == (DATA / f"guard_{name}.csv").read_text()


def test_a_checkpoint_written_before_the_layout_change_loads_and_gives_its_rows():
    """tests/data/legacy_default_mixed.ckpt was written by the release before the package was split into
    layers (commit d7c3b91), with the rows it gave then; it must keep loading and giving them."""
    from tabdiff_cli import DiffusionSynthesizer

    synth = DiffusionSynthesizer.load(DATA / "legacy_default_mixed.ckpt")
    assert synth.sample(150, seed=0).to_csv(index=False) == (DATA / "legacy_default_mixed.csv").read_text()
