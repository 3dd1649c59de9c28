"""The reverse process: from x_1 ~ N(0, I) to x_0, with what is known of the rows held to it.

The loop (`sample_loop`) walks the time grid t = k/steps, k = steps…1, and at each step asks three pieces:
the known-cell strategy for an epsilon estimate, the sampler (diffusion/samplers.py) for the step, and the
strategy again for what to do with the known coordinates afterwards. Strategies:

- `KnownCells` (nothing known): plain generation.
- `Inpainting` (RePaint, Lugmayr et al. 2022): after every step the known coordinates are replaced by a
  fresh forward sample of their values at time s, so the unknown ones are generated consistent with them;
  `resample` > 0 re-noises x_s back to t (x_t = sqrt(ab_t/ab_s)·x_s + sqrt(1 − ab_t/ab_s)·z) and repeats
  the step that many times. Replacement alone passes a condition on weakly (the network sees the known
  coordinates only noised); `guidance` w > 0 adds reconstruction guidance (Ho et al. 2022, "Video Diffusion
  Models", eq. 7): the data estimate of the unknown coordinates is moved against the gradient of the known
  coordinates' reconstruction error, x0_b ← x0_b − (w·sqrt(ab_t)/2)·∇_{x_t,b} Σ_a (x0_a − x0_hat_a(x_t))²,
  and eps recomputed from it (one backward pass per evaluation).
- `CleanKnown`: a network trained with masked conditioning (diffusion/parameterization.py) is given the
  known coordinates clean at every step with the mask; `guidance` w > 0 is then classifier-free guidance
  (Ho & Salimans 2022, eq. 6): eps = (1 + w)·eps(x | known) − w·eps(x̃ | nothing known), x̃ with the known
  coordinates forward-noised to t, as the unconditional network saw them in training.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from tabdiff_cli.config.sections import TIME_GRIDS
from tabdiff_cli.diffusion.noise import BlockNoise
from tabdiff_cli.diffusion.samplers import Sampler, make_sampler, predicted_x0
from tabdiff_cli.diffusion.schedule import SigmoidSchedule
from tabdiff_cli.errors import UserError

EpsFn = Callable[..., torch.Tensor]  # eps_fn(x: (n, d), t: (1, 1)[, known: (n, d) bool]) → (n, d)


def alpha_bar_at(schedule: SigmoidSchedule, t: float) -> float:
    """alpha_bar(t) of a time t given as a Python float, computed in float64."""
    return float(schedule.alpha_bar(torch.tensor(t, dtype=torch.float64)))


GRIDS = TIME_GRIDS
EDM_RHO = 7.0  # Karras et al. 2022, eq. 5
GRID_T_MIN = 0.005  # the last noisy time of the "logsnr" and "edm" grids: the uniform grid's at 200 steps


def time_grid(steps: int, kind: str, schedule: SigmoidSchedule) -> list[float]:
    """The times t_0 = 1 > t_1 > … > t_steps = 0 the reverse process visits.

    "uniform": t_k = (steps − k)/steps. "logsnr": equal steps of the log signal-to-noise ratio
    lambda = log(ab/(1 − ab)) between t = 1 and t = GRID_T_MIN. "edm": the noise levels
    sigma = sqrt((1 − ab)/ab) of Karras et al. 2022, eq. 5 (rho = 7) between the same two times. Both are
    mapped back to t through the schedule. Errors: UserError for another kind.
    """
    if kind == "uniform":
        return [k / steps for k in range(steps, -1, -1)]
    if kind not in GRIDS:
        raise UserError(f"unknown time grid '{kind}'; known: {', '.join(GRIDS)}")
    if steps == 1:
        return [1.0, 0.0]
    ab_max, ab_min = alpha_bar_at(schedule, 1.0), alpha_bar_at(schedule, GRID_T_MIN)
    if kind == "logsnr":
        lam_lo, lam_hi = math.log(ab_max / (1 - ab_max)), math.log(ab_min / (1 - ab_min))
        ab = torch.sigmoid(torch.linspace(lam_lo, lam_hi, steps, dtype=torch.float64))
    else:
        s_max, s_min = math.sqrt((1 - ab_max) / ab_max), math.sqrt((1 - ab_min) / ab_min)
        ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
        sigma = (s_max ** (1 / EDM_RHO) + ramp * (s_min ** (1 / EDM_RHO) - s_max ** (1 / EDM_RHO))) ** EDM_RHO
        ab = 1 / (1 + sigma**2)
    ts = [float(v) for v in schedule.t_of_alpha_bar(ab)]
    ts[0], ts[-1] = 1.0, GRID_T_MIN
    return ts + [0.0]


class KnownCells:
    """Nothing known: the network's own eps, and the sampler's step as it is. The base of the strategies:
    `rounds` extra RePaint rounds per step; `start(x)` the initial noise; `eps(...)` the estimate at x;
    `after_step(...)` the step's result with the known coordinates handled."""

    rounds = 0

    def to(self, device: torch.device, dtype: torch.dtype) -> KnownCells:
        """This strategy with its tensors on `device` (values in `dtype`)."""
        return self

    def start(self, x: torch.Tensor) -> torch.Tensor:
        """The initial x_1 from the noise draw x: (n, d)."""
        return x

    def eps(self, eps_fn: EpsFn, x: torch.Tensor, t_in: torch.Tensor, ab_t: float, noise: BlockNoise) -> torch.Tensor:
        """The epsilon estimate (n, d) at x: (n, d), time t_in: (1, 1), signal share ab_t."""
        return eps_fn(x, t_in)

    def after_step(self, x_s: torch.Tensor, ab_s: float, final: bool, noise: BlockNoise) -> torch.Tensor:
        """The step's result x_s: (n, d) with the known coordinates handled."""
        return x_s


