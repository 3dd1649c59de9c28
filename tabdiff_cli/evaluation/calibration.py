"""Are a model's uncertainty statements honest? Coverage of credible intervals and calibration of probabilities,
from posterior draws of cells whose true values are known (held-out rows with cells hidden).

A numeric cell's K posterior draws give central credible intervals: the level-l interval runs from the
(1 − l)/2 to the (1 + l)/2 quantile of the draws (linear interpolation, numpy's default). A calibrated model
covers the truth in a share l of the cells, up to the binomial spread sqrt(l(1 − l)/n) of n cells.

A categorical cell's draws give level probabilities (the share of draws per level). The expected calibration
error (Guo et al. 2017, eq. 3) bins the cells by the probability of their most likely level and averages
|accuracy − confidence| over the bins, weighted by their cells; 0 is calibrated. The level-l credible set
is the smallest set of levels whose probabilities add to at least l (most likely first); its coverage is read
like an interval's.

Plain numpy: no model, no torch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

LEVELS = (0.5, 0.9)  # the levels reported by name
CURVE_LEVELS = tuple(round(0.1 * k, 1) for k in range(1, 10)) + (0.95,)  # the coverage curve's levels
ECE_BINS = 10


def binomial_spread(level: float, n: int) -> float:
    """The standard deviation sqrt(l(1 − l)/n) of the covered share of n cells for a calibrated model."""
    return math.sqrt(level * (1 - level) / n) if n else float("nan")


def interval_coverage(draws: np.ndarray, truth: np.ndarray,
                      levels: tuple[float, ...] = CURVE_LEVELS) -> dict[str, float]:
    """{str(level): the share of cells whose truth lies in the central level interval of its draws}.

    draws: (n_cells, K) float64 posterior draws per cell; truth: (n_cells,) float64 true values. An interval
    is closed: a truth equal to an end is covered (whole numbers tie often). Errors: ValueError for
    mismatched shapes or no cells.
    """
    draws, truth = np.asarray(draws, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if draws.ndim != 2 or truth.shape != (draws.shape[0],) or draws.shape[0] == 0:
        raise ValueError(f"draws (n, K) and truth (n,) needed; got {draws.shape} and {truth.shape}")
    out = {}
    for level in levels:
        lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=1)
        out[str(level)] = float(((truth >= lo) & (truth <= hi)).mean())
    return out


def central_intervals(draws: np.ndarray, levels: tuple[float, ...] = LEVELS) -> dict[str, tuple[float, float]]:
    """{str(level): (low, high)}, the central credible intervals of one cell's draws (K,) (or a column's
    posterior samples)."""
    draws = np.asarray(draws, dtype=np.float64)
    draws = draws[np.isfinite(draws)]
    if not draws.size:
        return {}
    return {str(level): (float(np.quantile(draws, (1 - level) / 2)), float(np.quantile(draws, (1 + level) / 2)))
            for level in levels}


def level_probabilities(draws: np.ndarray, levels: list[Any]) -> np.ndarray:
    """(n_cells, L) probabilities: the share of each cell's K draws (n_cells, K) equal to each level."""
    draws = np.asarray(draws, dtype=object)
    return np.stack([(draws == level).mean(axis=1) for level in levels], axis=1).astype(np.float64)


def categorical_calibration(probs: np.ndarray, truth: np.ndarray, bins: int = ECE_BINS,
                            levels: tuple[float, ...] = CURVE_LEVELS) -> dict[str, Any]:
    """Calibration of level probabilities probs: (n_cells, L), rows adding to 1, against the true level's
    index truth: (n_cells,) int.

    Returns {"accuracy": share of cells whose most likely level is the truth, "ece": the expected
    calibration error, "log_loss": mean −log p(truth) (p floored at 1/(2K) for K draws is the caller's
    business: here at 1e-6), "bins": [{"confidence", "accuracy", "cells"}] of the reliability diagram,
    "coverage": {str(level): share of cells whose truth is in the level credible set}}.
    Errors: ValueError for mismatched shapes or no cells.
    """
    probs, truth = np.asarray(probs, dtype=np.float64), np.asarray(truth, dtype=np.int64)
    if probs.ndim != 2 or truth.shape != (probs.shape[0],) or probs.shape[0] == 0:
        raise ValueError(f"probs (n, L) and truth (n,) needed; got {probs.shape} and {truth.shape}")
    n = probs.shape[0]
    top = probs.argmax(axis=1)
    confidence = probs[np.arange(n), top]
    correct = (top == truth).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            acc, conf = float(correct[sel].mean()), float(confidence[sel].mean())
            ece += sel.mean() * abs(acc - conf)
            table.append({"confidence": conf, "accuracy": acc, "cells": int(sel.sum())})
    order = np.argsort(-probs, axis=1, kind="stable")
    ranked = np.take_along_axis(probs, order, axis=1)
    cumulative = ranked.cumsum(axis=1)
    rank_of_truth = np.argmax(order == truth[:, None], axis=1)
    coverage = {}
    for level in levels:
        size = (cumulative < level - 1e-12).sum(axis=1) + 1  # the smallest prefix reaching the level
        coverage[str(level)] = float((rank_of_truth < size).mean())
    p_truth = np.clip(probs[np.arange(n), truth], 1e-6, 1.0)
    return {"accuracy": float(correct.mean()), "ece": float(ece), "log_loss": float(-np.log(p_truth).mean()),
            "bins": table, "coverage": coverage}
