"""Reverse-process samplers on a continuous variance-preserving schedule: one class per algorithm.

Every sampler takes the same step (the contract of diffusers' schedulers, reduced to what tabdiff needs):
`step(x, eps, ab_t, ab_s, final, noise, commit)` moves x_t: (n, d) to x_s, s < t, given the epsilon
estimate eps: (n, d) at t and the signal shares ab_t = alpha_bar(t), ab_s = alpha_bar(s); `final` marks the
last step (s = 0); random draws come from `noise` (diffusion/noise.BlockNoise). A multistep solver keeps
state between steps; `commit=False` (a RePaint round that will be re-noised) leaves that state alone.

- ``ancestral``: DDPM (Ho et al. 2020, eq. 11, with the posterior variance of eq. 7):
  alpha = ab_t/ab_s; mu = (x_t − (1 − alpha)/sqrt(1 − ab_t)·eps)/sqrt(alpha);
  x_s = mu + sqrt((1 − alpha)(1 − ab_s)/(1 − ab_t))·z, no noise on the final step.
- ``ddim``: Song et al. 2021, eq. 12: x0 = (x_t − sqrt(1 − ab_t)·eps)/sqrt(ab_t);
  sigma = eta·sqrt((1 − ab_s)/(1 − ab_t))·sqrt(1 − ab_t/ab_s);
  x_s = sqrt(ab_s)·x0 + sqrt(1 − ab_s − sigma²)·eps + sigma·z. eta = 0 is deterministic, eta = 1 ≈ DDPM.
- ``dpmpp2m``: DPM-Solver++(2M), Lu et al. 2022 ("DPM-Solver++", Algorithm 2), data prediction,
  lambda = log(alpha/sigma): x_s = (sigma_s/sigma_t)·x_t − alpha_s·(e^{−h} − 1)·D,
  D = (1 + 1/(2r))·x0_t − 1/(2r)·x0_prev, r = h_prev/h (first step: D = x0_t).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable

import torch

from tabdiff_cli.config.sections import SAMPLER_NAMES
from tabdiff_cli.diffusion.noise import BlockNoise
from tabdiff_cli.errors import UserError

LevelsFn = Callable[[torch.Tensor, BlockNoise], torch.Tensor]  # (x0_hat (n, d), noise) → x0 with levels drawn


class Sampler(ABC):
    """One reverse step of the VP process (module docstring); `reset()` starts a new trajectory.

    levels: for a model with categorical blocks (mixed prediction), a function that draws each block's level
    from the data estimate's probabilities (MixedPrediction.sample_levels); given, a step moves the one-hot
    coordinates towards that drawn level instead of towards the probabilities' mean (`draw_x0`). With few
    steps the true reverse transition of a categorical coordinate is a mixture over its levels, which one
    Gaussian around the mean misrepresents; drawing the level first samples that mixture.
    """

    name = ""
    levels: LevelsFn | None = None

    def draw_x0(self, x: torch.Tensor, eps: torch.Tensor, ab_t: float, noise: BlockNoise) -> torch.Tensor:
        """The data estimate at x, with its categorical levels drawn when `levels` is set."""
        x0 = predicted_x0(x, eps, ab_t)
        return x0 if self.levels is None else self.levels(x0, noise)

    def reset(self) -> None:  # noqa: B027 (a hook: most samplers keep no state)
        """Forget the state of a previous trajectory (multistep solvers keep some)."""

    @abstractmethod
    def step(self, x: torch.Tensor, eps: torch.Tensor, ab_t: float, ab_s: float, final: bool,
             noise: BlockNoise, commit: bool = True) -> torch.Tensor:
        """x_s: (n, d) from x_t: (n, d) and eps: (n, d) at t; ab_t, ab_s the signal shares at t and s."""


def predicted_x0(x: torch.Tensor, eps: torch.Tensor, ab_t: float) -> torch.Tensor:
    """The data estimate x0_hat = (x_t − sqrt(1 − ab_t)·eps)/sqrt(ab_t) (Ho et al. 2020, eq. 15)."""
    return (x - math.sqrt(1 - ab_t) * eps) / math.sqrt(ab_t)


class Ancestral(Sampler):
    """DDPM's ancestral step (module docstring)."""

    name = "ancestral"

    def __init__(self, levels: LevelsFn | None = None):
        self.levels = levels

    def step(self, x, eps, ab_t, ab_s, final, noise, commit=True):
        alpha = ab_t / ab_s
        if self.levels is None:
            mu = (x - (1 - alpha) / math.sqrt(1 - ab_t) * eps) / math.sqrt(alpha)
        else:  # the posterior mean of q(x_s | x_t, x0) (Ho et al. 2020, eq. 7) at the drawn x0
            x0 = self.draw_x0(x, eps, ab_t, noise)
            if final:
                return x0
            mu = (math.sqrt(ab_s) * (1 - alpha) * x0 + math.sqrt(alpha) * (1 - ab_s) * x) / (1 - ab_t)
        if final:
            return mu
        return mu + math.sqrt((1 - alpha) * (1 - ab_s) / (1 - ab_t)) * noise.randn()


