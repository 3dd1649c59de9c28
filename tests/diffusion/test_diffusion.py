"""Schedule, forward process, network and samplers (the seed's model, DESIGN.md §2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tabdiff_cli.diffusion.network import Denoiser, SinusoidalTimeEmbedding
from tabdiff_cli.diffusion.noise import BLOCK_ROWS, BlockNoise, shard_range
from tabdiff_cli.diffusion.sampling import Inpainting, sample_loop
from tabdiff_cli.diffusion.schedule import SigmoidSchedule, q_sample
from tabdiff_cli.errors import UserError


def seed_alpha_bar(t: float, gain=6.0, shift=0.5, stop=0.99996) -> float:
    """The seed's ContinuousNoiseScheduler.get_alpha_bar, written out in plain floats."""
    sig = lambda u: 1 / (1 + math.exp(-gain * ((2 * u - 1) + shift)))  # noqa: E731
    y_ratio = stop / (sig(1) - sig(0))
    return 1 - (y_ratio * sig(t) - y_ratio * sig(0))


def test_schedule_endpoints_and_monotone():
    s = SigmoidSchedule()
    assert float(s.alpha_bar(0.0)) == pytest.approx(1.0, abs=1e-12)
    assert float(s.alpha_bar(1.0)) == pytest.approx(1 - 0.99996, abs=1e-9)
    t = torch.linspace(0, 1, 1001, dtype=torch.float64)
    ab = s.alpha_bar(t)
    assert torch.all(ab[1:] < ab[:-1])


@pytest.mark.parametrize("t", [0.05, 0.3, 0.5, 0.77, 0.99])
def test_schedule_matches_seed_formula(t):
    s = SigmoidSchedule()
    assert float(s.alpha_bar(torch.tensor(t, dtype=torch.float64))) == pytest.approx(seed_alpha_bar(t), rel=1e-12)


def test_t_of_alpha_bar_inverts_the_schedule_and_clamps():
    s = SigmoidSchedule()
    t = torch.tensor([1e-4, 0.01, 0.2, 0.5, 0.8, 1.0], dtype=torch.float64)
    assert torch.allclose(s.t_of_alpha_bar(s.alpha_bar(t)), t, atol=1e-9)
    # outside the schedule's range [1 - stop, 1]: the nearest end
    out = s.t_of_alpha_bar(torch.tensor([1.0, 1e-7], dtype=torch.float64))
    assert out.tolist() == pytest.approx([0.0, 1.0], abs=1e-9)


def test_lognormal_time_sampling_follows_edm_noise_levels():
    """Without the uniform share, ln sigma of the drawn times is N(-1.2, 1.2²) (EDM's P_mean, P_std); with it,
    a fifth of the rows keep the seed's uniform t."""
    from tabdiff_cli.diffusion.parameterization import draw_noise

    s = SigmoidSchedule()
    cpu = torch.device("cpu")
    g = torch.Generator().manual_seed(0)
    t, eps = draw_noise(200_000, 3, g, cpu, s, "lognormal", uniform_share=0.0)
    assert t.shape == (200_000, 1) and eps.shape == (200_000, 3) and t.dtype == torch.float32
    ab = s.alpha_bar(t.double())
    log_sigma = 0.5 * torch.log((1 - ab) / ab)
    # the clamp at the schedule's ends moves well under 0.1 % of the draws
    inside = (t > 1e-5) & (t < 1)
    assert float(inside.double().mean()) > 0.999
    assert float(log_sigma[inside].mean()) == pytest.approx(-1.2, abs=0.01)
    assert float(log_sigma[inside].std()) == pytest.approx(1.2, abs=0.01)
    # the seed's uniform draw puts half the rows past t = 0.5 (sigma > 4.4); the log-normal about 1.3 %
    assert float((t > 0.5).double().mean()) == pytest.approx(0.013, abs=0.002)
    mixed, _ = draw_noise(200_000, 3, g, cpu, s, "lognormal")  # the default: 20 % uniform
    assert float((mixed > 0.5).double().mean()) == pytest.approx(0.2 * 0.5 + 0.8 * 0.013, abs=0.003)
    with pytest.raises(ValueError, match="time_sampling"):
        draw_noise(4, 3, g, cpu, s, "beta")


