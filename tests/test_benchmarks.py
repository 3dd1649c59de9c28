"""The benchmarks' own logic (benchmarks/peers.py, benchmarks/bench_peers.py, benchmarks/bench_conditioning.py):
what the runner hands to the peers and reads back must not change their results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks import bench_peers as rb
from benchmarks.bench_conditioning import Plan, parse_args, section_imputation, versus_knn
from benchmarks.common import BENCH_DIR, RESULTS_DIR, current_command
from benchmarks.peers import restore_frame


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


def test_peers_variants_name_their_report_and_run_folder():
    for argv, name in (([], "peers"), (["--quick"], "peers_quick"), (["--match-mostlyai"], "peers_matched")):
        args = rb.parse_args(argv)
        assert (args.out, args.results_dir) == (BENCH_DIR / f"RESULTS_{name}.md", RESULTS_DIR / name)


def test_runs_recorded_before_the_renames_still_render_in_place():
    """Run JSON written before the blog recipe's rename keeps `tabdiff (seed config)` and the commands of
    `python benchmarks/run_benchmarks.py`: the report places the old name as the new one and prints each
    command as it runs now; the old --systems key still selects the blog recipe."""
    assert rb.system_rank("tabdiff (seed config)") == rb.system_rank("tabdiff (blog recipe)")
    assert rb.system_rank("tabdiff (blog recipe)") < rb.system_rank("tabdiff (default)")
    assert rb.parse_args(["--systems", "tabdiff-seed"]).system_list == ["tabdiff (blog recipe)"]
    old = ("python benchmarks/run_benchmarks.py --match-mostlyai --results-dir benchmarks/results_matched "
           "--out benchmarks/RESULTS_matched.md")
    new = ("python -m benchmarks.bench_peers --match-mostlyai --results-dir benchmarks/results/peers_matched "
           "--out benchmarks/RESULTS_peers_matched.md")
    assert current_command(old) == new and current_command(new) == new
    assert current_command("python benchmarks/bench_tables.py --tables adult") == \
        "python -m benchmarks.bench_tables --tables adult"


def test_imputation_verdict_counts_a_tie_at_full_accuracy_only_with_a_lower_rmse():
    strict = versus_knn({"rmse": 0.67, "acc": 1.0}, {"rmse": 0.70, "acc": 0.987})
    assert strict["beats_both"] and strict["counts"] and not strict["ceiling_tie"]
    tie = versus_knn({"rmse": 0.68, "acc": 1.0}, {"rmse": 0.71, "acc": 1.0})
    assert tie["ceiling_tie"] and tie["counts"] and not tie["beats_both"]
    assert not versus_knn({"rmse": 0.72, "acc": 1.0}, {"rmse": 0.71, "acc": 1.0})["counts"]  # RMSE lost
    assert not versus_knn({"rmse": 0.30, "acc": 0.96}, {"rmse": 0.35, "acc": 0.96})["counts"]  # tie below 1
    assert not versus_knn({"rmse": None, "acc": 1.0}, {"rmse": 0.35, "acc": 0.9})["counts"]

    def rec(table, seed, verdict):
        method = {"method": "tabdiff", "rmse": 0.5, "acc": 1.0, "n_num": 10, "n_cat": 2, "seconds": 1.0}
        return {"table": table, "seed": seed, "n_train": 100, "n_test": 20, "n_fit_rows": 100,
                "methods": [method], **verdict}

    lines, fails = section_imputation([rec("wine", 0, tie), rec("adult", 0, strict), rec("iris", 0, versus_knn(
        {"rmse": 0.42, "acc": 0.98}, {"rmse": 0.37, "acc": 0.95}))], Plan())
    text = "\n".join(lines)
    assert "| wine | 0 | PASS | tie at 1 | PASS (RMSE; accuracy tied at 1) |" in text
    assert ("on 2 of 3 tables; 1 of them on RMSE with both accuracies at 1, 1 strictly on both "
            "(target ≥ 2 of 3): PASS.") in text
    assert fails == []


def test_bench_conditioning_refuses_no_tables_and_a_folder_config(capsys):
    """Helper report: `--tables ","` measured nothing and rewrote RESULTS_conditioning.md as an empty report;
    `--small-config benchmarks` (a folder) raised IsADirectoryError."""
    for argv, message in ((["--tables", ","], "--tables names no table"),
                          (["--small-config", str(Path(__file__).parent)], "is a folder, not a config file")):
        with pytest.raises(SystemExit) as exc:
            parse_args(argv)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ baselines


def test_peers_baseline_rows_need_no_training_and_head_the_table(tmp_path):
    """Issue #23: the independent-marginals row (and the held-out reference) on every dataset of the peer
    report, computed without any peer installed; the tree judges catch the marginals, the shape error does not."""
    ds = rb.load_dataset("iris", tmp_path)
    rb.write_baselines(ds, tmp_path, overwrite=False)
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [
        "iris__independent-marginals-baseline__seed0.json", "iris__reference.json"]
    assert rb.datasets_with_results(tmp_path) == ["iris"]
    base = rb.json.loads((tmp_path / "iris__independent-marginals-baseline__seed0.json").read_text())
    ref = rb.json.loads((tmp_path / "iris__reference.json").read_text())
    assert base["system"] == rb.BASELINE and base["status"] == "ok" and base["n_sample"] == len(ds.train) == 120
    # the marginals are kept (shape error no worse than real held-out rows) but the joint is gone
    assert base["metrics"]["shape_error_pct"] < ref["metrics"]["shape_error_pct"]
    assert base["metrics"]["trend_error_pct"] > 2 * ref["metrics"]["trend_error_pct"]
    assert base["metrics"]["c2st_gbt"] < 0.5 < ref["metrics"]["c2st_gbt"]
    assert "c2st_xgb" in base["metrics"]
    assert rb.system_rank(rb.BASELINE) < min(rb.system_rank(s) for s in rb.SYSTEMS)
    report = rb.build_report(tmp_path)
    rows = [line for line in report.splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| real held-out rows (reference)")
    assert rows[2].startswith(f"| {rb.BASELINE} | 1/1 | – | – | – |")
    assert "C2ST XGB" in rows[0]


def test_peers_baselines_flag_defaults_to_the_datasets_with_results():
    args = rb.parse_args(["--baselines"])
    assert args.baselines and args.dataset_list == []  # filled from the results folder at run time
    assert rb.parse_args([]).dataset_list == list(rb.DATASET_ORDER)
    assert rb.parse_args(["--baselines", "--datasets", "wine"]).dataset_list == ["wine"]

