"""Level calibration (diffusion/calibration.py): the logit offsets, their effect on eps, and a fitted model
whose generated level frequencies move to the table's, saved and reloaded with the checkpoint."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from tabdiff_cli.config import load_config
from tabdiff_cli.diffusion.calibration import MAX_SHIFT, PSEUDO_ROWS, calibration_shift, level_counts
from tabdiff_cli.diffusion.parameterization import make_parameterization
from tabdiff_cli.diffusion.schedule import SigmoidSchedule
from tabdiff_cli.synthesizer import DiffusionSynthesizer
from tabdiff_cli.table.encoder import TableEncoder
from tabdiff_cli.table.schema import infer_schema


def test_shift_is_the_log_ratio_with_pseudo_rows_and_clipped():
    target = torch.tensor([0.70, 0.29, 0.01, 0.0], dtype=torch.float64)
    generated = torch.tensor([0.72, 0.28, 0.0, 0.0], dtype=torch.float64)
    b = calibration_shift(target, generated, rows=8192)
    assert b.dtype == torch.float32
    assert b[0].item() == pytest.approx(math.log((0.70 * 8192 + PSEUDO_ROWS) / (0.72 * 8192 + PSEUDO_ROWS)), rel=1e-6)
    assert b[0] < 0 < b[1]  # the over-produced level is pushed down, the under-produced one up
    assert b[2].item() == pytest.approx(MAX_SHIFT)  # 82 expected rows, none generated: clipped
    assert b[3].item() == 0.0  # a level neither table has
    # a rare level's few rows move it less than their raw ratio: 3 expected, 6 generated
    rare = calibration_shift(torch.tensor([3 / 8192]), torch.tensor([6 / 8192]), rows=8192)
    assert math.log(0.5) < rare.item() < 0
    rows = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.9999999, 1e-7]])  # the last: float rounding
    assert torch.equal(level_counts(rows), torch.tensor([3.0, 1.0], dtype=torch.float64))
    assert torch.equal(level_counts(rows[:1]) + level_counts(rows[1:]), level_counts(rows))  # shards add up


def test_level_bias_moves_the_data_estimate_by_its_softmax():
    df = pd.DataFrame({"x": np.arange(20.0), "c": ["a", "b"] * 10})
    enc = TableEncoder(infer_schema(df)).fit(df)
    obj = make_parameterization("mixed", enc.layout())

    class Flat(torch.nn.Module):  # eps 0 for the number, equal logits for both levels
        def forward(self, x, t):
            return torch.zeros_like(x)

    s = SigmoidSchedule()
    x_t, t = torch.zeros(1, enc.n_features), torch.full((1, 1), 0.5)
    ab = s.alpha_bar(t)
    obj.level_bias = torch.tensor([math.log(3.0), 0.0])
    eps = obj.eps(Flat(), x_t, t, s)
    x0_hat = (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()
    # p = (0.75, 0.25) on the ±1 one-hot scale
    assert torch.allclose(x0_hat[0, 1:], torch.tensor([0.5, -0.5]), atol=1e-5)


@pytest.fixture(scope="module")
def skewed():
    rng = np.random.default_rng(0)
    n = 600
    level = rng.choice(["major", "minor", "rare"], n, p=[0.8, 0.15, 0.05])
    return pd.DataFrame({"level": level, "v": rng.normal(size=n) + (level == "minor") * 2.0,
                         "k": rng.choice(["p", "q"], n)})


def test_a_short_fit_calibrated_generates_the_table_level_frequencies(skewed, tmp_path):
    cfg = load_config(None)
    cfg.training.steps = 200  # short on purpose: its level frequencies are off by a few points
    plain = DiffusionSynthesizer(cfg).fit(skewed, seed=0)
    cfg.training.calibration_rows = 4096
    calibrated = DiffusionSynthesizer(cfg).fit(skewed, seed=0)
    assert "calibration" not in plain.meta and calibrated.meta["calibration"]["rows"] == 4096
    real = skewed["level"].value_counts(normalize=True)

    def gap(synth):
        got = synth.sample(6000, seed=5)["level"].value_counts(normalize=True).reindex(real.index).fillna(0)
        return float((got - real).abs().sum() / 2)

    before, after = gap(plain), gap(calibrated)
    assert before > 0.03  # 3.6 points of total variation
    assert after < 0.01  # 0.5: within the noise of 6,000 rows
    path = calibrated.save(tmp_path / "m.ckpt")
    again = DiffusionSynthesizer.load(path)
    assert torch.equal(again.objective.level_bias, calibrated.objective.level_bias)
    pd.testing.assert_frame_equal(again.sample(300, seed=1), calibrated.sample(300, seed=1))


def test_the_calibration_gets_at_most_half_the_time_budget(skewed):
    cfg = load_config(None)
    cfg.training.steps, cfg.training.calibration_rows = 50, 2048
    cfg.training.max_time = 600.0  # ample: every row
    assert DiffusionSynthesizer(cfg).fit(skewed, seed=0).meta["calibration"]["rows"] == 2048
    cfg.training.max_time = 0.001  # a budget no calibration fits in half of: training keeps it all
    tight = DiffusionSynthesizer(cfg).fit(skewed, seed=0)
    assert "calibration" not in tight.meta and not tight.objective.level_bias.any()