def test_forward_process_limits():
    s = SigmoidSchedule()
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(20000, 3, generator=g) * 2 + 5
    eps = torch.randn(x0.shape, generator=g)
    near0 = q_sample(x0, torch.full((len(x0), 1), 1e-9, dtype=torch.float64), s, eps)
    assert torch.allclose(near0.float(), x0, atol=1e-3)
    at1 = q_sample(x0, torch.ones(len(x0), 1), s, eps)
    assert at1.mean().abs() < 0.05
    assert abs(float(at1.var()) - 1.0) < 0.05


def test_time_embedding_matches_seed_frequencies():
    emb = SinusoidalTimeEmbedding(64)
    t = torch.tensor([[0.25]])
    out = emb(t)
    half = 32
    freqs = torch.exp(torch.arange(half) * -(math.log(10000) / (half - 1)))
    assert out.shape == (1, 64)
    assert torch.allclose(out[0, :half], torch.sin(0.25 * freqs))
    assert torch.allclose(out[0, half:], torch.cos(0.25 * freqs))


def test_network_shapes_and_seed_parameter_count():
    net = Denoiser(7, 64, 64, 3)
    out = net(torch.randn(10, 7), torch.rand(10, 1))
    assert out.shape == (10, 7)
    # broadcast time (1, 1) as the seed's sampler passes it
    assert net(torch.randn(4, 7), torch.full((1, 1), 0.5)).shape == (4, 7)
    # seed: time MLP 64·64+64 + 64·64+64; encoder 7·64+64 + 2·64 + 64·64+64; 3 × (64·64+64 + 2·64 + 64·64+64);
    # head 64·7+7
    expected = (64 * 64 + 64) * 2 + (7 * 64 + 64) + 128 + (64 * 64 + 64) + 3 * (2 * (64 * 64 + 64) + 128) + 64 * 7 + 7
    assert sum(p.numel() for p in net.parameters()) == expected


def _gmm_eps_fn(means: torch.Tensor, std: float, schedule: SigmoidSchedule):
    """Exact epsilon of a 2-D isotropic Gaussian mixture with equal weights at every t."""

    def eps_fn(x, t):
        ab = schedule.alpha_bar(t.reshape(())).to(x.dtype)
        var = ab * std**2 + (1 - ab)
        mu = ab.sqrt() * means  # (k, 2)
        diff = x[:, None, :] - mu[None]  # (n, k, 2)
        logw = -(diff**2).sum(-1) / (2 * var)
        w = torch.softmax(logw, dim=1)
        score = -(w[..., None] * diff).sum(1) / var
        return -(1 - ab).sqrt() * score

    return eps_fn


@pytest.mark.parametrize("sampler,steps", [("ancestral", 200), ("ddim", 50), ("dpmpp2m", 25)])
def test_samplers_recover_gaussian_mixture(sampler, steps):
    s = SigmoidSchedule()
    means = torch.tensor([[-2.0, 0.0], [2.0, 1.0]])
    eps_fn = _gmm_eps_fn(means, 0.3, s)
    x = sample_loop(eps_fn, s, BlockNoise(0, 0, 4000, 2, "cpu"), sampler=sampler, steps=steps)
    left = x[:, 0] < 0
    assert 0.45 < float(left.float().mean()) < 0.55
    assert torch.allclose(x[left].mean(0), means[0], atol=0.05)
    assert torch.allclose(x[~left].mean(0), means[1], atol=0.05)
    assert float(x[left].std(0).mean()) == pytest.approx(0.3, abs=0.05)


@pytest.mark.parametrize("sampler", ["ancestral", "ddim", "dpmpp2m"])
def test_sampler_determinism_and_inpainting(sampler):
    s = SigmoidSchedule()
    means = torch.tensor([[-2.0, 0.0], [2.0, 1.0]])
    eps_fn = _gmm_eps_fn(means, 0.3, s)
    a = sample_loop(eps_fn, s, BlockNoise(3, 0, 500, 2, "cpu"), sampler=sampler, steps=20)
    b = sample_loop(eps_fn, s, BlockNoise(3, 0, 500, 2, "cpu"), sampler=sampler, steps=20)
    c = sample_loop(eps_fn, s, BlockNoise(4, 0, 500, 2, "cpu"), sampler=sampler, steps=20)
    assert torch.equal(a, b) and not torch.equal(a, c)
    mask = torch.zeros(500, 2, dtype=torch.bool)
    mask[:, 0] = True
    known = torch.full((500, 2), 2.0)
    x = sample_loop(eps_fn, s, BlockNoise(3, 0, 500, 2, "cpu"), sampler=sampler, steps=30,
                    known=Inpainting(mask, known, resample=1))
    assert torch.all(x[:, 0] == 2.0)
    # given x0 = 2 the right component is certain: its second coordinate is centred on 1
    assert float(x[:, 1].mean()) == pytest.approx(1.0, abs=0.1)


