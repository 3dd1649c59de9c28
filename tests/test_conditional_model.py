"""Masked conditioning (model.conditional): the known-mask draws, the widened network, and a conditional
model that learns p(unknown | known) and feeds the given values clean when sampling and imputing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tabdiff_cli.config import load_config, with_overrides
from tabdiff_cli.diffusion.network import Denoiser
from tabdiff_cli.diffusion.parameterization import draw_known_mask
from tabdiff_cli.synthesizer import DiffusionSynthesizer


def test_known_mask_is_whole_units_and_follows_the_share():
    units = torch.tensor([0, 1, 2, 2, 2, 3, 3])  # two numeric coordinates, a 3-level block, a 2-wide block
    g = torch.Generator().manual_seed(0)
    known = draw_known_mask(20000, units, 0.5, g)
    assert known.shape == (20000, 7) and known.dtype == torch.bool
    # every coordinate of a unit is known together
    assert torch.equal(known[:, 2], known[:, 3]) and torch.equal(known[:, 2], known[:, 4])
    assert torch.equal(known[:, 5], known[:, 6])
    # half the rows train unconditionally; the others know each unit with a rate q ~ U[0, 1): E = 1/2
    assert known[:, 0].float().mean().item() == pytest.approx(0.25, abs=0.015)
    none = ~known.any(1)
    assert none.float().mean().item() == pytest.approx(0.5 + 0.5 / 5, abs=0.015)  # E[(1-q)^4] = 1/5
    assert not draw_known_mask(100, units, 0.0, g).any()


def test_a_spike_block_shares_its_numeric_column_unit():
    from tabdiff_cli.table.encoder import TableEncoder
    from tabdiff_cli.table.schema import infer_schema

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"hours": np.where(rng.random(500) < 0.5, 40, rng.integers(1, 99, 500)),
                       "c": rng.choice(["a", "b", "c"], 500), "v": rng.normal(size=500)})
    enc = TableEncoder(infer_schema(df), spike_share=0.05).fit(df)
    units = torch.as_tensor(enc.layout().units)
    spike = next(b for b in enc.blocks if b.kind == "spike")
    hours = next(b for b in enc.blocks if b.column == "hours" and b.kind == "numeric")
    assert units[spike.start:spike.end].tolist() == [units[hours.start].item()] * 2
    assert int(units.max()) + 1 == 3  # hours (number and spike block), v, c


def test_conditional_network_reads_the_mask_and_none_means_nothing_known():
    torch.manual_seed(0)
    net = Denoiser(5, hidden_dim=16, time_dim=8, n_blocks=1, conditional=True)
    assert net.encoder[0].in_features == 10
    x, t = torch.randn(4, 5), torch.full((4, 1), 0.3)
    nothing = torch.zeros(4, 5, dtype=torch.bool)
    assert torch.allclose(net(x, t), net(x, t, nothing))
    some = nothing.clone()
    some[:, 0] = True
    assert not torch.allclose(net(x, t), net(x, t, some))
    assert Denoiser(5, hidden_dim=16, time_dim=8, n_blocks=1).encoder[0].in_features == 5  # the seed's


@pytest.fixture(scope="module")
def line_model():
    """y = 2x + small noise, and a category that is 'hi' exactly when x > 0: a conditional model must
    read the given x to place y and the category."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(scale=0.1, size=600),
                       "side": np.where(x > 0, "hi", "lo")})
    cfg = with_overrides(load_config(None), model__conditional=True, training__steps=1500)
    return DiffusionSynthesizer(cfg).fit(df, seed=0), df


def test_conditional_model_follows_the_given_value(line_model):
    synth, df = line_model
    rows = synth.sample(400, seed=1, conditions=["x=1.0"])
    assert (rows["x"] == 1.0).all()
    assert rows["y"].mean() == pytest.approx(2.0, abs=0.25)
    assert rows["y"].std() < 0.5  # the unconditional y has std 2
    assert (rows["side"] == "hi").mean() > 0.9
    low = synth.sample(400, seed=1, conditions=["side=lo"])
    assert (low["side"] == "lo").all() and (low["x"] < 0.1).mean() > 0.9


def test_conditional_model_imputes_from_the_observed_cells(line_model):
    synth, df = line_model
    holed = df.head(40).copy()
    holed.loc[:19, "y"] = np.nan
    holed.loc[20:, "side"] = None
    filled = synth.impute(holed, seed=3)
    observed = holed.notna()
    for c in df.columns:
        pd.testing.assert_series_equal(filled[c][observed[c]], holed[c][observed[c]], check_dtype=False)
    assert filled.notna().all().all()
    err = (filled.loc[:19, "y"] - df.loc[:19, "y"]).abs()
    assert err.median() < 0.3
    assert (filled.loc[20:, "side"] == df.loc[20:39, "side"]).mean() > 0.9


def test_conditional_model_round_trips_and_is_reproducible(line_model, tmp_path):
    synth, _ = line_model
    path = synth.save(tmp_path / "cond.ckpt")
    again = DiffusionSynthesizer.load(path, device=str(next(synth.network.parameters()).device))  # same device
    assert again.config.model.conditional
    a = synth.sample(50, seed=7, conditions=["x=0.5"])
    pd.testing.assert_frame_equal(a, again.sample(50, seed=7, conditions=["x=0.5"]))
    pd.testing.assert_frame_equal(synth.sample(50, seed=7), again.sample(50, seed=7))


