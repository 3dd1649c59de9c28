"""eps vs mixed (eps + per-column softmax) parameterizations: losses and eps recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tabdiff_cli.diffusion.parameterization import EpsilonPrediction, draw_noise, make_parameterization
from tabdiff_cli.diffusion.schedule import SigmoidSchedule, q_sample
from tabdiff_cli.table.encoder import TableEncoder
from tabdiff_cli.table.schema import infer_schema


@pytest.fixture(scope="module")
def encoder():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(list("abc"), 200),
                       "f": rng.choice([0, 1], 200), "y": rng.normal(size=200)})
    df.loc[:20, "y"] = np.nan
    enc = TableEncoder(infer_schema(df)).fit(df)
    return enc, torch.as_tensor(enc.transform(df))


class Oracle(torch.nn.Module):
    """Predicts the true eps on numeric coordinates and +/-20 logits on one-hot coordinates."""

    def __init__(self, eps, x0, n_numeric):
        super().__init__()
        self.eps, self.x0, self.k = eps, x0, n_numeric

    def forward(self, x, t):
        out = self.x0 * 20.0
        out[:, : self.k] = self.eps[:, : self.k]
        return out


def test_mixed_eps_recovers_true_noise_from_confident_logits(encoder):
    enc, x0 = encoder
    obj = make_parameterization("mixed", enc.layout())
    s = SigmoidSchedule()
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    t = torch.full((1, 1), 0.4)
    x_t = q_sample(x0, t, s, eps)
    est = obj.eps(Oracle(eps, x0, enc.n_numeric), x_t, t, s)
    assert torch.allclose(est, eps, atol=1e-4)


def test_mixed_loss_is_small_for_the_oracle_and_large_for_wrong_logits(encoder):
    enc, x0 = encoder
    obj = make_parameterization("mixed", enc.layout())
    s = SigmoidSchedule()
    # blocks: c (3 levels), f (2 levels), y's missing indicator (2)
    assert obj.n_terms == 2 + 3
    g = torch.Generator().manual_seed(1)
    t, eps = draw_noise(len(x0), x0.shape[1], g, x0.device)

    class Wrong(torch.nn.Module):
        def forward(self, x, t):
            return -x0 * 20.0

    loss_wrong = obj.loss(Wrong(), x0, t, eps, s)
    assert float(loss_wrong) > 10.0
    eps_only = EpsilonPrediction()
    assert float(eps_only.loss(Wrong(), x0, t, eps, s)) > 1.0


def test_unknown_prediction_is_user_error(encoder):
    from tabdiff_cli.errors import UserError

    with pytest.raises(UserError, match="unknown model.prediction"):
        make_parameterization("v", encoder[0].layout())


def test_mixed_segment_softmax_equals_per_block_softmax_and_cross_entropy(encoder):
    """The vectorised block softmax / cross-entropy equals torch's per-block functions (random logits)."""
    enc, x0 = encoder
    obj = make_parameterization("mixed", enc.layout())
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(x0.shape[0], x0.shape[1], generator=gen) * 30.0  # spread that overflows a naive exp
    t, eps = draw_noise(x0.shape[0], x0.shape[1], gen, torch.device("cpu"))

    class Fixed(torch.nn.Module):
        def forward(self, x, t):
            return logits.clone()

    schedule = SigmoidSchedule()
    k = enc.n_numeric
    blocks = [b for b in enc.blocks if b.kind != "numeric"]
    assert enc.categorical_encoding == "pm1" and len(blocks) >= 2
    ce = sum(torch.nn.functional.cross_entropy(logits[:, b.start:b.end], x0[:, b.start:b.end].argmax(1))
             for b in blocks)
    mse = ((logits[:, :k] - eps[:, :k]) ** 2).mean(0).sum()
    expected = (mse + ce) / (k + len(blocks))
    assert torch.allclose(obj.loss(Fixed(), x0, t, eps, schedule), expected, rtol=1e-5)

    x_t = q_sample(x0, t, schedule, eps)
    ab = schedule.alpha_bar(t).float()
    got = obj.eps(Fixed(), x_t, t, schedule)
    assert torch.equal(got[:, :k], logits[:, :k])
    for b in blocks:
        p = torch.softmax(logits[:, b.start:b.end], dim=1)
        x0_hat = p * 2.0 - 1.0  # ±1 one-hot (the encoder's default, asserted above)
        want = (x_t[:, b.start:b.end] - ab.sqrt() * x0_hat) / (1 - ab).sqrt()
        assert torch.allclose(got[:, b.start:b.end], want, atol=1e-4)


def test_sample_levels_draws_each_block_at_its_final_probabilities(encoder):
    """The final one-hot blocks hold probabilities; drawing from them keeps a 45 % level at 45 % (the argmax
    would give 0 %), excluded coordinates are never drawn, and the output blocks are exact one-hots."""
    enc, x0 = encoder
    obj = make_parameterization("mixed", enc.layout())
    n = 20000
    blocks = [b for b in enc.blocks if b.kind != "numeric"]
    probs = torch.zeros(n, enc.n_features)
    rng = np.random.default_rng(0)
    want = []
    for b in blocks:
        p = rng.dirichlet(np.ones(b.end - b.start))
        want.append(p)
        probs[:, b.start:b.end] = torch.as_tensor(p, dtype=torch.float32)
    x = probs * 2.0 - 1.0  # the ±1 one-hot scale
    x[:, : enc.n_numeric] = 0.5
    u = torch.rand(n, len(blocks), generator=torch.Generator().manual_seed(1))
    out = obj.sample_levels(x, u)
    assert torch.equal(out[:, : enc.n_numeric], x[:, : enc.n_numeric])
    for b, p in zip(blocks, want, strict=True):
        block = out[:, b.start:b.end]
        assert set(block.unique().tolist()) <= {-1.0, 1.0} and torch.all((block == 1).sum(1) == 1)
        freq = (block == 1).float().mean(0).numpy()
        assert np.allclose(freq, p, atol=0.015)
    exclude = torch.zeros(enc.n_features, dtype=torch.bool)
    b0 = blocks[0]
    exclude[b0.start] = True
    out = obj.sample_levels(x, u, exclude)
    assert not torch.any(out[:, b0.start] == 1)
    p_rest = want[0][1:] / want[0][1:].sum()
    assert np.allclose((out[:, b0.start + 1:b0.end] == 1).float().mean(0).numpy(), p_rest, atol=0.015)


def test_sample_levels_with_all_mass_excluded_draws_the_allowed_levels_evenly(encoder):
    enc, _ = encoder
    obj = make_parameterization("mixed", enc.layout())
    b = [b for b in enc.blocks if b.kind != "numeric" and b.end - b.start >= 3][0]
    x = torch.full((6000, enc.n_features), -1.0)
    x[:, : enc.n_numeric] = 0.0
    for other in (c for c in enc.blocks if c.kind != "numeric"):
        x[:, other.start] = 1.0  # every block certain of its first level
    exclude = torch.zeros(enc.n_features, dtype=torch.bool)
    exclude[b.start] = True
    u = torch.rand(6000, obj.n_blocks, generator=torch.Generator().manual_seed(2))
    out = obj.sample_levels(x, u, exclude)
    freq = (out[:, b.start + 1:b.end] == 1).float().mean(0).numpy()
    assert not torch.any(out[:, b.start] == 1)
    assert np.allclose(freq, 1 / (b.end - b.start - 1), atol=0.03)