def test_block_noise_is_a_prefix_and_independent_of_batching():
    whole = BlockNoise(5, 0, 3 * BLOCK_ROWS, 4, "cpu").randn()
    first = BlockNoise(5, 0, 100, 4, "cpu").randn()
    second_block = BlockNoise(5, 1, BLOCK_ROWS, 4, "cpu").randn()
    assert torch.equal(whole[:100], first)
    assert torch.equal(whole[BLOCK_ROWS:2 * BLOCK_ROWS], second_block)


def test_shard_ranges_cover_the_sample():
    n = 5 * BLOCK_ROWS + 17
    parts = [shard_range(n, f"{k}/3") for k in range(3)]
    assert parts[0][0] == 0
    assert sum(c for _, c in parts) == n
    for (s0, c0), (s1, _) in zip(parts, parts[1:], strict=False):
        assert s0 + c0 == s1 and s1 % BLOCK_ROWS == 0
    with pytest.raises(UserError):
        shard_range(10, "3/2")
    # one block only: one shard holds it, the other is empty
    assert shard_range(10, "0/2") == (0, 0) and shard_range(10, "1/2") == (0, 10)
    with pytest.raises(UserError):
        shard_range(10, "x/2")


def test_unknown_sampler_is_user_error():
    s = SigmoidSchedule()
    with pytest.raises(UserError, match="unknown sampler"):
        sample_loop(lambda x, t: x, s, BlockNoise(0, 0, 4, 2, "cpu"), sampler="euler")
    assert np.isfinite(1.0)


@pytest.mark.parametrize("sampler", ["ancestral", "ddim", "dpmpp2m"])
def test_reconstruction_guidance_moves_inpainting_towards_the_posterior(sampler):
    """Mixture of N((-2, 0), 0.3²) and N((2, 1), 0.3²): given x_0 = 0.3 the right component is all but
    certain (likelihood ratio e^13), so x_1 | x_0 ~ N(1, 0.3²). Replacement inpainting lands part of the
    rows on the wrong component; guidance brings the mean closer to 1 and keeps the given value exact."""
    s = SigmoidSchedule()
    eps_fn = _gmm_eps_fn(torch.tensor([[-2.0, 0.0], [2.0, 1.0]]), 0.3, s)
    mask = torch.zeros(2000, 2, dtype=torch.bool)
    mask[:, 0] = True
    known = torch.full((2000, 2), 0.3)

    def run(w):
        return sample_loop(eps_fn, s, BlockNoise(0, 0, 2000, 2, "cpu"), sampler=sampler, steps=50,
                           known=Inpainting(mask, known, guidance=w))

    plain, guided = run(0.0), run(2.0)
    assert torch.all(guided[:, 0] == 0.3)
    assert abs(float(guided[:, 1].mean()) - 1.0) < abs(float(plain[:, 1].mean()) - 1.0) - 0.05
    assert torch.equal(guided, run(2.0))


def test_fixed_shape_eps_calls_one_shape_and_returns_the_same_rows():
    """CUDA sampling evaluates the network on chunks of exactly `rows` rows (padding the last), so a row's
    eps cannot depend on the batch it came in; the result must equal the direct call, row for row."""
    from tabdiff_cli.diffusion.noise import fixed_shape_eps

    torch.manual_seed(0)
    w = torch.randn(3, 3)
    shapes = []

    def eps_fn(x, t, known=None):
        shapes.append((x.shape[0], t.shape[0], None if known is None else known.shape[0]))
        out = x @ w + t
        return out if known is None else torch.where(known, 0.0, out)

    chunked = fixed_shape_eps(eps_fn, rows=4)
    x = torch.randn(10, 3)
    t_row = torch.rand(10, 1)
    known = torch.rand(10, 3) > 0.5
    for t, k in ((torch.full((1, 1), 0.3), None), (t_row, None), (t_row, known)):
        shapes.clear()
        got = chunked(x, t, k)
        assert got.shape == (10, 3)
        torch.testing.assert_close(got, eps_fn(x, t, k))
        assert {s[0] for s in shapes[:-1]} == {4} and len(shapes) == 4  # 3 chunks of 4 rows + the direct call
        assert all(s[1] in (1, 4) and s[2] in (None, 4) for s in shapes[:-1])
