"""Reverse-process samplers on a continuous VP schedule, with inpainting for known coordinates.

Samplers (all use the same trained epsilon-prediction network; t runs over the grid k/steps, k = steps…0):
- ``ancestral``: the seed's DDPM step (Ho et al. 2020, eq. 11, with variance of eq. 7):
  alpha = alpha_bar(t)/alpha_bar(s); mu = (x_t − (1 − alpha)/sqrt(1 − alpha_bar(t))·eps)/sqrt(alpha);
  x_s = mu + sqrt((1 − alpha)(1 − alpha_bar(s))/(1 − alpha_bar(t)))·z while s > 0.
- ``ddim``: Song et al. 2021, eq. 12: x0 = (x_t − sqrt(1 − ab_t)·eps)/sqrt(ab_t);
  sigma = eta·sqrt((1 − ab_s)/(1 − ab_t))·sqrt(1 − ab_t/ab_s);
  x_s = sqrt(ab_s)·x0 + sqrt(1 − ab_s − sigma²)·eps + sigma·z. eta = 0 is deterministic, eta = 1 ≈ DDPM.
- ``dpmpp2m``: DPM-Solver++(2M), Lu et al. 2022 ("DPM-Solver++", Algorithm 2), data prediction,
  lambda = log(alpha/sigma): x_s = (sigma_s/sigma_t)·x_t − alpha_s·(e^{−h} − 1)·D,
  D = (1 + 1/(2r))·x0_t − 1/(2r)·x0_prev, r = h_prev/h (first step: D = x0_t).

Inpainting (RePaint, Lugmayr et al. 2022): after every step the known coordinates are replaced by a
fresh forward sample of their values at time s, so the unknown ones are generated consistent with them;
`resample` > 0 re-noises x_s back to t (x_t = sqrt(ab_t/ab_s)·x_s + sqrt(1 − ab_t/ab_s)·z) and repeats
the step that many times, for coherence.
Replacement alone transmits a condition weakly: the network sees the known coordinates only through
their noised values. `guidance` > 0 adds reconstruction guidance (Ho et al. 2022, "Video Diffusion
Models", eq. 7): the data estimate x0_hat(x_t) = (x_t − sqrt(1 − ab_t)·eps)/sqrt(ab_t) of the unknown
coordinates is moved against the gradient of the known coordinates' reconstruction error,
x0_hat_b ← x0_hat_b − (w·sqrt(ab_t)/2)·∇_{x_t,b} Σ_a (x0_a − x0_hat_a(x_t))², and eps is recomputed from it;
every sampler then steps with that eps. It costs one backward pass through the network per evaluation.
A network trained with masked conditioning (parameterization.py) is given the known coordinates clean
instead (`clean_known`): they hold their values at every step, eps_fn also receives the known mask, and
neither re-noising nor guidance is needed.

Determinism: every random draw comes from `BlockNoise`, one torch.Generator per block of BLOCK_ROWS
output rows seeded from (seed, block index); a batch is a run of whole blocks, so the rows generated
for a seed do not depend on the batch size, and a shard of blocks reproduces its part of the whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from tabdiff_cli.diffusion.schedule import SigmoidSchedule
from tabdiff_cli.errors import UserError

SAMPLERS = ("ancestral", "ddim", "dpmpp2m")
BLOCK_ROWS = 1024


def block_seed(seed: int, block: int, stream: int = 0) -> int:
    """A 63-bit seed for (seed, block, stream), well mixed (numpy SeedSequence)."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, block, stream]).generate_state(2, np.uint64)[0] >> 1)


