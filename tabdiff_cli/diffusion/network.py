"""The denoiser: an MLP that predicts the noise eps from (x_t, t) (epsilon prediction), the blog recipe's.

Architecture: sinusoidal time embedding (time_dim) → Linear → GELU → Linear; input encoder Linear(d, hidden)
→ LayerNorm → SiLU → Linear; the two are summed; decoder: n_blocks × ResBlock(hidden) → Linear(hidden, d).

conditional=True widens the input encoder to Linear(2d, hidden): the network also reads a (n, d) 0/1 mask of
the coordinates that are given clean rather than noised, so one network learns every conditional
p(unknown | known) as well as the joint (masked conditioning as in CSDI, Tashiro et al. 2021, and TabCSDI,
Zheng & Charoenphakdee 2022; see parameterization.draw_known_mask).

dropout > 0 drops hidden units inside each ResBlock during training, between its SiLU and its second Linear,
as in the DDPM residual block (Ho et al. 2020, Appendix B). It adds no parameters, so checkpoints load the
same with or without it.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalTimeEmbedding(nn.Module):
    """t: (n,) or (n, 1) in [0, 1] → (n, dim): [sin(t·f_k), cos(t·f_k)], f_k = exp(−k·log(10000)/(half − 1)).

    As the blog recipe's `PositionEmbeddings` (Vaswani et al. 2017 frequencies, applied to the diffusion time).
    """

    def __init__(self, dim: int = 64):
        super().__init__()
        if dim % 2 or dim < 4:
            raise ValueError(f"time embedding dim must be even and >= 4, got {dim}")
        half = dim // 2
        freqs = torch.exp(torch.arange(half) * -(math.log(10000) / (half - 1)))
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        if t.ndim >= 2:
            t = t.squeeze(-1)
        arg = t.reshape(-1)[:, None] * self.freqs[None, :]
        return torch.cat([arg.sin(), arg.cos()], dim=-1)


class ResBlock(nn.Module):
    """h → Linear → LayerNorm → SiLU → Linear, plus the identity skip (the blog recipe's ResBlock, dim == dim_out).

    dropout > 0 adds nn.Dropout(dropout) after the SiLU (active in train() mode only)."""

    def __init__(self, dim: int, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(dim, dim), nn.LayerNorm(dim), nn.SiLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.block1 = nn.Sequential(*layers)
        self.block2 = nn.Linear(dim, dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.block2(self.block1(h)) + h


class Denoiser(nn.Module):
    """eps prediction network: forward(x_t: (n, d) float32, t: (n, 1) or (1, 1) in [0, 1], known: (n, d)
    bool or None) → (n, d). known is read only by a conditional network (None there: nothing given).
    dropout: the ResBlocks' dropout probability in [0, 1) (0: none, as the blog recipe)."""

    def __init__(self, in_dim: int, hidden_dim: int = 64, time_dim: int = 64, n_blocks: int = 3,
                 conditional: bool = False, dropout: float = 0.0):
        super().__init__()
        self.in_dim = in_dim
        self.conditional = bool(conditional)
        self.timestep_encoder = nn.Sequential(
            SinusoidalTimeEmbedding(time_dim),
            nn.Linear(time_dim, hidden_dim),
            nn.GELU(),
            nn.Linear(hidden_dim, hidden_dim),
        )
        self.encoder = nn.Sequential(
            nn.Linear(2 * in_dim if self.conditional else in_dim, hidden_dim),
            nn.LayerNorm(hidden_dim),
            nn.SiLU(),
            nn.Linear(hidden_dim, hidden_dim),
        )
        self.decoder = nn.Sequential(*[ResBlock(hidden_dim, dropout) for _ in range(n_blocks)],
                                     nn.Linear(hidden_dim, in_dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
        if self.conditional:
            flags = torch.zeros_like(x) if known is None else known.to(x.dtype).expand_as(x)
            x = torch.cat([x, flags], dim=1)
        h = self.encoder(x) + self.timestep_encoder(t)
        return self.decoder(h)
