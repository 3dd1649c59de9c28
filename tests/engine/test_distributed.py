"""Multi-process training (PyTorch DDP over gloo on CPU) follows the single-process run.

`tabdiff fit --nproc 2` starts `python -m torch.distributed.run --standalone --nproc_per_node 2 -m tabdiff_cli
fit …` in a subprocess: two ranks, each training on its slice of the same global batch. The weights are
not bitwise equal to one process's: one process sums each gradient over the whole batch in one matmul,
two processes sum over their halves and DDP adds the halves (float addition is not associative), so the
weights agree to float32 rounding (measured max |diff| ≈ 1e-7); the test allows 1e-5 and also compares the
loss curves.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from tabdiff_cli.engine.distributed import DistributedContext

QUICK = """\
data:
  numeric_transform: quantile
model:
  prediction: mixed
  hidden_dim: 32
  time_dim: 32
  n_blocks: 2
  dropout: 0.0  # dropout masks are drawn per process: with them two processes train other weights than one
training:
  steps: 50
  batch_size: 49
  lr: 0.002
  lr_schedule: cosine
  warmup_steps: 10
  ema_decay: 0.99
  calibration_rows: 2048
sampling:
  sampler: ddim
  steps: 20
"""
# batch 49 on Iris's 150 rows: batches of 49, 49, 49 and 3 rows, none divisible by 2, so the uneven
# slices and their loss weights (distributed.batch_slice) are exercised too. The level calibration's 2,048
# rows are two noise blocks: under DDP each rank generates one and the level counts are added.


def _ctx(rank: int, world: int) -> DistributedContext:
    return DistributedContext(rank=rank, world_size=world, local_rank=rank, device=torch.device("cpu"),
                              backend="gloo")


@pytest.mark.parametrize("b,world", [(64, 2), (49, 2), (150, 4), (3, 4), (1, 2)])
def test_batch_slices_cover_the_batch_and_weights_average_to_the_global_mean(b, world):
    pos = torch.arange(b)
    parts = [_ctx(r, world).batch_slice(pos) for r in range(world)]
    kept = torch.cat([p for p, w in parts if w > 0])
    assert torch.equal(kept, pos)  # contiguous, in rank order, every row once
    sizes = [len(p) for p, w in parts if w > 0]
    assert max(sizes) - min(sizes) <= 1
    # DDP averages weight·(mean over the slice) over ranks; for per-row losses that is the global mean
    losses = torch.linspace(0.5, 2.0, b, dtype=torch.float64)
    ddp_mean = sum(w * losses[p].mean() for p, w in parts) / world
    assert float(ddp_mean) == pytest.approx(float(losses.mean()), rel=1e-12)
    if b % world == 0:
        assert all(w == 1.0 for _, w in parts)


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path, iris_df):
    from safetensors.torch import load_file

    from tabdiff_cli.config import load_config
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    cfg_path = tmp_path / "quick.yaml"
    cfg_path.write_text(QUICK)
    cfg = load_config(cfg_path)
    cfg.training.device = "cpu"  # the two processes below run on CPU (gloo); weights agree on one device
    one = DiffusionSynthesizer(cfg).fit(iris_df, seed=0)
    one.save(tmp_path / "one.ckpt")

    cmd = [sys.executable, "-m", "tabdiff_cli", "fit", "iris", "--config", str(cfg_path), "--seed", "0",
           "--model", str(tmp_path / "two.ckpt"), "--device", "cpu", "--nproc", "2", "--quiet"]
    run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]

    a, b = load_file(str(tmp_path / "one.ckpt")), load_file(str(tmp_path / "two.ckpt"))
    assert a.keys() == b.keys()
    bias = "objective.level_bias"
    diff = max(float((a[k] - b[k]).abs().max()) for k in a if k != bias)
    assert diff <= 1e-5, f"max |weight difference| {diff:.3g}"
    # the two ranks' halves of the calibration rows count the levels one process counts (weights equal to
    # float32 rounding, so the same rows); a level whose count moved by a row would shift ~1e-3
    assert a[bias].abs().max() > 0.01
    torch.testing.assert_close(a[bias], b[bias], rtol=0, atol=1e-5)

    two = DiffusionSynthesizer.load(tmp_path / "two.ckpt")  # one process reads the 2-process checkpoint
    assert two.meta["processes"] == 2 and one.meta["processes"] == 1
    assert two.meta["steps"] == one.meta["steps"] == 50
    assert two.meta["calibration"]["rows"] == one.meta["calibration"]["rows"] == 2048
    assert two.meta["calibration"]["rows_this_process"] == 1024  # rank 0's half (it writes the checkpoint)
    assert one.meta["calibration"]["rows_this_process"] == 2048
    np.testing.assert_allclose(two.meta["loss_history"], one.meta["loss_history"], rtol=1e-5)
    assert two.encoder.state_dict() == one.encoder.state_dict()
    rows = two.sample(40, seed=0)
    assert list(rows.columns) == list(iris_df.columns) and len(rows) == 40
    assert set(rows["target"]) <= set(iris_df["target"])


def test_nproc_relaunches_the_same_command_under_torchrun(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from tabdiff_cli.cli import app

    seen = {}

    def fake_run(cmd, *args, **kwargs):
        seen["cmd"] = cmd
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(subprocess, "run", fake_run)
    model = tmp_path / "m.ckpt"
    res = CliRunner().invoke(app, ["fit", "iris", "--nproc", "3", "--steps", "7", "--lr", "0.001",
                                   "-m", str(model), "--categorical", "a,b", "--categorical", "c",
                                   "--seed", "5", "-q", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    cmd = seen["cmd"]
    assert cmd[:6] == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "3"]
    args = cmd[cmd.index("tabdiff_cli") + 1:]
    assert args[:2] == ["fit", "iris"] and "--nproc" not in args
    pairs = list(zip(args[2::1], args[3::1], strict=False))
    for opt, value in (("--model", str(model)), ("--steps", "7"), ("--lr", "0.001"), ("--seed", "5"),
                       ("--categorical", "a,b"), ("--categorical", "c")):
        assert (opt, value) in pairs
    assert "--quiet" in args


def test_nproc_must_be_positive():
    from typer.testing import CliRunner

    from tabdiff_cli.cli import app

    res = CliRunner().invoke(app, ["fit", "iris", "--nproc", "0"])
    assert res.exit_code == 2 and "--nproc" in res.output


def test_nproc_beyond_the_gpu_count_is_a_one_line_error(monkeypatch):
    """On CUDA every process needs a GPU of its own: with 1 GPU, `--nproc 2` stops before launching torchrun
    (which would otherwise print each failing rank's report and exit 1)."""
    import torch
    from typer.testing import CliRunner

    from tabdiff_cli.cli import app

    launched = []
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(subprocess, "run", lambda cmd, *a, **k: launched.append(cmd))
    res = CliRunner().invoke(app, ["fit", "iris", "--nproc", "2", "--device", "cuda", "-q"])
    assert res.exit_code == 2, res.output
    assert "--nproc 2 needs 2 GPUs" in res.output and "has 1" in res.output
    assert launched == []


def test_cleanup_waits_for_every_rank_before_destroying_the_group(monkeypatch):
    """Bug: a rank with nothing to write destroyed its gloo group while rank 0 was still saving the
    checkpoint; about one two-process fit in seven then aborted on that rank (exit -6)."""
    import torch.distributed as dist

    from tabdiff_cli.engine.distributed import cleanup

    calls = []
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "barrier", lambda *a, **k: calls.append("barrier"))
    monkeypatch.setattr(dist, "destroy_process_group", lambda *a, **k: calls.append("destroy"))
    cleanup(_ctx(1, 2))
    assert calls == ["barrier", "destroy"]
    cleanup(None)  # one process: nothing to leave
    assert calls == ["barrier", "destroy"]
