"""Learning-rate schedule and the EMA of the weights (training.py)."""

from __future__ import annotations

import math

import pytest
import torch

from tabdiff_cli.config import TrainingConfig
from tabdiff_cli.engine.training import WeightEMA, lr_factor


def test_warmup_then_cosine_by_steps():
    cfg = TrainingConfig(lr_schedule="cosine", warmup_steps=10)
    assert lr_factor(0, 110, cfg) == pytest.approx(0.1)
    assert lr_factor(9, 110, cfg) == pytest.approx(1.0)
    assert lr_factor(10, 110, cfg) == pytest.approx(1.0)
    assert lr_factor(60, 110, cfg) == pytest.approx(0.5)
    assert lr_factor(110, 110, cfg) == pytest.approx(0.0, abs=1e-12)


def test_time_budget_moves_the_cosine_forward():
    """A run at step 20 of 1000 that has used 75 % of its time budget is 75 % down the cosine."""
    cfg = TrainingConfig(lr_schedule="cosine", warmup_steps=10)
    assert lr_factor(20, 1000, cfg, time_fraction=0.75) == pytest.approx(0.5 * (1 + math.cos(0.75 * math.pi)))
    assert lr_factor(5, 1000, cfg, time_fraction=0.9) == pytest.approx(0.6)  # warm-up counts steps only
    assert lr_factor(20, 1000, cfg, time_fraction=2.0) == pytest.approx(0.0, abs=1e-12)


def test_unknown_schedule_is_a_user_error():
    from tabdiff_cli.errors import UserError

    with pytest.raises(UserError, match="lr_schedule"):
        lr_factor(50, 100, TrainingConfig(lr_schedule="linear", warmup_steps=0))


def test_weight_ema_copies_first_then_averages():
    net = torch.nn.Linear(2, 1)
    ema = WeightEMA(net, decay=0.9)
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update()  # the first update copies
    assert torch.equal(ema.module.weight, net.weight)
    with torch.no_grad():
        net.weight.fill_(3.0)
    ema.update()  # n = 1: d = min(0.9, 2/11)
    d = 2 / 11
    assert torch.allclose(ema.module.weight, torch.full_like(net.weight, d * 1.0 + (1 - d) * 3.0))
    assert not ema.module.weight.requires_grad


def test_threads_return_to_the_default_for_large_work():
    """Bug: a small fit set torch to 1 thread and a following large sample stayed at 1 (2.5x slower)."""
    from tabdiff_cli.engine.runtime import DEFAULT_THREADS, configure_threads

    cpu = torch.device("cpu")
    try:
        assert configure_threads(None, 150, 64, cpu) == 1
        assert configure_threads(None, 16384, 64, cpu) == DEFAULT_THREADS
        assert configure_threads(3, 150, 64, cpu) == 3
    finally:
        torch.set_num_threads(DEFAULT_THREADS)


def test_allocator_keeps_freed_memory_under_glibc():
    """On Linux with glibc the mallopt settings take effect (sampling 100k Iris rows ~1.6x faster); elsewhere
    nothing changes and False says so."""
    import platform
    import sys

    from tabdiff_cli.engine.runtime import retain_freed_memory

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert retain_freed_memory() is glibc
    assert retain_freed_memory() is glibc  # once per process: cached


def test_auto_device_trains_a_small_table_on_the_cpu(monkeypatch, iris_df):
    """Under device auto a table of at most 1,024 rows trains on the CPU even where CUDA is available: the
    tiny full-batch MLP is launch-bound on a GPU (Iris: 7.2 s on an H200 against 1.8 s on 2 CPU cores)."""
    from tabdiff_cli.config import load_config
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = load_config(None)
    cfg.training.steps = 5
    synth = DiffusionSynthesizer(cfg).fit(iris_df, seed=0)
    assert synth.meta["device"] == "cpu"
    assert next(synth.network.parameters()).device.type == "cpu"


def test_time_budget_stops_at_the_first_step_past_it():
    """A timed fit stopped only at its logged steps: Adult overran a 60 s budget by up to 50 steps (~3 s)."""
    from tabdiff_cli.diffusion.network import Denoiser
    from tabdiff_cli.diffusion.schedule import SigmoidSchedule
    from tabdiff_cli.engine.training import train_denoiser

    torch.manual_seed(0)
    x = torch.randn(64, 3)
    cfg = TrainingConfig(steps=500, batch_size=16, lr=1e-3, max_time=1e-9, noise_draws=1, time_sampling="uniform")
    result, _ = train_denoiser(Denoiser(3, hidden_dim=8, n_blocks=1), x, SigmoidSchedule(), cfg, seed=0)
    assert result.stopped_by_time
    assert result.steps == 1
    assert len(result.losses) == 1 and math.isfinite(result.losses[0])


def test_adamw_is_torchs_foreach_adamw():
    """engine.training.AdamW takes torch.optim.AdamW(foreach=True)'s steps, to the last bit, weight decay and
    bias correction included, over several steps and learning rates."""
    from tabdiff_cli.engine.training import AdamW

    torch.manual_seed(0)
    ours = [torch.nn.Parameter(torch.randn(7, 5)), torch.nn.Parameter(torch.randn(5))]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    mine = AdamW(ours, weight_decay=0.01)
    ref = torch.optim.AdamW(theirs, lr=1e-3, weight_decay=0.01, foreach=True)
    for k, lr in enumerate((1e-3, 5e-3, 2e-4, 1e-2)):
        g = [torch.randn_like(p) for p in ours]
        for p, q, gi in zip(ours, theirs, g, strict=True):
            p.grad, q.grad = gi.clone(), gi.clone()
        mine.step(lr)
        for group in ref.param_groups:
            group["lr"] = lr
        ref.step()
        for p, q in zip(ours, theirs, strict=True):
            assert torch.equal(p, q), k
