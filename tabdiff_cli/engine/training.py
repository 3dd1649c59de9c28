"""The training loop: the parameterization's loss on the encoded table, in memory, on one device per process
(several processes: PyTorch DDP, each rank training on its slice of the same global batch; distributed.py).

The loss comes from diffusion/parameterization.py (eps-MSE, or eps-MSE plus per-column cross-entropy on
one-hot blocks); a conditional objective (objective.units set) also draws each step's known coordinates
(masked conditioning, share training.condition_share).

The table is one tensor on the device and batches are index slices of a seeded permutation (no DataLoader);
the loss reaches the host only when it is logged.
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

from tabdiff_cli.config import auto
from tabdiff_cli.config.sections import TrainingConfig
from tabdiff_cli.diffusion.parameterization import (
    EpsilonPrediction,
    draw_known_mask,
    draw_noise,
    keep_uniform_when_conditioned,
)
from tabdiff_cli.diffusion.schedule import SigmoidSchedule
from tabdiff_cli.errors import UserError

if TYPE_CHECKING:
    from tabdiff_cli.engine.distributed import DistributedContext

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


def lr_factor(step: int, steps: int, cfg: TrainingConfig, time_fraction: float = 0.0) -> float:
    """Multiplier of cfg.lr at `step`: linear warm-up, then constant or cosine decay to min_lr_ratio.

    time_fraction: elapsed / max_time when training has a time budget; the cosine then follows whichever of
    steps and time is further along, so a run stopped by its budget has still decayed its learning rate.
    Errors: UserError for an unknown lr_schedule.
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
    (the warm-up of TensorFlow's ExponentialMovingAverage with num_updates). The tensor lists are gathered
    once: torch.optim.swa_utils.AveragedModel walks the module tree on every update.
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


class _Batches:
    """Each step's batch of x: (n, d) from one seeded generator: the rows of a fresh permutation per epoch
    (all rows when the batch is the table), repeated noise_draws times, training times and noise, the known
    mask of masked conditioning, and under DDP this rank's slice with its loss weight."""

    def __init__(self, x: torch.Tensor, batch: int, cfg: TrainingConfig, seed: int, schedule: SigmoidSchedule,
                 units: torch.Tensor | None, distributed: DistributedContext | None):
        self.x, self.batch, self.cfg, self.schedule, self.units = x, batch, cfg, schedule, units
        self.distributed = distributed
        self.n = x.shape[0]
        self.per_epoch = math.ceil(self.n / batch)
        self.draws = max(1, int(cfg.noise_draws))
        self.gen = torch.Generator(device=x.device)
        self.gen.manual_seed(int(seed))
        self.order: torch.Tensor | None = None

    def draw(self, step: int):
        """(x0, t, eps, known, weight) of optimizer step `step`: (b, d), (b, 1), (b, d), (b, d) bool or None,
        and the loss weight (1 outside DDP)."""
        pos = step % self.per_epoch
        if pos == 0:
            self.order = None if self.batch == self.n else torch.randperm(self.n, generator=self.gen,
                                                                          device=self.x.device)
        xb = self.x if self.order is None else self.x[self.order[pos * self.batch:(pos + 1) * self.batch]]
        if self.draws > 1:
            xb = xb.repeat(self.draws, 1)
        t, eps = draw_noise(xb.shape[0], xb.shape[1], self.gen, self.x.device, self.schedule,
                            self.cfg.time_sampling)
        known = None
        if self.units is not None:
            known = draw_known_mask(xb.shape[0], self.units, self.cfg.condition_share, self.gen)
            if self.cfg.time_sampling == "lognormal":
                t = keep_uniform_when_conditioned(t, known, self.gen)
        weight = 1.0
        if self.distributed is not None:
            keep, weight = self.distributed.batch_slice(torch.arange(xb.shape[0], device=self.x.device))
            xb, t, eps = xb[keep], t[keep], eps[keep]
            known = None if known is None else known[keep]
        return xb, t, eps, known, weight


class AdamW:
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019, Algorithm 2; Kingma & Ba 2015, Algorithm 1):
    the update of torch.optim.AdamW(foreach=True) with its defaults (betas 0.9 / 0.999, eps 1e-8, no
    amsgrad), operation for operation, on torch's foreach kernels. Not torch.optim itself: its first use
    imports torch._dynamo, which costs every `fit` about as much start-up as importing torch.

    params: the tensors to train (those with a gradient after backward are updated)."""

    def __init__(self, params, weight_decay: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.weight_decay, (self.beta1, self.beta2), self.eps = float(weight_decay), betas, eps
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = 0

    def zero_grad(self) -> None:
        """Drop every gradient (as zero_grad(set_to_none=True))."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr: float) -> None:
        """One update at learning rate lr from the parameters' current gradients."""
        self.steps += 1
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        params = [self.params[i] for i in live]
        grads = [self.params[i].grad for i in live]
        exp_avg, exp_avg_sq = [self.exp_avg[i] for i in live], [self.exp_avg_sq[i] for i in live]
        torch._foreach_mul_(params, 1 - lr * self.weight_decay)
        torch._foreach_lerp_(exp_avg, grads, 1 - self.beta1)
        torch._foreach_mul_(exp_avg_sq, self.beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1 - self.beta2)
        step_size = (lr / (1 - self.beta1 ** self.steps)) * -1
        denom = torch._foreach_sqrt(exp_avg_sq)
        torch._foreach_div_(denom, (1 - self.beta2 ** self.steps) ** 0.5)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, exp_avg, denom, step_size)


