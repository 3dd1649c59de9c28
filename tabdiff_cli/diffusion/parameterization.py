"""What the denoiser predicts, its training loss, and how its output becomes an epsilon estimate.

- ``EpsilonPrediction`` (the blog recipe): the network predicts eps for every coordinate; loss = MSE
  (Ho et al. 2020, eq. 14, "L_simple").
- ``MixedPrediction`` (the default for general tables): numeric coordinates keep eps prediction; each
  one-hot block (a categorical column, or a missing-value indicator) gets logits, trained with
  cross-entropy against the true level. At sampling the logits give x0_hat = E[one-hot] (the softmax,
  mapped to the encoded scale) and eps_hat = (x_t − sqrt(alpha_bar)·x0_hat)/sqrt(1 − alpha_bar), the
  "score interpolation" of CDCD (Dieleman et al. 2022, "Continuous diffusion for categorical data",
  §3). Cross-entropy learns categorical marginals and their dependence far better than an MSE on
  Gaussian one-hot coordinates, which flattens rare levels (docs/design.md), and the samplers and
  inpainting keep working unchanged because they only see eps.

Loss of MixedPrediction: (Σ_numeric mean squared eps error + Σ_blocks mean cross-entropy) / (n_numeric +
n_blocks), i.e. every modelled column weighs the same.

Masked conditioning (model.conditional; CSDI, Tashiro et al. 2021, §3.3 "self-supervised training",
applied to tables as TabCSDI, Zheng & Charoenphakdee 2022): a share of the training rows get a random set
of *known* units (a numeric coordinate, a one-hot block) whose clean values replace their noised ones in
the network's input, with the known mask as a second input; the loss covers only the unknown units. At
sampling the given coordinates are fed clean at every step, so conditioning and imputation need neither
RePaint's re-noising nor guidance, and an all-unknown mask is plain unconditional generation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tabdiff_cli.config.sections import TIME_SAMPLING
from tabdiff_cli.diffusion.schedule import SigmoidSchedule, q_sample
from tabdiff_cli.errors import UserError
from tabdiff_cli.table.layout import Layout

LOGNORMAL_UNIFORM_SHARE = 0.2  # rows of a "lognormal" draw that keep the uniform t (draw_noise)


def uniform_times(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Uniform training times (the blog recipe's): t: (n, 1) = 1 − U[0, 1) ∈ (0, 1]."""
    return 1.0 - torch.rand(n, 1, generator=generator, device=device)


def draw_noise(n: int, d: int, generator: torch.Generator, device: torch.device,
               schedule: SigmoidSchedule | None = None, time_sampling: str = "uniform",
               log_sigma_mean: float = -1.2, log_sigma_std: float = 1.2,
               uniform_share: float = LOGNORMAL_UNIFORM_SHARE) -> tuple[torch.Tensor, torch.Tensor]:
    """Training noise for n rows: t: (n, 1) in (0, 1] and eps: (n, d) ~ N(0, I).

    time_sampling "uniform" (the blog recipe): t = 1 − U[0, 1). "lognormal": the noise level sigma =
    sqrt((1 − alpha_bar)/alpha_bar) is drawn log-normal, ln sigma ~ N(log_sigma_mean, log_sigma_std²), and
    mapped to t through `schedule` (EDM's training distribution, Karras et al. 2022, §5 and Table 1,
    P_mean = −1.2, P_std = 1.2, as TabSyn trains its latent diffusion). Under the sigmoid schedule a
    uniform t spends half the rows at sigma > 4.4, where x_t is nearly pure noise and the network only learns
    the marginals; the log-normal puts most of them at sigma ≈ 0.1–1, where the data's structure is learned.
    A share `uniform_share` (0.2) of the rows keeps the uniform t all the same: the log-normal alone draws
    t > 0.5 for 1.3 % of the rows, and the high-noise times every sample starts from would stay untrained on
    a short run (docs/design.md, "Training times").
    Errors: ValueError for another time_sampling, or "lognormal" without a schedule.
    """
    if time_sampling == "uniform":
        t = uniform_times(n, generator, device)
    elif time_sampling == "lognormal":
        if schedule is None:
            raise ValueError("lognormal time sampling needs the noise schedule")
        log_sigma = log_sigma_mean + log_sigma_std * torch.randn(n, 1, generator=generator, device=device)
        alpha_bar = torch.sigmoid(-2.0 * log_sigma.double())  # 1/(1 + sigma²)
        t = schedule.t_of_alpha_bar(alpha_bar).float().clamp_min(1e-5)
        uniform = uniform_times(n, generator, device)
        t = torch.where(torch.rand(n, 1, generator=generator, device=device) < uniform_share, uniform, t)
    else:
        raise ValueError(f"unknown time_sampling '{time_sampling}'; use {' or '.join(TIME_SAMPLING)}")
    eps = torch.randn(n, d, generator=generator, device=device)
    return t, eps