class BlockNoise:
    """Standard normal draws for rows [first_block·BLOCK_ROWS, …) of a sample, block by block.

    n_rows: rows of this batch (all its blocks full except possibly the last); d: features; stream: an
    independent family of generators for the same blocks (0: the reverse process; 2: level draws).
    Each call of `randn()` returns (n_rows, d) float32 on `device`: each block draws a full
    (BLOCK_ROWS, d) from its own generator and keeps the rows it needs, so a sample of n rows is the
    prefix of a sample of more rows with the same seed.
    """

    def __init__(self, seed: int, first_block: int, n_rows: int, d: int, device: torch.device, stream: int = 0):
        self.d, self.n_rows, self.device = d, n_rows, torch.device(device)
        n_blocks = math.ceil(n_rows / BLOCK_ROWS)
        self.generators = []
        for b in range(first_block, first_block + n_blocks):
            g = torch.Generator(device=self.device)
            g.manual_seed(block_seed(seed, b, stream))
            self.generators.append(g)

    def randn(self) -> torch.Tensor:
        """(n_rows, d) float32 standard normal draws, the next in each block's stream."""
        parts = [torch.randn(BLOCK_ROWS, self.d, generator=g, device=self.device) for g in self.generators]
        return torch.cat(parts, dim=0)[: self.n_rows]

    def rand(self) -> torch.Tensor:
        """(n_rows, d) float32 uniform draws in [0, 1), block by block like randn."""
        parts = [torch.rand(BLOCK_ROWS, self.d, generator=g, device=self.device) for g in self.generators]
        return torch.cat(parts, dim=0)[: self.n_rows]


def fixed_shape_eps(eps_fn: Callable[..., torch.Tensor], rows: int) -> Callable[..., torch.Tensor]:
    """eps_fn evaluated on chunks of exactly `rows` rows (the last one padded with copies of the first row,
    whose results are dropped), for batch-size-invariant results on CUDA.

    cuBLAS picks its matrix-product kernel by the number of rows, so one row's eps can differ in the last
    bits between a 1,000-row and a 50,000-row batch, and 50 reverse steps carry that into different decoded
    values. With every call the same shape, each row's result depends only on that row (every other operation
    in the network and the parameterizations is row-wise). x: (n, d), t: (1, 1) or (n, 1), known: (n, d) or
    None → (n, d), as eps_fn. On CPU the kernels do not depend on the row count and this is not needed.
    """
    def chunk(v: torch.Tensor, a: int, b: int) -> torch.Tensor:
        if b - a == rows:
            return v[a:b]
        return torch.cat([v[a:b], v[:1].expand(rows - (b - a), *v.shape[1:])], dim=0)

    def chunked(x: torch.Tensor, t: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
        n = x.shape[0]
        per_row_t = t.shape[0] == n and n > 1
        parts = []
        for a in range(0, n, rows):
            b = min(a + rows, n)
            ta = chunk(t, a, b) if per_row_t else t
            out = eps_fn(chunk(x, a, b), ta) if known is None else eps_fn(chunk(x, a, b), ta, chunk(known, a, b))
            parts.append(out[: b - a])
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)

    return chunked


def _scalar(schedule: SigmoidSchedule, t: float) -> float:
    return float(schedule.alpha_bar(torch.tensor(t, dtype=torch.float64)))


EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@torch.no_grad()
def sample_loop(
    eps_fn: EpsFn,
    schedule: SigmoidSchedule,
    noise: BlockNoise,
    sampler: str = "ancestral",
    steps: int = 1000,
    eta: float = 0.0,
    known_mask: torch.Tensor | None = None,
    known_x0: torch.Tensor | None = None,
    resample: int = 0,
    x0_clip: float | None = None,
    guidance: float = 0.0,
    clean_known: bool = False,
) -> torch.Tensor:
    """Run the reverse process from x_1 ~ N(0, I) to x_0.

    eps_fn(x: (n, d), t: (1, 1)) → eps prediction (n, d). noise: the run's BlockNoise (n = noise.n_rows).
    known_mask: (n, d) bool, True where the coordinate is given; known_x0: (n, d) the given values
    (encoded space). resample: extra RePaint rounds per step. guidance: reconstruction-guidance weight w
    (module docstring; 0 = replacement only). x0_clip: clamp the implied x0 estimate
    to [−x0_clip, x0_clip] in ddim/dpmpp2m (the encoded data lies within about ±5.2).
    clean_known: eps_fn(x, t, known) is a conditional network: the known coordinates stay at known_x0
    throughout and resample / guidance are ignored (known = None when nothing is given).
    Returns x0: (n, d) float32. Errors: UserError for an unknown sampler or steps < 1.
    """
    if sampler not in SAMPLERS:
        raise UserError(f"unknown sampler '{sampler}'; known: {', '.join(SAMPLERS)}")
    if steps < 1:
        raise UserError(f"--steps must be at least 1, got {steps}")
    device = noise.device
    x = noise.randn()
    inpaint = known_mask is not None and bool(known_mask.any())
    if inpaint:
        known_mask = known_mask.to(device)
        known_x0 = known_x0.to(device=device, dtype=x.dtype)
    if clean_known:
        if inpaint:
            x = torch.where(known_mask, known_x0, x)
        eps_fn = _conditional_eps(eps_fn, schedule, noise, known_mask if inpaint else None, known_x0,
                                  guidance if inpaint else 0.0)
        resample, guidance = 0, 0.0
    x0_prev: torch.Tensor | None = None
    h_prev: float | None = None
    for k in range(steps, 0, -1):
        t, s = k / steps, (k - 1) / steps
        ab_t, ab_s = _scalar(schedule, t), _scalar(schedule, s)
        t_in = torch.full((1, 1), t, device=device, dtype=x.dtype)
        for r in range(resample + 1):
            if inpaint and guidance > 0:
                eps = _guided_eps(eps_fn, x, t_in, ab_t, known_mask, known_x0, guidance)
            else:
                eps = eps_fn(x, t_in)
            if sampler == "ancestral":
                alpha = ab_t / ab_s
                mu = (x - (1 - alpha) / math.sqrt(1 - ab_t) * eps) / math.sqrt(alpha)
                x_s = mu + math.sqrt((1 - alpha) * (1 - ab_s) / (1 - ab_t)) * noise.randn() if s > 0 else mu
            else:
                x0 = (x - math.sqrt(1 - ab_t) * eps) / math.sqrt(ab_t)
                if x0_clip is not None:
                    x0 = x0.clamp(-x0_clip, x0_clip)
                if sampler == "ddim":
                    sigma = eta * math.sqrt((1 - ab_s) / (1 - ab_t)) * math.sqrt(max(0.0, 1 - ab_t / ab_s))
                    x_s = math.sqrt(ab_s) * x0 + math.sqrt(max(0.0, 1 - ab_s - sigma**2)) * eps
                    if sigma > 0 and s > 0:
                        x_s = x_s + sigma * noise.randn()
                else:  # dpmpp2m
                    x_s, h = _dpmpp2m_step(x, x0, x0_prev, h_prev, ab_t, ab_s)
                    if r == resample:
                        x0_prev, h_prev = x0, h
            if inpaint:
                if s > 0 and not clean_known:
                    known_s = math.sqrt(ab_s) * known_x0 + math.sqrt(1 - ab_s) * noise.randn()
                else:
                    known_s = known_x0
                x_s = torch.where(known_mask, known_s, x_s)
            if r < resample and s > 0:
                a = ab_t / ab_s
                x = math.sqrt(a) * x_s + math.sqrt(1 - a) * noise.randn()
            else:
                x = x_s
    return x