class _Given(KnownCells):
    """Strategies with given coordinates: mask (n, d) bool, True where given; x0 (n, d) the given values."""

    def __init__(self, mask: torch.Tensor, x0: torch.Tensor):
        self.mask, self.x0 = mask, x0

    def to(self, device, dtype):
        self.mask, self.x0 = self.mask.to(device), self.x0.to(device=device, dtype=dtype)
        return self


class Inpainting(_Given):
    """RePaint replacement with `resample` extra rounds and reconstruction guidance `guidance` (module
    docstring), for a network that never saw a known mask."""

    def __init__(self, mask: torch.Tensor, x0: torch.Tensor, resample: int = 0, guidance: float = 0.0):
        super().__init__(mask, x0)
        self.rounds, self.guidance = int(resample), float(guidance)

    def eps(self, eps_fn, x, t_in, ab_t, noise):
        if self.guidance <= 0:
            return eps_fn(x, t_in)
        a, sigma = math.sqrt(ab_t), math.sqrt(1 - ab_t)
        with torch.enable_grad():
            x_in = x.detach().requires_grad_(True)
            x0 = predicted_x0(x_in, eps_fn(x_in, t_in), ab_t)
            err = torch.where(self.mask, x0 - self.x0, torch.zeros_like(x0)).square().sum()
            (grad,) = torch.autograd.grad(err, x_in)
        x0 = x0.detach() - torch.where(self.mask, torch.zeros_like(grad), grad) * (self.guidance * a / 2)
        return (x - a * x0) / sigma

    def after_step(self, x_s, ab_s, final, noise):
        known_s = self.x0 if final else math.sqrt(ab_s) * self.x0 + math.sqrt(1 - ab_s) * noise.randn()
        return torch.where(self.mask, known_s, x_s)


class CleanKnown(_Given):
    """The known coordinates held clean for a masked-conditioning network, with classifier-free guidance
    `guidance` (module docstring; 0: none)."""

    def __init__(self, mask: torch.Tensor, x0: torch.Tensor, schedule: SigmoidSchedule, guidance: float = 0.0):
        super().__init__(mask, x0)
        self.schedule, self.guidance = schedule, float(guidance)

    def start(self, x):
        return torch.where(self.mask, self.x0, x)

    def eps(self, eps_fn, x, t_in, ab_t, noise):
        eps_c = eps_fn(x, t_in, self.mask)
        if self.guidance <= 0:
            return eps_c
        # the unconditional branch sees the known coordinates noised to the network's own (float32) time
        ab = alpha_bar_at(self.schedule, float(t_in.flatten()[0]))
        noised = math.sqrt(ab) * self.x0 + math.sqrt(1 - ab) * noise.randn()
        eps_u = eps_fn(torch.where(self.mask, noised, x), t_in, None)
        return eps_c + self.guidance * (eps_c - eps_u)

    def after_step(self, x_s, ab_s, final, noise):
        return torch.where(self.mask, self.x0, x_s)


def known_cells(mask: torch.Tensor | None, x0: torch.Tensor | None, schedule: SigmoidSchedule,
                clean: bool = False, resample: int = 0, guidance: float = 0.0) -> KnownCells:
    """The strategy for given coordinates mask: (n, d) bool and values x0: (n, d): none given → KnownCells;
    a masked-conditioning network (clean) → CleanKnown; any other → Inpainting."""
    if mask is None or not bool(mask.any()):
        return KnownCells()
    if clean:
        return CleanKnown(mask, x0, schedule, guidance)
    return Inpainting(mask, x0, resample, guidance)


@torch.no_grad()
def sample_loop(eps_fn: EpsFn, schedule: SigmoidSchedule, noise: BlockNoise, sampler: str | Sampler = "ancestral",
                steps: int = 1000, known: KnownCells | None = None, eta: float = 0.0,
                grid: str = "uniform") -> torch.Tensor:
    """Run the reverse process from x_1 ~ N(0, I) to x_0 on the time grid `grid` (time_grid).

    eps_fn(x: (n, d), t: (1, 1)[, known]) → eps (n, d); noise: the run's BlockNoise (n = noise.n_rows);
    sampler: a name of diffusion.samplers.SAMPLERS or a Sampler (eta: DDIM's); known: what is given
    (`known_cells`; None: nothing). Returns x0: (n, d) float32.
    Errors: UserError for an unknown sampler or grid, or steps < 1.
    """
    sampler = make_sampler(sampler, eta) if isinstance(sampler, str) else sampler
    if steps < 1:
        raise UserError(f"--steps must be at least 1, got {steps}")
    times = time_grid(steps, grid, schedule)
    sampler.reset()
    x = noise.randn()
    known = (known or KnownCells()).to(noise.device, x.dtype)
    x = known.start(x)
    for t, s in zip(times[:-1], times[1:], strict=True):
        ab_t, ab_s = alpha_bar_at(schedule, t), alpha_bar_at(schedule, s)
        t_in = torch.full((1, 1), t, device=noise.device, dtype=x.dtype)
        for r in range(known.rounds + 1):
            eps = known.eps(eps_fn, x, t_in, ab_t, noise)
            x_s = sampler.step(x, eps, ab_t, ab_s, s == 0, noise, commit=r == known.rounds)
            x_s = known.after_step(x_s, ab_s, s == 0, noise)
            if r < known.rounds and s > 0:
                a = ab_t / ab_s
                x = math.sqrt(a) * x_s + math.sqrt(1 - a) * noise.randn()
            else:
                x = x_s
    return x