def draw_known_mask(n: int, units: torch.Tensor, share: float, generator: torch.Generator) -> torch.Tensor:
    """Random known coordinates for masked-conditioning training: (n, d) bool.

    units: (d,) long, the unit (numeric coordinate or one-hot block) of each coordinate, numbered 0..U−1.
    A share `share` of the rows get a known set: a rate q ~ U[0, 1) per row and each unit known with
    probability q (so one given column and nearly complete rows are both practised); the other rows are
    all unknown (unconditional training). Draws come from `generator` (on units' device).
    """
    device = units.device
    n_units = int(units.max()) + 1 if units.numel() else 0
    conditioned = torch.rand(n, 1, generator=generator, device=device) < share
    rate = torch.rand(n, 1, generator=generator, device=device)
    known_units = (torch.rand(n, n_units, generator=generator, device=device) < rate) & conditioned
    return known_units[:, units]


def keep_uniform_when_conditioned(t: torch.Tensor, known: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Training times t: (n, 1) with every row that has a known coordinate (known: (n, d) bool, masked
    conditioning) redrawn from the uniform t = 1 − U[0, 1); rows with nothing known keep theirs.

    Used with "lognormal" time sampling (`draw_noise`): conditional sampling needs the network to move
    every unknown column towards p(unknown | known) from the first, nearly pure-noise steps, and the
    log-normal rarely trains there (docs/design.md, "Training times").
    """
    uniform = uniform_times(t.shape[0], generator, t.device)
    return torch.where(known.any(1, keepdim=True), uniform, t)


def _run(net: nn.Module, x: torch.Tensor, t: torch.Tensor, known: torch.Tensor | None) -> torch.Tensor:
    # an unconditional call keeps the two-argument signature, so any (x, t) network still plugs in
    return net(x, t) if known is None else net(x, t, known)


def network_input(x0: torch.Tensor, x_t: torch.Tensor, known: torch.Tensor | None) -> torch.Tensor:
    """x_t with the known coordinates replaced by their clean values (all (n, d))."""
    return x_t if known is None else torch.where(known, x0, x_t)


class EpsilonPrediction:
    """eps prediction on every coordinate (the blog recipe).

    units: (d,) conditioning units (`unit_index`) for a conditional network trained with masked
    conditioning (module docstring); None: unconditional.
    """

    name = "eps"
    units: torch.Tensor | None = None

    def loss(self, net: nn.Module, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor,
             schedule: SigmoidSchedule, known: torch.Tensor | None = None) -> torch.Tensor:
        """L_simple on a batch x0: (n, d) float32 at times t: (n, 1) with noise eps: (n, d) (the blog recipe draws
        t = 1 − U[0, 1) ∈ (0, 1] per row; see `draw_noise`). known: (n, d) bool coordinates given clean
        (masked conditioning; excluded from the loss) or None."""
        pred = _run(net, network_input(x0, q_sample(x0, t, schedule, eps), known), t, known)
        if known is None:
            return torch.mean((pred - eps) ** 2)
        return torch.mean((pred - eps) ** 2 * (~known))

    def eps(self, net: nn.Module, x_t: torch.Tensor, t: torch.Tensor, schedule: SigmoidSchedule,
            known: torch.Tensor | None = None) -> torch.Tensor:
        """eps estimate (n, d) at x_t (n, d), t (1, 1) or (n, 1); known: (n, d) bool coordinates that x_t
        holds clean (a conditional network), else None."""
        return _run(net, x_t, t, known)


class MixedPrediction(EpsilonPrediction):
    """eps for numeric coordinates, softmax logits for one-hot blocks (module docstring).

    d: encoded width; numeric: indices of eps-predicted coordinates, all before the first block;
    blocks: [(start, end)] one-hot blocks that tile [first start, d) (TableEncoder's layout);
    scale, offset: (d,) maps from a probability p to the encoded value (x0 = p·scale + offset; for ±1
    one-hot scale 2 and offset −1).
    level_bias: (d − first block start,) float32 added to the one-hot logits when sampling (not in the
    loss): zeros until diffusion/calibration.py sets it after training.
    The per-block softmax and cross-entropy run on the contiguous one-hot region at once: a block's
    maximum by scatter_reduce, its sum by a product with the (m, n_blocks) block-membership matrix. Gathering
    each block (or each group of equal-width blocks) cost a third of the sampling time on Adult (torch.profiler).
    Errors: ValueError when the blocks do not tile the end of the encoded vector.
    """

    name = "mixed"

    def __init__(self, d: int, numeric: list[int], blocks: list[tuple[int, int]], scale: torch.Tensor,
                 offset: torch.Tensor):
        self.d = d
        self.n_numeric = len(numeric)
        self.n_terms = len(numeric) + len(blocks)
        self.k0 = blocks[0][0] if blocks else d
        if list(numeric) != list(range(self.n_numeric)) or self.k0 != self.n_numeric:
            raise ValueError("MixedPrediction expects the numeric coordinates first, then the one-hot blocks")
        owner = []
        for b, (lo, hi) in enumerate(blocks):
            if lo != self.k0 + len(owner) or hi <= lo:
                raise ValueError(f"one-hot block ({lo}, {hi}) does not follow the previous one")
            owner += [b] * (hi - lo)
        if self.k0 + len(owner) != d:
            raise ValueError("the one-hot blocks must end at the encoded width")
        self.n_blocks = len(blocks)
        self.owner = torch.as_tensor(owner, dtype=torch.long)  # (m,) block of each one-hot coordinate
        self.starts = torch.as_tensor([lo - self.k0 for lo, _ in blocks], dtype=torch.long)  # (nb,) in the region
        self.member = F.one_hot(self.owner, self.n_blocks).float() if blocks else torch.zeros(0, 0)  # (m, nb)
        self.scale = scale.float()
        self.offset = offset.float()
        self.level_bias = torch.zeros(d - self.k0)

    def _on(self, device: torch.device) -> None:
        if self.owner.device != device:
            self.owner, self.member = self.owner.to(device), self.member.to(device)
            self.starts = self.starts.to(device)
            self.scale, self.offset = self.scale.to(device), self.offset.to(device)
        if self.level_bias.device != device:
            self.level_bias = self.level_bias.to(device)

    def _log_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-block log-softmax of logits: (n, m) one-hot region → (n, m)."""
        n = logits.shape[0]
        idx = self.owner.expand(n, -1)
        top = logits.new_full((n, self.n_blocks), float("-inf"))
        top = top.scatter_reduce(1, idx, logits.detach(), reduce="amax", include_self=True)
        shifted = logits - top.gather(1, idx)
        log_norm = torch.log(shifted.exp() @ self.member)  # (n, nb), each block's sum ≥ 1 after the shift
        return shifted - log_norm.gather(1, idx)

    def loss(self, net, x0, t, eps, schedule, known=None):
        self._on(x0.device)
        out = _run(net, network_input(x0, q_sample(x0, t, schedule, eps), known), t, known)
        free = None if known is None else (~known).to(out.dtype)
        total = out.new_zeros(())
        k0 = self.k0
        if k0:
            err = (out[:, :k0] - eps[:, :k0]) ** 2
            total = total + (err if free is None else err * free[:, :k0]).mean(0).sum()
        if self.n_blocks:
            target = (x0[:, k0:] - self.offset[k0:]) / self.scale[k0:]  # the one-hot indicator (n, m)
            nll = -(target * self._log_softmax(out[:, k0:]))  # (n, m): nonzero at each block's true level
            if free is not None:
                nll = nll * free[:, k0:]
            total = total + nll.sum(1).mean(0)
        return total / self.n_terms

    def sample_levels(self, x0: torch.Tensor, u: torch.Tensor, exclude: torch.Tensor | None = None) -> torch.Tensor:
        """Turn each one-hot block of a finished sample into one level drawn from its final probabilities.

        x0: (n, d) the sampler's output, whose one-hot blocks hold x0_hat = p·scale + offset (the last
        reverse step returns the data estimate); u: (n, n_blocks) uniforms in [0, 1); exclude: (d,) bool,
        coordinates never to draw (the missing level when imputing). Returns (n, d) with exact one-hot blocks.
        Drawing, rather than taking the argmax as the blog recipe does, keeps rare levels at their rate: an argmax
        over p = (0.55, 0.45) always picks the first (the final step of multinomial diffusion, Hoogeboom et
        al. 2021, and TabDDPM likewise draw the category).
        """
        if not self.n_blocks:
            return x0
        self._on(x0.device)
        k0 = self.k0
        allowed = torch.ones(x0.shape[1] - k0, dtype=torch.bool, device=x0.device)
        if exclude is not None:
            allowed = ~exclude[k0:].to(x0.device)
        member = self.member.double()
        owner = self.owner.expand(x0.shape[0], -1)
        p = ((x0[:, k0:].double() - self.offset[k0:]) / self.scale[k0:]).clamp_min(0.0) * allowed
        # a block whose whole mass was excluded (imputing a cell the model thinks empty): its allowed levels evenly
        no_mass = (p @ member).gather(1, owner) <= 0
        p = torch.where(no_mass, allowed.double().expand_as(p), p)
        total = p @ member  # (n, nb)
        cum = p.cumsum(1)
        within = cum - (cum - p).index_select(1, self.starts).gather(1, owner)  # cumulative mass inside the block
        threshold = (u.double() * total).gather(1, owner)
        # the level drawn is the first coordinate whose within-block cumulative mass exceeds u·total, i.e. the
        # number of coordinates at or below the threshold (zero-mass coordinates never end a run)
        rank = (within <= threshold).double() @ member
        width = member.sum(0).long()
        pick = self.starts.unsqueeze(0) + torch.minimum(rank.long(), width - 1)  # (n, nb) coordinate index
        onehot = torch.zeros_like(p).scatter_(1, pick, 1.0)
        out = x0.clone()
        out[:, k0:] = (onehot * self.scale[k0:] + self.offset[k0:]).to(x0.dtype)
        return out

    def eps(self, net, x_t, t, schedule, known=None):
        self._on(x_t.device)
        out = _run(net, x_t, t, known)
        if not self.n_blocks:
            return out
        k0 = self.k0
        ab = schedule.alpha_bar(t).to(x_t.dtype)
        x0_hat = self._log_softmax(out[:, k0:] + self.level_bias).exp() * self.scale[k0:] + self.offset[k0:]
        return torch.cat([out[:, :k0], (x_t[:, k0:] - ab.sqrt() * x0_hat) / (1 - ab).sqrt()], dim=1)


def make_parameterization(kind: str, layout: Layout, conditional: bool = False) -> EpsilonPrediction:
    """'eps' or 'mixed' for an encoded layout (table.layout.Layout); conditional: set `units` for masked
    conditioning. Errors: UserError for another kind."""
    if kind == "eps":
        objective = EpsilonPrediction()
    elif kind == "mixed":
        d, k = layout.n_features, layout.n_numeric
        scale, offset = torch.ones(d), torch.zeros(d)
        scale[k:] = torch.as_tensor(np.asarray(layout.onehot_scale, dtype=np.float64), dtype=torch.float32)
        offset[k:] = torch.as_tensor(np.asarray(layout.onehot_offset, dtype=np.float64), dtype=torch.float32)
        objective = MixedPrediction(d, list(range(k)), list(layout.blocks), scale, offset)
    else:
        raise UserError(f"unknown model.prediction '{kind}'; use eps or mixed")
    if conditional:
        objective.units = torch.as_tensor(layout.units, dtype=torch.long)
    return objective
