"""The rules behind "auto" that act at fit and sample time (config/auto.py): pure functions, no training."""

from __future__ import annotations

import pytest

from tabdiff_cli.config import auto
from tabdiff_cli.errors import UserError


def test_sampling_batch_rows_auto_keeps_activations_small_on_cpu():
    """sampling.batch_size auto: rows x hidden width = 2^19 on CPU in whole 1,024-row blocks (8,192 rows at
    width 64, 2,048 at 256), clamped to [1,024, 16,384]; 16,384 on CUDA; a number is taken as given."""
    assert [auto.sampling_batch_rows("auto", h, "cpu") for h in (16, 64, 128, 256, 1024)] == [
        16384, 8192, 4096, 2048, 1024]
    assert auto.sampling_batch_rows("auto", 64, "cuda") == 16384
    assert auto.sampling_batch_rows(5000, 64, "cpu") == 5000
    for bad in ("big", 0, -3, 2.5, True):
        with pytest.raises(UserError, match="sampling.batch_size"):
            auto.sampling_batch_rows(bad, 64, "cpu")


def test_cpu_threads_one_for_small_work_else_the_default():
    assert auto.cpu_threads(None, 150, 64) == 1  # Iris-sized work
    assert auto.cpu_threads(None, 16384, 64) is None  # torch's default
    assert auto.cpu_threads(3, 150, 64) == 3


def test_small_tables_train_on_the_cpu_under_auto():
    assert auto.training_device("auto", 150) == "cpu"
    assert auto.training_device(None, 1024) == "cpu"
    assert auto.training_device("auto", 1025) == "auto"
    assert auto.training_device("cuda", 150) == "cuda"  # an explicit choice is kept


@pytest.mark.parametrize("budget, per_row, rows, expected", [
    (None, 1e-3, 8192, (8192, None)),        # no budget: all rows, training unbounded
    (100.0, 1e-3, 8192, (8192, 100.0 - 8.192)),  # fits in half the budget: training gets the rest
    (10.0, 1e-3, 8192, (4096, 10.0 - 4.096)),    # half the budget, in whole 1,024-row blocks
    (1.5, 1e-3, 8192, (0, 1.5)),             # under one block: no calibration, training keeps the budget
])
def test_the_calibration_gets_at_most_half_the_time_budget(budget, per_row, rows, expected):
    got_rows, train_budget = auto.plan_calibration(budget, per_row, rows)
    assert got_rows == expected[0]
    assert train_budget == (None if expected[1] is None else pytest.approx(expected[1]))


def test_implied_settings():
    assert auto.categorical_encoding("standard") == "standardized"  # the blog recipe's one scaler
    assert auto.categorical_encoding("quantile") == "pm1"
    assert auto.default_guidance(True, 3.0) == 0.0  # a conditional network reads the given cells
    assert auto.default_guidance(False, 3.0) == 3.0


def test_total_steps_from_steps_or_epochs():
    assert auto.total_steps(150, None, 5000, None) == (5000, 150)  # the blog recipe: full batch
    assert auto.total_steps(2500, None, 2, 1024) == (6, 1024)
    assert auto.total_steps(2500, 7, 2, 1024) == (7, 1024)
    with pytest.raises(UserError, match="at least one step"):
        auto.total_steps(10, None, 0, None)


@pytest.mark.parametrize("n_rows, epochs, expected", [
    (32_561, None, 8192),  # Adult, 6,400 steps: the calibration costs 4 % of the training, kept whole
    (50_000, 2, 0),        # 98 steps: 8,192 rows × 200 steps would cost 5x the training
    (4_177, None, 7168),   # Abalone, 1,000 steps of 1,024 rows: capped at half the training, whole blocks
])
def test_the_level_calibration_costs_at_most_half_the_training(n_rows, epochs, expected):
    """Bug: `fit big.csv --epochs 2` (50,000 rows, a 45,000-level column) trained 98 steps in 46 s and then
    generated 8,192 calibration rows for 335 s."""
    from tabdiff_cli.config import Config

    cfg = Config.from_dict({"training": {"epochs": epochs}} if epochs else {})
    out = auto.for_layout(cfg, n_rows, numeric_share=0.3)
    assert out.training.calibration_rows == expected
    steps, batch = auto.total_steps(n_rows, out.training.steps, out.training.epochs, out.training.batch_size)
    evals = out.training.calibration_rows * out.sampling.steps
    assert evals <= auto.CALIBRATION_COST_SHARE * 3 * steps * batch * out.training.noise_draws


def test_fit_size_check_warns_with_the_width_and_steps_and_refuses_past_the_cap():
    """Issue 24: no input may make fit run unbounded without saying so up front."""
    assert auto.fit_size_check(150, 7, 500, ("target", 3)) is None
    text = auto.fit_size_check(50_000, 2_501, 8_000, ("customer_id", 501))
    assert "50,000 rows × 2,501 encoded features" in text and "8,000 planned steps" in text
    assert "'customer_id', 501" in text and "--max-time" in text
    big = auto.fit_size_check(400_000, 1_000, 8_000, ("x", 1))  # 1.5 GiB
    assert big is not None and "1.5 GiB" in big
    with pytest.raises(UserError, match=r"'customer_id'.*over the 16 GiB cap"):
        auto.fit_size_check(10_000_000, 501, 8_000, ("customer_id", 501))


def test_wide_tables_get_a_wider_network_and_more_steps():
    """Issue 24: 300 rows x 120 factor-model columns collapsed to the columns' min/max under a 64-wide network
    trained 500 steps; narrow tables keep their settings (and their guard rows)."""
    assert auto.hidden_dim(300, 7) == auto.hidden_dim(300) == 64
    assert auto.training_steps(300, 7, 300) == auto.training_steps(300, 48, 300) == auto.SMALL_TABLE_STEPS == 800
    assert auto.hidden_dim(300, 120) == 256 and auto.training_steps(300, 120, 300) == 2400  # 20 a feature
    assert auto.hidden_dim(300, 400) == 512 and auto.training_steps(300, 400, 300) == 4000
    assert auto.hidden_dim(20_000, 60) == 256 and auto.hidden_dim(1500, 120) == 128  # large tables: the row rule
