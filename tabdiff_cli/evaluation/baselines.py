"""Reference generators that a model has to beat, for the benchmarks and the known-case tests.

`independent_marginals` is the "fully factorized" baseline of the tabular-generation literature (TabPC's FF
rows): every column right on its own, every dependence between columns gone. A model whose detection or
trend score is no better than this baseline's has learned the marginals and nothing else.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from tabdiff_cli.evaluation.metrics import EvaluationError

__all__ = ["independent_marginals"]


def independent_marginals(df: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows whose columns are drawn independently, each from its own empirical distribution in ``df``.

    Each column draws ``n`` row positions of ``df`` uniformly with replacement, with its own positions (one
    ``numpy.random.default_rng(seed)`` for the whole table, columns in order), and takes that column's cells
    there: so a column's values, missing cells included, keep their frequencies in expectation, while the
    joint distribution becomes the product of the marginals. The result has ``df``'s column names, order and
    dtypes (categorical, nullable integer, boolean, datetime, object …) and a fresh RangeIndex.

    Args:
        df: the training table, n_rows × d, at least one row and one column.
        n: rows to generate (0 gives an empty table with the same columns and dtypes).
        seed: the same seed and table give the same rows.

    Returns:
        An n × d DataFrame.

    Raises:
        EvaluationError (a UserError): ``df`` is not a DataFrame or has no rows or no columns; ``n`` is not a
            non-negative integer.

    Source: the fully factorized baseline of TabPC (april-tools/tabpc, src/models/only_marginals.py), here
    with the empirical marginals instead of a fitted Gaussian or categorical per column.
    """
    if not isinstance(df, pd.DataFrame):
        raise EvaluationError(f"independent_marginals needs a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0 or df.shape[1] == 0:
        raise EvaluationError("independent_marginals needs a table with at least one row and one column")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise EvaluationError(f"independent_marginals: n must be a non-negative integer, got {n!r}")
    rng = np.random.default_rng(seed)
    columns = {}
    for j in range(df.shape[1]):
        column = df.iloc[:, j]
        columns[j] = column.iloc[rng.integers(0, len(df), size=int(n))].reset_index(drop=True)
    out = pd.concat(columns, axis=1)
    out.columns = df.columns
    return out
