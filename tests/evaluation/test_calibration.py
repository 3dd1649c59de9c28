"""Coverage and calibration from posterior draws (evaluation/calibration.py), on draws whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from tabdiff_cli.evaluation.calibration import (
    binomial_spread,
    categorical_calibration,
    central_intervals,
    interval_coverage,
    level_probabilities,
)


def test_exact_posterior_draws_cover_the_truth_at_their_level():
    """Truth and draws from the same posterior N(mu_i, 1): each central level interval holds the truth in
    a share `level` of the cells, within 3 binomial standard deviations."""
    rng = np.random.default_rng(0)
    n, k = 4000, 400
    mu = rng.normal(size=n) * 3
    truth = mu + rng.normal(size=n)
    draws = mu[:, None] + rng.normal(size=(n, k))
    cov = interval_coverage(draws, truth)
    for level in (0.1, 0.5, 0.9, 0.95):
        assert cov[str(level)] == pytest.approx(level, abs=3 * binomial_spread(level, n) + 0.01)
    too_sure = interval_coverage(mu[:, None] + 0.3 * rng.normal(size=(n, k)), truth)
    assert too_sure["0.9"] < 0.5  # intervals a third as wide cover far less


def test_central_intervals_and_a_closed_interval_at_ties():
    lo, hi = central_intervals(np.arange(101.0))["0.9"]
    assert (lo, hi) == (pytest.approx(5.0), pytest.approx(95.0))
    assert interval_coverage(np.full((3, 10), 2.0), np.array([2.0, 2.0, 3.0]))["0.5"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        interval_coverage(np.zeros((0, 4)), np.zeros(0))


def test_calibrated_probabilities_have_a_small_ece_and_covering_credible_sets():
    rng = np.random.default_rng(1)
    n = 20000
    probs = rng.dirichlet(np.ones(3), size=n)
    truth = np.array([rng.choice(3, p=p) for p in probs])
    got = categorical_calibration(probs, truth)
    assert got["ece"] < 0.02
    assert got["coverage"]["0.9"] >= 0.9 - 0.01  # smallest set reaching 90 %: at least 90 % (discrete sets)
    overconfident = categorical_calibration(np.eye(3)[probs.argmax(1)] * 0.99 + 0.01 / 3, truth)
    assert overconfident["ece"] > 0.2
    assert got["accuracy"] == pytest.approx(overconfident["accuracy"])


def test_level_probabilities_are_shares_of_draws():
    draws = np.array([["a", "a", "b", "b"], ["c", "c", "c", "a"]], dtype=object)
    assert level_probabilities(draws, ["a", "b", "c"]).tolist() == [[0.5, 0.5, 0.0], [0.25, 0.0, 0.75]]
