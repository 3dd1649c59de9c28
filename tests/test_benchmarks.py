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


# ------------------------------------------------------------------------------------------------ published


def test_tabpc_split_is_tabdiffs_seeded_shuffle_and_retries_until_every_level_is_in_train():
    """TabDiff's train_val_test_split: np.random.seed(1234) + shuffle, 90 % train; the next seed (same
    array shuffled again) when a categorical level would be missing from train."""
    from benchmarks.bench_published import tabpc_split

    train, test, seed = tabpc_split(10, [], lambda pos: [])
    assert (train.tolist(), test.tolist(), seed) == ([7, 2, 9, 1, 0, 8, 4, 5, 6], [3], 1234)
    col = ["a"] * 10
    col[3] = "rare"  # only in the row that seed 1234 sends to test
    train, test, seed = tabpc_split(10, [set(col)], lambda pos: [{col[i] for i in pos}])
    assert (train.tolist(), test.tolist(), seed) == ([0, 6, 8, 7, 2, 4, 1, 5, 3], [9], 1235)


def test_published_numbers_are_tabpcs_files_and_print_as_the_issue_quotes_them():
    """Issue #23's Adult numbers: TabPC 0.58 / 1.44 %, 0.855; TabDiff 0.68 / 1.54 %, 0.841; TabSyn 0.79 / 2.05 %,
    0.794; independent marginals (TabPC's FF) shape 0.39 %, LR C2ST 1.0, XGBoost 0.016."""
    from benchmarks.bench_published import published, published_cell

    pub = published()
    assert len(pub) == 5 * 4 * 5  # five metrics x four models x five datasets
    want = {"TabPC": ("0.58", "1.44", "0.855"), "TabDiff": ("0.68", "1.54", "0.841"),
            "TabSyn": ("0.79", "2.05", "0.794"), "FullyFactorizedPreprocessed": ("0.39", "7.49", "0.016")}
    for model, (shape, trend, xgb) in want.items():
        assert published_cell(pub, "shape", model, "adult", True, 2).startswith(shape + " ± ")
        assert published_cell(pub, "trend", model, "adult", True, 2).startswith(trend + " ± ")
        assert published_cell(pub, "xgb_detection", model, "adult", False, 3).startswith(xgb + " ± ")
    assert published_cell(pub, "lr_detection", "FullyFactorizedPreprocessed", "adult", False, 3) == "1.000 ± 0.000"
    assert published_cell(pub, "shape", "TabPC", "news", True, 2) == "not in their files"
    assert pub[("training_time", "TabDiff", "adult")] == (11604.6, 2638.2714)


def test_published_table_puts_tabdiffs_seeds_beside_tabpcs_rows():
    from benchmarks.bench_published import dataset_table, published, summary_table

    def rec(system, seed, shape, xgb, fit_s=None):
        return {"dataset": "magic", "system": system, "seed": seed, "fit_s": fit_s,
                "metrics": {"shape_error_pct": shape, "trend_error_pct": 1.0, "c2st_lr": 0.99, "c2st_xgb": xgb}}

    records = [rec("tabdiff (default)", 1, 1.0, 0.5, 120.0), rec("tabdiff (default)", 0, 2.0, 0.7, 180.0),
               rec("independent marginals", 0, 0.5, 0.01), rec("real test rows", 0, 0.9, 0.95)]
    rows = dataset_table("magic", records, published())
    assert rows[2] == ("| **tabdiff (default)** | this repo, seeds 0, 1, CPU | 1.50 ± 0.71 | 1.00 ± 0.00 | "
                       "0.990 ± 0.000 | 0.600 ± 0.141 | 150 ± 42 (2.5 min) |")
    assert rows[3] == ("| TabPC | TabPC's files, GPU | 0.98 ± 0.13 | 1.70 ± 0.51 | 0.995 ± 0.007 | 0.860 ± 0.014 | "
                       "39 ± 2 (1 min) |")
    assert [r.split(" | ")[0] for r in rows[4:]] == ["| TabDiff", "| TabSyn", "| independent marginals",
                                                    "| independent marginals (TabPC's FF)", "| real test rows"]
    summary = summary_table(records, published())
    assert summary[2] == "| **tabdiff (default)**, this repo, CPU | 0.600 ± 0.141 |"
    assert summary[-2:] == ["| independent marginals, this repo | 0.010 |", "| real test rows, this repo | 0.950 |"]