class _Optimizer:
    """AdamW with the warm-up and decay of `lr_factor`."""

    def __init__(self, net: nn.Module, cfg: TrainingConfig, steps: int):
        self.cfg, self.steps = cfg, steps
        self.opt = AdamW(net.parameters(), weight_decay=cfg.weight_decay)
        lr_factor(0, steps, cfg)  # an unknown lr_schedule fails before the first step

    def step(self, loss: torch.Tensor, step: int, time_fraction: float) -> None:
        """Take one optimizer step on `loss` at the learning rate of `step`."""
        self.opt.zero_grad()
        loss.backward()
        self.opt.step(self.cfg.lr * lr_factor(step, self.steps, self.cfg, time_fraction))


class _LossLog:
    """The running loss between logged steps (on the device), its global value under DDP, and the checks
    made at each logged step: divergence, and rank 0's time budget for every rank."""

    def __init__(self, device: torch.device, distributed: DistributedContext | None):
        self.running = torch.zeros((), device=device)
        self.count = 0
        self.losses: list[float] = []
        self.distributed = distributed

    def add(self, loss: torch.Tensor) -> None:
        self.running += loss.detach()
        self.count += 1

    def flush(self, step: int, past_budget: bool) -> tuple[float, bool]:
        """(mean loss since the last flush, whether to stop for time). Errors: TrainingDiverged."""
        over_time = past_budget
        if self.distributed is not None:
            self.running, over_time = self.distributed.reduce_log(self.running, over_time)
        loss = float(self.running) / self.count
        self.running.zero_()
        self.count = 0
        if not math.isfinite(loss):
            raise TrainingDiverged(f"training diverged at step {step} (loss {loss}); lower --lr or check the "
                                   "input table")
        self.losses.append(loss)
        return loss, over_time


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

    cfg: a resolved training section (no "auto"). Returns (result, the model to sample with: the EMA copy
    when cfg.ema_decay is set, else net). progress(step, total, loss) is called every `progress_every` steps
    and at the end. objective: the loss (default: eps MSE). distributed: one process of a DDP job
    (distributed.py): net is wrapped in DistributedDataParallel, every rank draws the same global batch,
    order and noise from the same seeded generator and trains on its slice (loss weighted so that the DDP
    mean is the global-batch mean), the logged loss is the global one and rank 0's time budget stops every
    rank, so N processes follow the single-process run.
    Errors: UserError for a non-positive lr; TrainingDiverged when the loss is not finite.
    """
    objective = objective or EpsilonPrediction()
    if not float(cfg.lr) > 0 or float(cfg.weight_decay) < 0:
        raise UserError("training.lr must be positive and weight_decay non-negative "
                        f"(got {cfg.lr}, {cfg.weight_decay})")
    n = x.shape[0]
    steps, batch = auto.total_steps(n, cfg.steps, cfg.epochs, cfg.batch_size)
    units = None if objective.units is None else objective.units.to(x.device)
    batches = _Batches(x, batch, cfg, seed, schedule, units, distributed)
    opt = _Optimizer(net, cfg, steps)
    ema = WeightEMA(net, cfg.ema_decay) if cfg.ema_decay else None
    log = _LossLog(x.device, distributed)
    # with a time budget the learning rate also follows the clock, except under DDP, where every rank must
    # use the same rate and only the step count is shared
    timed = bool(cfg.max_time) and distributed is None
    start = time.perf_counter()
    net.train()
    train_net = distributed.wrap(net) if distributed is not None else net
    step, stopped_by_time, last_loss = 0, False, float("nan")
    while step < steps:
        xb, t, eps, known, weight = batches.draw(step)
        loss = objective.loss(train_net, xb, t, eps, schedule, known)
        if weight != 1.0:
            loss = loss * weight
        opt.step(loss, step, (time.perf_counter() - start) / cfg.max_time if timed else 0.0)
        if ema is not None:
            ema.update()
        log.add(loss)
        step += 1
        past_budget = bool(cfg.max_time) and time.perf_counter() - start > cfg.max_time
        # one process stops at the first step past its budget; DDP ranks agree on it at the logged steps only
        if (past_budget and distributed is None) or step % progress_every == 0 or step == steps:
            last_loss, over_time = log.flush(step, past_budget)
            if progress is not None:
                progress(step, steps, last_loss)
            if over_time:
                stopped_by_time = True
                break
    model = ema.module if ema is not None else net
    model.eval()
    return TrainResult(step, step / batches.per_epoch, time.perf_counter() - start, last_loss, log.losses,
                       stopped_by_time), model
