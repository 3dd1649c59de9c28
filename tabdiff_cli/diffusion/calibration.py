"""Level calibration: per-level logit offsets that make the generated categorical frequencies match the table's.

A denoiser trained for minutes on a CPU leaves systematic errors in the categorical marginals of what it
generates (the most frequent level of a column comes out a point too common, at any number of sampling
steps: the error lives in the network, not in the sampler). After training, the fit generates `rows` rows
with its own sampler and steps, compares each one-hot coordinate's frequency (categorical levels, spike
levels, missing indicators) with the training table's, and adds b = log((n·p_real + τ) / (n·p_gen + τ)) to
that level's logit at every reverse step (MixedPrediction.level_bias), where τ = PSEUDO_ROWS keeps a rare
level's update small while n·p is only a few rows. This is the logit adjustment for a known prior shift
(Menon et al. 2021, "Long-tail learning via logit adjustment", eq. 10), with the shift measured on the
model's own samples; the conditional structure p(level | rest) is untouched up to the per-level factor e^b.
docs/design.md, "Level calibration", has the measurements.
"""

from __future__ import annotations

import torch

PSEUDO_ROWS = 10.0  # τ: rows of prior weight on "no change" per level
MAX_SHIFT = 1.0  # |b| at most this many nats per level and round


def level_counts(onehot: torch.Tensor) -> torch.Tensor:
    """Rows per level of the one-hot region of encoded rows: onehot (n, m) 0/1 indicators (up to float
    rounding) → (m,) float64 whole numbers, exact, so the counts of row shards add up to the whole's."""
    return (onehot > 0.5).sum(0, dtype=torch.float64)


def calibration_shift(target: torch.Tensor, generated: torch.Tensor, rows: int,
                      pseudo_rows: float = PSEUDO_ROWS) -> torch.Tensor:
    """Logit offsets (m,) float32 from the table's level frequencies `target` (m,) and those of `rows`
    generated rows `generated` (m,): log((rows·target + τ)/(rows·generated + τ)), clipped to ±MAX_SHIFT."""
    expected, got = rows * target.double(), rows * generated.double()
    return torch.log((expected + pseudo_rows) / (got + pseudo_rows)).clamp(-MAX_SHIFT, MAX_SHIFT).float()
