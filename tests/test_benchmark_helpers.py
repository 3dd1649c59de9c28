"""The benchmark runner's own logic (benchmarks/peers.py, benchmarks/run_benchmarks.py): what it hands to the
peers and reads back must not change their results."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import run_benchmarks as rb  # noqa: E402
from peers import restore_frame  # noqa: E402


def test_booleans_returned_as_text_keep_their_value():
    """Bug: mostlyai-engine returned Shoppers' booleans as 'True'/'False' text, astype(bool) read every one
    as True (Revenue True in 100 % of rows against 15.5 %), and its shape error came out 11.8 %."""
    like = pd.DataFrame({"b": [True, False], "n": [1, 2]})
    gen = pd.DataFrame({"b": ["False", "True", "false", "0"], "n": [1.0, 2.4, 2.6, 3.0]})
    out = restore_frame(gen, like)
    assert out["b"].tolist() == [False, True, False, False]
    assert out["b"].dtype == bool and out["n"].tolist() == [1, 2, 3, 3]
    assert restore_frame(pd.DataFrame({"b": [False, True], "n": [1, 2]}), like)["b"].tolist() == [False, True]


def test_match_mostlyai_gives_tabdiff_the_engines_fit_time():
    systems = ["tabdiff (default)", "SDV CTGAN", "mostlyai-engine TabularARGN"]
    assert rb.matched_order(systems) == ["mostlyai-engine TabularARGN", "tabdiff (default)", "SDV CTGAN"]
    mostly = rb.matched_plan(rb.plan_for("adult", rb.MOSTLY, False), rb.MOSTLY, None)
    assert mostly.budget_s is None  # its own early stopping
    tabdiff = rb.plan_for("adult", rb.TABDIFF_DEFAULT, False)
    assert rb.matched_plan(tabdiff, rb.TABDIFF_DEFAULT, 240.0).budget_s == 240.0 - rb.MATCH_MARGIN_S
    assert rb.matched_plan(tabdiff, rb.TABDIFF_DEFAULT, None).budget_s == tabdiff.budget_s  # no engine time
    assert rb.parse_args(["--match-mostlyai"]).match_mostlyai