def test_condition_share_outside_0_1_is_a_clear_error(iris_df):
    from tabdiff_cli.errors import UserError

    with pytest.raises(UserError, match="condition_share must lie in"):
        with_overrides(load_config(None), model__conditional=True, training__steps=5, training__condition_share=1.5)


def test_conditional_model_with_missing_numbers_and_dates_imputes_every_hole():
    rng = np.random.default_rng(1)
    n = 300
    amount = rng.lognormal(size=n)
    amount[rng.random(n) < 0.2] = np.nan  # a column with a missing-indicator block
    df = pd.DataFrame({"amount": amount, "day": pd.date_range("2024-01-01", periods=n, freq="D"),
                       "kind": rng.choice(["a", "b", "c"], size=n)})
    cfg = with_overrides(load_config(None), model__conditional=True, training__steps=60)
    synth = DiffusionSynthesizer(cfg).fit(df, seed=0)
    gen = synth.sample(200, seed=0)
    assert gen["amount"].isna().any() and gen["amount"].notna().any()  # empty cells are generated too
    holed = df.head(30).copy()
    holed.loc[:9, "kind"] = None
    filled = synth.impute(holed, seed=0)
    assert filled.notna().all().all()  # even the cells that were empty in training are filled
    keep = holed["amount"].notna()
    assert np.allclose(filled.loc[keep, "amount"], holed.loc[keep, "amount"])
    assert (filled["day"] == holed["day"]).all()


def test_lognormal_training_keeps_uniform_times_for_conditioned_rows():
    """Under time_sampling "lognormal", rows with a known set train at the seed's uniform t (they carry the
    high-noise start of conditional sampling); unconditional rows keep EDM's log-normal noise levels."""
    from tabdiff_cli.config import TrainingConfig
    from tabdiff_cli.diffusion.parameterization import EpsilonPrediction, keep_uniform_when_conditioned
    from tabdiff_cli.diffusion.schedule import SigmoidSchedule
    from tabdiff_cli.engine.training import train_denoiser

    g = torch.Generator().manual_seed(0)
    units = torch.arange(3)
    known = draw_known_mask(40000, units, 0.5, g)
    t = torch.full((40000, 1), 0.01)
    out = keep_uniform_when_conditioned(t, known, g)
    cond = known.any(1)
    assert torch.equal(out[~cond], t[~cond])  # unconditional rows untouched
    assert float(out[cond].mean()) == pytest.approx(0.5, abs=0.01)
    assert float(out[cond].min()) > 0.0 and float(out[cond].max()) <= 1.0

    seen = {}

    class Spy(EpsilonPrediction):
        def loss(self, net, x0, t, eps, schedule, known=None):
            seen["t"], seen["known"] = t.clone(), known.clone()
            return super().loss(net, x0, t, eps, schedule, known)

    spy = Spy()
    spy.units = units
    net = Denoiser(3, hidden_dim=8, time_dim=8, n_blocks=1, conditional=True)
    x = torch.randn(40000, 3)
    cfg = TrainingConfig(steps=1, lr=1e-3, time_sampling="lognormal", condition_share=0.5, batch_size=None,
                         noise_draws=1)
    train_denoiser(net, x, SigmoidSchedule(), cfg, seed=0, objective=spy)
    cond = seen["known"].any(1)
    late = (seen["t"] > 0.5).squeeze(1)
    assert float(late[cond].double().mean()) == pytest.approx(0.5, abs=0.02)
    # the log-normal rows: 20 % uniform (half past 0.5), the rest past 0.5 only 1.3 % of the time
    assert float(late[~cond].double().mean()) == pytest.approx(0.2 * 0.5 + 0.8 * 0.013, abs=0.02)


def test_dropout_acts_in_training_only_and_keeps_the_checkpoint_layout():
    torch.manual_seed(0)
    plain = Denoiser(5, hidden_dim=16, time_dim=8, n_blocks=2, conditional=True)
    dropped = Denoiser(5, hidden_dim=16, time_dim=8, n_blocks=2, conditional=True, dropout=0.5)
    assert sum(isinstance(m, torch.nn.Dropout) for m in dropped.modules()) == 2  # one per ResBlock
    assert not any(isinstance(m, torch.nn.Dropout) for m in plain.modules())  # the seed's network
    dropped.load_state_dict(plain.state_dict())  # strict: the same parameters, so checkpoints load either way
    x, t = torch.randn(64, 5), torch.full((64, 1), 0.4)
    plain.eval(), dropped.eval()
    assert torch.equal(plain(x, t), dropped(x, t))
    dropped.train()
    first, second = dropped(x, t), dropped(x, t)
    assert not torch.allclose(first, second)
    assert not torch.allclose(first, plain(x, t))


def test_dropout_model_round_trips_and_is_reproducible(iris_df, tmp_path):
    cfg = with_overrides(load_config(None), training__steps=150, model__dropout=0.2)
    synth = DiffusionSynthesizer(cfg).fit(iris_df, seed=0)
    assert not synth.network.training
    again = DiffusionSynthesizer.load(synth.save(tmp_path / "drop.ckpt"))
    assert again.config.model.dropout == 0.2
    given = ["target=setosa"]
    pd.testing.assert_frame_equal(synth.sample(40, seed=5, conditions=given),
                                  again.sample(40, seed=5, conditions=given))
    pd.testing.assert_frame_equal(synth.sample(40, seed=5), synth.sample(40, seed=5))