def _conditional_eps(net_fn, schedule: SigmoidSchedule, noise: BlockNoise, known: torch.Tensor | None,
                     known_x0: torch.Tensor | None, weight: float) -> EpsFn:
    """eps_fn(x, t) of a conditional network that holds the known coordinates of x clean.

    weight w > 0: classifier-free guidance (Ho & Salimans 2022, eq. 6): eps = (1 + w)·eps(x | known)
    − w·eps(x̃ | nothing known), where x̃ has the known coordinates forward-noised to t, as the unconditional
    network saw them in training; it sharpens the conditional toward the given values, at one more network
    evaluation per step.
    """
    if known is None or weight <= 0:
        return lambda x, t: net_fn(x, t, known)

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = _scalar(schedule, float(t.flatten()[0]))
        noised = math.sqrt(ab) * known_x0 + math.sqrt(1 - ab) * noise.randn()
        eps_c = net_fn(x, t, known)
        eps_u = net_fn(torch.where(known, noised, x), t, None)
        return eps_c + weight * (eps_c - eps_u)

    return eps


def _guided_eps(eps_fn: EpsFn, x: torch.Tensor, t_in: torch.Tensor, ab_t: float, known_mask: torch.Tensor,
                known_x0: torch.Tensor, weight: float) -> torch.Tensor:
    """eps at x: (n, d) after reconstruction guidance of the unknown coordinates (module docstring)."""
    a, sigma = math.sqrt(ab_t), math.sqrt(1 - ab_t)
    with torch.enable_grad():
        x_in = x.detach().requires_grad_(True)
        eps = eps_fn(x_in, t_in)
        x0 = (x_in - sigma * eps) / a
        err = torch.where(known_mask, x0 - known_x0, torch.zeros_like(x0)).square().sum()
        (grad,) = torch.autograd.grad(err, x_in)
    x0 = x0.detach() - torch.where(known_mask, torch.zeros_like(grad), grad) * (weight * a / 2)
    return (x - a * x0) / sigma


def _dpmpp2m_step(x, x0, x0_prev, h_prev, ab_t, ab_s):
    alpha_t, sigma_t = math.sqrt(ab_t), math.sqrt(1 - ab_t)
    alpha_s, sigma_s = math.sqrt(ab_s), math.sqrt(max(0.0, 1 - ab_s))
    lam_t = math.log(alpha_t / sigma_t)
    if sigma_s == 0.0:  # final step to t = 0: lambda = +inf, the update reduces to alpha_s·D
        h = math.inf
    else:
        h = math.log(alpha_s / sigma_s) - lam_t
    if x0_prev is None or h_prev is None or not math.isfinite(h):
        d = x0
    else:
        r = h_prev / h
        d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * x0_prev
    if not math.isfinite(h):
        return alpha_s * d, h
    return (sigma_s / sigma_t) * x - alpha_s * math.expm1(-h) * d, h


def shard_range(num_rows: int, shard: str) -> tuple[int, int]:
    """(start_row, rows) of shard "k/K" of a num_rows sample: shard k takes whole blocks
    [k·B/K, (k+1)·B/K) of the B = ceil(num_rows/BLOCK_ROWS) blocks, so the K parts, concatenated in
    order, are exactly the unsharded sample; with fewer blocks than shards some shards are empty
    (rows = 0). Errors: UserError for a malformed shard."""
    try:
        k_text, n_text = shard.split("/")
        k, parts = int(k_text), int(n_text)
    except ValueError:
        raise UserError(f"--shard '{shard}' must look like k/K, e.g. 0/4") from None
    if parts < 1 or not 0 <= k < parts:
        raise UserError(f"--shard '{shard}': need 0 <= k < K")
    return block_shard(num_rows, k, parts)


def block_shard(num_rows: int, k: int, parts: int) -> tuple[int, int]:
    """(start_row, rows) of part k of `parts` (0 <= k < parts) of a num_rows sample, in whole noise blocks;
    see shard_range, which parses the user's "k/K" into this."""
    blocks = math.ceil(num_rows / BLOCK_ROWS)
    b0, b1 = k * blocks // parts, (k + 1) * blocks // parts
    start, end = b0 * BLOCK_ROWS, min(num_rows, b1 * BLOCK_ROWS)
    return start, max(0, end - start)