class DDIM(Sampler):
    """DDIM's step with stochasticity eta (module docstring)."""

    name = "ddim"

    def __init__(self, eta: float = 0.0, levels: LevelsFn | None = None):
        self.eta, self.levels = float(eta), levels

    def step(self, x, eps, ab_t, ab_s, final, noise, commit=True):
        x0 = self.draw_x0(x, eps, ab_t, noise)
        if self.levels is not None:  # eps consistent with the drawn x0
            eps = (x - math.sqrt(ab_t) * x0) / math.sqrt(1 - ab_t)
        sigma = self.eta * math.sqrt((1 - ab_s) / (1 - ab_t)) * math.sqrt(max(0.0, 1 - ab_t / ab_s))
        x_s = math.sqrt(ab_s) * x0 + math.sqrt(max(0.0, 1 - ab_s - sigma**2)) * eps
        if sigma > 0 and not final:
            x_s = x_s + sigma * noise.randn()
        return x_s


class DPMSolverPP2M(Sampler):
    """DPM-Solver++(2M) (module docstring); keeps the previous data estimate and log-SNR step."""

    name = "dpmpp2m"

    def __init__(self, levels: LevelsFn | None = None) -> None:
        self.levels = levels
        self.reset()

    def reset(self) -> None:
        self.x0_prev: torch.Tensor | None = None
        self.h_prev: float | None = None

    def step(self, x, eps, ab_t, ab_s, final, noise, commit=True):
        x0 = self.draw_x0(x, eps, ab_t, noise)
        alpha_t, sigma_t = math.sqrt(ab_t), math.sqrt(1 - ab_t)
        alpha_s, sigma_s = math.sqrt(ab_s), math.sqrt(max(0.0, 1 - ab_s))
        # the final step reaches t = 0, lambda = +inf: the update reduces to alpha_s·D
        h = math.inf if sigma_s == 0.0 else math.log(alpha_s / sigma_s) - math.log(alpha_t / sigma_t)
        if self.x0_prev is None or self.h_prev is None or not math.isfinite(h):
            d = x0
        else:
            r = self.h_prev / h
            d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * self.x0_prev
        if commit:
            self.x0_prev, self.h_prev = x0, h
        if not math.isfinite(h):
            return alpha_s * d
        return (sigma_s / sigma_t) * x - alpha_s * math.expm1(-h) * d


SAMPLERS: dict[str, type[Sampler]] = {cls.name: cls for cls in (Ancestral, DDIM, DPMSolverPP2M)}
assert tuple(SAMPLERS) == SAMPLER_NAMES  # config names what exists here


def make_sampler(name: str, eta: float = 0.0, levels: LevelsFn | None = None) -> Sampler:
    """A fresh sampler by name (eta: DDIM's stochasticity; levels: see Sampler). Errors: UserError for an
    unknown name."""
    if name not in SAMPLERS:
        raise UserError(f"unknown sampler '{name}'; known: {', '.join(SAMPLERS)}")
    return DDIM(eta, levels) if name == "ddim" else SAMPLERS[name](levels)
