"""The quantile transform to a standard normal, and back, in numpy (scikit-learn's QuantileTransformer fits
the quantiles; these functions apply them without importing it, so that sampling does not pay for
scikit-learn and scipy.stats at start-up).

`quantile_normal` spreads tied values over their quantile interval; `quantile_midrank` and
`quantile_inverse` are QuantileTransformer(output_distribution="normal").transform / inverse_transform of
scikit-learn 1.3–1.9 (sklearn.preprocessing._data._transform_col), operation for operation, so their results
are bit-identical to it (scipy's norm.cdf and norm.ppf are scipy.special.ndtr and ndtri).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

BOUNDS_THRESHOLD = 1e-7  # sklearn.preprocessing._data.BOUNDS_THRESHOLD

# sklearn's QuantileTransformer clip (ranks within 1e-7 of 0 or 1 map to ±5.2 standard deviations); the same
# bound to the last bit, so that its inverse_transform reads these scores as the column's exact min / max
_RANK_BOUND = 1e-7 - np.spacing(1)
TIE_STREAM = 7  # the tie draws' own random stream: fit seed 0 must not replay a user's default_rng(0) data


def quantile_normal(values: np.ndarray, quantiles: np.ndarray, references: np.ndarray,
                    rng: np.random.Generator | None = None) -> np.ndarray:
    """The quantile transform to a standard normal, with tied values spread over their quantile interval.

    values: (n_rows, n_columns) float64, NaN allowed (stays NaN); quantiles: (n_quantiles, n_columns) and
    references: (n_quantiles,) ranks in [0, 1], as fitted by sklearn's QuantileTransformer. Returns
    (n_rows, n_columns) float64 normal scores.

    A value held by many rows (a spike: 0 in 24 % of Default's PAY_AMT6, or a column's minimum) spans the
    ranks [lo, hi] of its repeated quantiles. sklearn puts every such row at the middle rank, or, for the
    column's minimum, at rank 0, i.e. z = -5.2: a point mass far in the tail that a diffusion model can only
    smear, and whatever it smears past the interval's edge decodes as the spike. Here each tied row gets the
    rank lo + U·(hi − lo) with U ~ Uniform(0, 1) from rng (the distributional transform, Rüschendorf 2009),
    so the encoded column is standard normal with no point mass, and the inverse transform, flat over
    [lo, hi], still decodes the whole interval to the spike value. rng None: the middle rank (lo + hi) / 2.
    Untied values get sklearn's rank (lo = hi); a tie's interval runs from its first to its last equal
    node (np.searchsorted), where np.interp gives only one end of it.
    """
    out = np.empty_like(values, dtype=np.float64)
    for j in range(values.shape[1]):
        v, q = values[:, j], quantiles[:, j]
        finite = ~np.isnan(v)
        x = v[finite]
        # the nodes equal to x are q[left:right]
        left, right = np.searchsorted(q, x, "left"), np.searchsorted(q, x, "right")
        tied = right > left
        lo = np.interp(x, q, references)  # x between two distinct nodes: their linear interpolation
        hi = lo.copy()
        lo[tied], hi[tied] = references[left[tied]], references[right[tied] - 1]
        u = np.empty(x.shape[0])
        if rng is None:
            u[:] = 0.5 * (lo + hi)
        else:
            u[:] = lo + rng.random(u.shape[0]) * (hi - lo)
        col = np.full(v.shape[0], np.nan)
        col[finite] = ndtri(np.clip(u, _RANK_BOUND, 1.0 - _RANK_BOUND))
        out[:, j] = col
    return out


def quantile_midrank(values: np.ndarray, quantiles: np.ndarray, references: np.ndarray) -> np.ndarray:
    """scikit-learn's forward quantile transform to a normal: tied values at the middle of their ranks.
    values: (n_rows, n_columns) float64, NaN stays NaN; quantiles (n_quantiles, n_columns), references
    (n_quantiles,). Returns (n_rows, n_columns) float64, clipped to about ±5.2."""
    out = np.array(values, dtype=np.float64, copy=True)
    clip_min = ndtri(BOUNDS_THRESHOLD - np.spacing(1))
    clip_max = ndtri(1 - (BOUNDS_THRESHOLD - np.spacing(1)))
    for j in range(out.shape[1]):
        x, q = out[:, j], quantiles[:, j]
        with np.errstate(invalid="ignore"):
            lower = x - BOUNDS_THRESHOLD < q[0]
            upper = x + BOUNDS_THRESHOLD > q[-1]
        finite = ~np.isnan(x)
        x[finite] = 0.5 * (np.interp(x[finite], q, references) - np.interp(-x[finite], -q[::-1], -references[::-1]))
        x[upper], x[lower] = 1, 0
        with np.errstate(invalid="ignore"):
            out[:, j] = np.clip(ndtri(x), clip_min, clip_max)
    return out


def quantile_inverse(z: np.ndarray, quantiles: np.ndarray, references: np.ndarray) -> np.ndarray:
    """scikit-learn's inverse quantile transform from a normal: z (n_rows, n_columns) normal scores → values
    (n_rows, n_columns) float64 within [quantiles[0], quantiles[-1]] per column; NaN stays NaN."""
    out = np.empty(np.shape(z), dtype=np.float64)
    for j in range(out.shape[1]):
        with np.errstate(invalid="ignore"):
            u = ndtr(np.asarray(z[:, j], dtype=np.float64))
            lower = u - BOUNDS_THRESHOLD < 0
            upper = u + BOUNDS_THRESHOLD > 1
        q = quantiles[:, j]
        finite = ~np.isnan(u)
        u[finite] = np.interp(u[finite], references, q)
        u[upper], u[lower] = q[-1], q[0]
        out[:, j] = u
    return out
