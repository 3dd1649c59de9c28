"""What the denoiser predicts, its training loss, and how its output becomes an epsilon estimate.

- ``EpsilonPrediction`` (the seed): the network predicts eps for every coordinate; loss = MSE
  (Ho et al. 2020, eq. 14, "L_simple").
- ``MixedPrediction`` (the default for general tables): numeric coordinates keep eps prediction; each
  one-hot block (a categorical column, or a missing-value indicator) gets logits, trained with
  cross-entropy against the true level. At sampling the logits give x0_hat = E[one-hot] (the softmax,
  mapped to the encoded scale) and eps_hat = (x_t − sqrt(alpha_bar)·x0_hat)/sqrt(1 − alpha_bar), the
  "score interpolation" of CDCD (Dieleman et al. 2022, "Continuous diffusion for categorical data",
  §3). Cross-entropy learns categorical marginals and their dependence far better than an MSE on
  Gaussian one-hot coordinates, which flattens rare levels (DESIGN.md §5), and the samplers and
  inpainting keep working unchanged because they only see eps.

Loss of MixedPrediction: (Σ_numeric mean squared eps error + Σ_blocks mean cross-entropy) / (n_numeric +
n_blocks), i.e. every modelled column weighs the same.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tabdiff_cli.diffusion.schedule import SigmoidSchedule, q_sample


def draw_noise(n: int, d: int, generator: torch.Generator, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Training noise for n rows: t: (n, 1) = 1 − U[0, 1) ∈ (0, 1] (the seed) and eps: (n, d) ~ N(0, I)."""
    t = 1.0 - torch.rand(n, 1, generator=generator, device=device)
    eps = torch.randn(n, d, generator=generator, device=device)
    return t, eps


class EpsilonPrediction:
    """eps prediction on every coordinate (the seed)."""

    name = "eps"

    def loss(self, net: nn.Module, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor,
             schedule: SigmoidSchedule) -> torch.Tensor:
        """L_simple on a batch x0: (n, d) float32 at times t: (n, 1) with noise eps: (n, d) (the seed draws
        t = 1 − U[0, 1) ∈ (0, 1] per row; see `draw_noise`)."""
        pred = net(q_sample(x0, t, schedule, eps), t)
        return torch.mean((pred - eps) ** 2)

    def eps(self, net: nn.Module, x_t: torch.Tensor, t: torch.Tensor, schedule: SigmoidSchedule) -> torch.Tensor:
        """eps estimate (n, d) at x_t (n, d), t (1, 1) or (n, 1)."""
        return net(x_t, t)


class MixedPrediction(EpsilonPrediction):
    """eps for numeric coordinates, softmax logits for one-hot blocks (module docstring).

    d: encoded width; numeric: indices of eps-predicted coordinates; blocks: [(start, end)] one-hot blocks;
    scale, offset: (d,) maps from a probability p to the encoded value (x0 = p·scale + offset; for ±1
    one-hot scale 2 and offset −1).
    """

    name = "mixed"

    def __init__(self, d: int, numeric: list[int], blocks: list[tuple[int, int]], scale: torch.Tensor,
                 offset: torch.Tensor):
        self.d = d
        self.numeric = torch.as_tensor(numeric, dtype=torch.long)
        self.n_terms = len(numeric) + len(blocks)
        groups: dict[int, list[int]] = defaultdict(list)
        for start, end in blocks:
            groups[end - start].append(start)
        # blocks of equal width are handled as one (n, k, width) tensor: one softmax per width, not per column
        self.groups = [(w, torch.as_tensor([[s + j for j in range(w)] for s in starts], dtype=torch.long))
                       for w, starts in sorted(groups.items())]
        self.scale = scale.float()
        self.offset = offset.float()

    def _on(self, device: torch.device) -> None:
        if self.numeric.device != device:
            self.numeric = self.numeric.to(device)
            self.groups = [(w, idx.to(device)) for w, idx in self.groups]
            self.scale, self.offset = self.scale.to(device), self.offset.to(device)

    def loss(self, net, x0, t, eps, schedule):
        self._on(x0.device)
        out = net(q_sample(x0, t, schedule, eps), t)
        total = out.new_zeros(())
        if self.numeric.numel():
            total = total + ((out[:, self.numeric] - eps[:, self.numeric]) ** 2).mean(0).sum()
        for width, idx in self.groups:
            logits = out[:, idx]  # (n, k, width)
            target = x0[:, idx].argmax(-1)  # (n, k)
            ce = F.cross_entropy(logits.reshape(-1, width), target.reshape(-1), reduction="none")
            total = total + ce.view(target.shape).mean(0).sum()
        return total / self.n_terms

    def eps(self, net, x_t, t, schedule):
        self._on(x_t.device)
        out = net(x_t, t)
        if not self.groups:
            return out
        ab = schedule.alpha_bar(t).to(x_t.dtype)
        eps = out.clone()
        for _, idx in self.groups:
            x0_hat = torch.softmax(out[:, idx], dim=-1) * self.scale[idx] + self.offset[idx]
            eps[:, idx] = (x_t[:, idx] - ab.sqrt().unsqueeze(-1) * x0_hat) / (1 - ab).sqrt().unsqueeze(-1)
        return eps


def make_parameterization(kind: str, encoder) -> EpsilonPrediction:
    """'eps' (the seed) or 'mixed' for a fitted TableEncoder's layout. Errors: ValueError for another kind."""
    if kind == "eps":
        return EpsilonPrediction()
    if kind != "mixed":
        from tabdiff_cli.errors import UserError

        raise UserError(f"unknown model.prediction '{kind}'; use eps or mixed")
    d = encoder.n_features
    numeric, blocks = [], []
    for b in encoder.blocks:
        if b.kind == "numeric":
            numeric.append(b.start)
        else:
            blocks.append((b.start, b.end))
    # the one-hot scaling is an affine map per coordinate: f(p) = p·(f(1) − f(0)) + f(0)
    m = d - encoder.n_numeric
    one = encoder.scale_onehot(np.ones((1, m)))[0]
    zero = encoder.scale_onehot(np.zeros((1, m)))[0]
    scale = torch.ones(d)
    offset = torch.zeros(d)
    scale[encoder.n_numeric:] = torch.as_tensor(one - zero, dtype=torch.float32)
    offset[encoder.n_numeric:] = torch.as_tensor(zero, dtype=torch.float32)
    return MixedPrediction(d, numeric, blocks, scale, offset)
