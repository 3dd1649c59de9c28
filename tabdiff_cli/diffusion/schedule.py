"""Continuous-time variance-preserving noise schedules: alpha_bar(t) for t ∈ [0, 1].

The forward process is x_t = sqrt(alpha_bar(t))·x_0 + sqrt(1 − alpha_bar(t))·eps, eps ~ N(0, I)
(Ho et al. 2020, eq. 4, in continuous time as in Kingma et al. 2021, "Variational Diffusion Models").
"""

from __future__ import annotations

import math

import torch

from tabdiff_cli.errors import UserError


class SigmoidSchedule:
    """The blog recipe's schedule (its `ContinuousNoiseScheduler`).

    gamma(t) = gain·((2t − 1) + shift); y(t) = sigmoid(gamma(t)); beta_bar(t) = stop·(y(t) − y(0))/(y(1) − y(0))
    so beta_bar(0) = 0 and beta_bar(1) = stop; alpha_bar = 1 − beta_bar. Defaults: gain 6, shift 0.5,
    stop 0.99996 (alpha_bar(1) = 4e-5).
    """

    def __init__(self, gain: float = 6.0, shift: float = 0.5, stop: float = 0.99996):
        if not 0.0 < stop < 1.0:
            raise UserError(f"schedule.stop must lie in (0, 1), got {stop}")
        self.gain, self.shift, self.stop = float(gain), float(shift), float(stop)
        y0, y1 = self._sigmoid(0.0), self._sigmoid(1.0)
        self.y_ratio = self.stop / (y1 - y0)
        self.y_bias = -self.y_ratio * y0

    def _sigmoid(self, t: float) -> float:
        return 1.0 / (1.0 + math.exp(-self.gain * ((2 * t - 1) + self.shift)))

    def gamma(self, t: torch.Tensor) -> torch.Tensor:
        """gain·((2t − 1) + shift); t: any shape, in [0, 1]."""
        return self.gain * ((2 * t - 1) + self.shift)

    def alpha_bar(self, t: torch.Tensor | float) -> torch.Tensor:
        """Signal share alpha_bar(t): same shape and dtype as t (float64 for a Python float), 1 at t = 0,
        1 − stop at t = 1. Computed in float64 so alpha_bar(1) = 4e-5 keeps its digits."""
        t = torch.as_tensor(t, dtype=torch.float64) if not torch.is_tensor(t) else t
        y = torch.sigmoid(self.gamma(t.double()))
        return (1.0 - (self.y_ratio * y + self.y_bias)).to(t.dtype)

    def t_of_alpha_bar(self, alpha_bar: torch.Tensor) -> torch.Tensor:
        """Inverse of `alpha_bar`: the time t ∈ [0, 1] with that signal share (alpha_bar: any shape; clamped to
        [1 − stop, 1], the schedule's range). Same dtype as alpha_bar; computed in float64."""
        y0, y1 = self._sigmoid(0.0), self._sigmoid(1.0)
        beta_bar = 1.0 - alpha_bar.double()
        y = ((beta_bar - self.y_bias) / self.y_ratio).clamp(y0, y1)
        t = (torch.logit(y) / self.gain - self.shift + 1.0) / 2.0
        return t.clamp(0.0, 1.0).to(alpha_bar.dtype)

    def state(self) -> dict:
        """Settings for the checkpoint."""
        return {"kind": "sigmoid", "gain": self.gain, "shift": self.shift, "stop": self.stop}


def make_schedule(kind: str = "sigmoid", **kwargs) -> SigmoidSchedule:
    """Build a schedule by name. Errors: UserError for an unknown kind."""
    if kind == "sigmoid":
        return SigmoidSchedule(**kwargs)
    raise UserError(f"unknown noise schedule '{kind}'; known: sigmoid")


def q_sample(x0: torch.Tensor, t: torch.Tensor, schedule: SigmoidSchedule, eps: torch.Tensor) -> torch.Tensor:
    """Forward process sample x_t (n_rows, n_features) from x0 (n_rows, n_features), t (n_rows, 1), eps like x0."""
    ab = schedule.alpha_bar(t)
    return ab.sqrt() * x0 + (1.0 - ab).sqrt() * eps
