"""The training loop: epsilon-prediction MSE on the encoded table, in memory, on one device per process
(several processes: PyTorch DDP, each rank training on its slice of the same global batch; distributed.py).

The loss comes from diffusion/parameterization.py (the seed's eps-MSE, or eps-MSE plus per-column
cross-entropy on one-hot blocks); a conditional objective (objective.units set) also draws each step's
known coordinates (parameterization.draw_known_mask, share training.condition_share); with log-normal
training times, those rows keep the seed's uniform t (parameterization.keep_uniform_when_conditioned).

Speed choices (measured in benchmarks/): the table is one tensor on the device and batches are index
slices of a seeded permutation (no DataLoader); the loss reaches the host only when progress is shown;
AdamW is fused where the build supports it.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from tabdiff_cli.allocator import retain_freed_memory
from tabdiff_cli.config import TrainingConfig
from tabdiff_cli.diffusion.parameterization import (
    TIME_SAMPLING,
    EpsilonPrediction,
    draw_known_mask,
    draw_noise,
    keep_uniform_when_conditioned,
)
from tabdiff_cli.diffusion.schedule import SigmoidSchedule
from tabdiff_cli.errors import UserError

if TYPE_CHECKING:
    from tabdiff_cli.distributed import DistributedContext

ProgressFn = Callable[[int, int, float], None]  # (step, total_steps, loss)


class TrainingDiverged(UserError):
    """The loss became NaN or infinite; no checkpoint is written."""


@dataclass
class TrainResult:
    """What training did: steps and epochs run, seconds, the loss history (per logged step)."""

    steps: int
    epochs: float
    seconds: float
    final_loss: float
    losses: list[float] = field(default_factory=list)
    stopped_by_time: bool = False


def total_steps(n_rows: int, cfg: TrainingConfig) -> tuple[int, int]:
    """(optimizer steps, batch size) implied by the config: steps if set, else epochs·ceil(n/batch)."""
    batch = n_rows if not cfg.batch_size or cfg.batch_size >= n_rows else int(cfg.batch_size)
    per_epoch = math.ceil(n_rows / batch)
    steps = int(cfg.steps) if cfg.steps else int(cfg.epochs) * per_epoch
    if steps < 1:
        raise UserError("training needs at least one step: set --epochs or training.steps >= 1")
    return steps, batch


# batch · hidden² below which one CPU thread is fastest: Iris training (150 rows, hidden 64) gains nothing from a
# second thread, sampling 16,384-row batches runs 2.5x faster with two (benchmarks/RESULTS_speed.md).
SMALL_WORK = 2**24
DEFAULT_THREADS = torch.get_num_threads()  # at import: OMP_NUM_THREADS, else every core


def configure_threads(threads: int | None, batch: int, hidden: int, device: torch.device) -> int:
    """Set torch's CPU thread count for this run and return it (see TrainingConfig.threads); on CPU also
    keep freed activation memory in the process (allocator.retain_freed_memory)."""
    if device.type != "cpu":
        return torch.get_num_threads()
    retain_freed_memory()
    if threads is None:
        # torch's own default, not the current setting: an earlier small run of this process lowered that to 1
        threads = 1 if batch * hidden * hidden < SMALL_WORK else DEFAULT_THREADS
    torch.set_num_threads(max(1, int(threads)))
    return torch.get_num_threads()


def lr_factor(step: int, steps: int, cfg: TrainingConfig, time_fraction: float = 0.0) -> float:
    """Multiplier of cfg.lr at `step`: linear warm-up, then constant or cosine decay to min_lr_ratio.

    time_fraction: elapsed / max_time when training has a time budget; the cosine then follows whichever of
    steps and time is further along, so a run stopped by its budget has still decayed its learning rate
    (budget-aware schedule; without it a 60 s Adult fit stops a quarter of the way down the cosine).
    """
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "cosine":
        span = max(1, steps - cfg.warmup_steps)
        progress = min(1.0, max((step - cfg.warmup_steps) / span, time_fraction))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    if cfg.lr_schedule != "constant":
        raise UserError(f"unknown lr_schedule '{cfg.lr_schedule}'; use constant or cosine")
    return 1.0


class WeightEMA:
    """Exponential moving average of a network's weights (parameters and buffers), kept in `module`.

    ema ← ema + (1 − d)·(w − ema) after every optimizer step, with the decay warmed up as
    d = min(decay, (1 + n)/(10 + n)) so that short runs are not dominated by the random initialisation
    (DESIGN.md §5; the warm-up of Tensorflow's ExponentialMovingAverage with num_updates).
    The tensor lists are gathered once: torch.optim.swa_utils.AveragedModel walks the module tree on
    every update, which cost 20 % of an Iris fit (cProfile of `fit`, 2026-11-29).
    """

    def __init__(self, net: nn.Module, decay: float):
        self.decay = float(decay)
        self.module = copy.deepcopy(net)
        self.module.requires_grad_(False)
        self._ema = [*self.module.parameters(), *self.module.buffers()]
        self._src = [*net.parameters(), *net.buffers()]
        self.n_averaged = 0

    @torch.no_grad()
    def update(self) -> None:
        """Fold the source network's current weights into the average."""
        n = self.n_averaged
        d = 0.0 if n == 0 else min(self.decay, (1.0 + n) / (10.0 + n))  # the first update copies
        torch._foreach_lerp_(self._ema, self._src, 1.0 - d)
        self.n_averaged += 1


def train_denoiser(
    net: nn.Module,
    x: torch.Tensor,
    schedule: SigmoidSchedule,
    cfg: TrainingConfig,
    seed: int,
    progress: ProgressFn | None = None,
    progress_every: int = 50,
    objective: EpsilonPrediction | None = None,
    distributed: DistributedContext | None = None,
) -> tuple[TrainResult, nn.Module]:
    """Train `net` in place on x: (n_rows, n_features) float32 already on the training device.

    Returns (result, model to sample with: the EMA copy when cfg.ema_decay is set, else net).
    progress(step, total, loss) is called every `progress_every` steps and at the end.
    objective: the loss (default: the seed's eps MSE; a mean over the batch rows).
    distributed: one process of a DDP job (distributed.py): net is wrapped in DistributedDataParallel,
    every rank draws the same global batch, order and noise from the same seeded generator and trains on
    its slice (`batch_slice`, loss weighted so the DDP mean is the global-batch mean), the logged loss is
    the global one and rank 0's time budget stops every rank, so N processes follow the single-process run.
    Errors: TrainingDiverged when the loss is not finite.
    """
    objective = objective or EpsilonPrediction()
    units = None if objective.units is None else objective.units.to(x.device)
    n = x.shape[0]
    if not float(cfg.lr) > 0 or float(cfg.weight_decay) < 0:
        raise UserError("training.lr must be positive and weight_decay non-negative "
                        f"(got {cfg.lr}, {cfg.weight_decay})")
    if units is not None and not 0.0 <= float(cfg.condition_share) <= 1.0:
        raise UserError(f"training.condition_share must lie in [0, 1], got {cfg.condition_share}")
    if cfg.time_sampling not in TIME_SAMPLING:
        raise UserError(f"unknown training.time_sampling '{cfg.time_sampling}'; use {' or '.join(TIME_SAMPLING)}")
    steps, batch = total_steps(n, cfg)
    device = x.device
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    try:
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    except (RuntimeError, TypeError):  # builds without a fused kernel for this device
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    # the learning rate is set every step (lr_factor); with a time budget it also follows the clock, except
    # under DDP, where every rank must use the same rate and only the step count is shared
    timed = bool(cfg.max_time) and distributed is None
    lr_factor(0, steps, cfg)  # an unknown lr_schedule fails before the first step
    ema = WeightEMA(net, cfg.ema_decay) if cfg.ema_decay else None
    draws = max(1, int(cfg.noise_draws))
    per_epoch = math.ceil(n / batch)
    losses: list[float] = []
    start = time.perf_counter()
    net.train()
    train_net = distributed.wrap(net) if distributed is not None else net
    order = None
    step = 0
    stopped_by_time = False
    running = torch.zeros((), device=device)
    count = 0
    last_loss = float("nan")
    while step < steps:
        pos = step % per_epoch
        if pos == 0:
            order = None if batch == n else torch.randperm(n, generator=gen, device=device)
        xb = x if order is None else x[order[pos * batch:(pos + 1) * batch]]
        if draws > 1:
            xb = xb.repeat(draws, 1)
        t, eps = draw_noise(xb.shape[0], xb.shape[1], gen, device, schedule, cfg.time_sampling)
        known = None if units is None else draw_known_mask(xb.shape[0], units, cfg.condition_share, gen)
        if known is not None and cfg.time_sampling == "lognormal":
            t = keep_uniform_when_conditioned(t, known, gen)
        weight = 1.0
        if distributed is not None:
            keep, weight = distributed.batch_slice(torch.arange(xb.shape[0], device=device))
            xb, t, eps = xb[keep], t[keep], eps[keep]
            known = None if known is None else known[keep]
        fraction = (time.perf_counter() - start) / cfg.max_time if timed else 0.0
        for group in opt.param_groups:
            group["lr"] = cfg.lr * lr_factor(step, steps, cfg, fraction)
        loss = objective.loss(train_net, xb, t, eps, schedule, known)
        if weight != 1.0:
            loss = loss * weight
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if ema is not None:
            ema.update()
        running += loss.detach()
        count += 1
        step += 1
        past_budget = bool(cfg.max_time) and time.perf_counter() - start > cfg.max_time
        # one process stops at the first step past its budget; DDP ranks agree on it at the logged steps only
        if (past_budget and distributed is None) or step % progress_every == 0 or step == steps:
            over_time = past_budget
            if distributed is not None:
                running, over_time = distributed.reduce_log(running, over_time)
            last_loss = float(running) / count
            running.zero_()
            count = 0
            if not math.isfinite(last_loss):
                raise TrainingDiverged(
                    f"training diverged at step {step} (loss {last_loss}); lower --lr or check the input table")
            losses.append(last_loss)
            if progress is not None:
                progress(step, steps, last_loss)
            if over_time:
                stopped_by_time = True
                break
    if count:
        last_loss = float(running) / count
        if not math.isfinite(last_loss):
            raise TrainingDiverged(f"training diverged at step {step} (loss {last_loss})")
        losses.append(last_loss)
    seconds = time.perf_counter() - start
    model = ema.module if ema is not None else net
    model.eval()
    return TrainResult(step, step / per_epoch, seconds, last_loss, losses, stopped_by_time), model
