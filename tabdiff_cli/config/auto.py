"""Every rule that decides a setting from the table or the machine, in one place.

A config may say "auto" for 14 settings; these functions replace each by a value, at the moment its inputs
are known:

- `for_table(cfg, n_rows)`: before encoding (data.spike_share);
- `for_layout(cfg, n_rows, n_features, numeric_share)`: once the encoded width is known (network size and
  dropout, training length, batch, learning rate, noise draws, masked conditioning, time sampling, level calibration,
  sampling steps); the result has no "auto" left and is what a checkpoint stores;
- at fit and sample time, on the machine: `training_device`, `sampling_batch_rows`, `cpu_threads`,
  `plan_calibration`.

Implied settings that are no "auto" of their own: `categorical_encoding` (from data.numeric_transform) and
`default_guidance` (from model.conditional). Each rule's evidence (the measurements that chose it) is in
docs/configuration.md, section "auto rules"; here each says what it decides.

Pure functions of numbers and strings: no torch, no pandas.
"""

from __future__ import annotations

import math

from tabdiff_cli.config.sections import AUTO, Config
from tabdiff_cli.errors import UserError

SMALL_TABLE_ROWS = 1024  # up to here a table is "small": full-batch training, inpainting, CPU under "auto"
SPIKE_SHARE = 0.05  # spike levels above SMALL_TABLE_ROWS
CALIBRATION_ROWS = 8192  # level calibration above SMALL_TABLE_ROWS (mixed prediction)
LOGNORMAL_MAX_NUMERIC_SHARE = 0.5  # log-normal times on large tables with at most this share of numeric units
BLOCK_ROWS = 1024  # rows per noise block (diffusion/noise.py); batches are whole blocks
CPU_BATCH_CELLS = 1 << 19  # sampling rows × hidden width per CPU batch: activations stay in cache
CUDA_EVAL_ROWS = 16_384  # the one shape of every CUDA network call (diffusion/noise.fixed_shape_eps)
SMALL_WORK = 1 << 24  # batch · hidden² below which one CPU thread is fastest
CALIBRATION_BUDGET_SHARE = 0.5  # of training.max_time, at most, for the level calibration
MIN_CALIBRATION_ROWS = BLOCK_ROWS  # fewer rows estimate level frequencies too coarsely: no calibration
CALIBRATION_COST_SHARE = 0.5  # the calibration's network evaluations at most this share of the training's
SMALL_TABLE_DROPOUT = 0.2  # a small table's network memorizes its rows without it: posteriors too narrow
SMALL_TABLE_STEPS = 800  # training steps of a small table's conditional network


# The size of a fit, told before training starts: the encoded matrix (n_rows × n_features float32) lives in
# memory whole, and each step costs about batch × (n_features + hidden) × hidden multiply-adds.
LARGE_FIT_BYTES = 1 << 30  # an encoded matrix above 1 GiB gets a warning with its width and planned steps
LARGE_FIT_FEATURES = 2000  # as does an encoded width above this (each categorical level is a feature)
MAX_FIT_BYTES = 16 << 30  # above 16 GiB of encoded matrix, fit refuses (UserError) instead of swapping or dying


def fit_size_check(n_rows: int, n_features: int, steps: int, widest: tuple[str, int]) -> str | None:
    """A warning (text) for a large fit, None for an ordinary one; widest: (column, encoded width) of the
    widest column. Errors: UserError past MAX_FIT_BYTES, naming the widest column and what to do."""
    size = n_rows * n_features * 4
    what = (f"{n_rows:,} rows × {n_features:,} encoded features ({size / (1 << 30):.1f} GiB; widest: "
            f"'{widest[0]}', {widest[1]:,})")
    if size > MAX_FIT_BYTES:
        raise UserError(f"the encoded table would be {what}, over the {MAX_FIT_BYTES >> 30} GiB cap; drop or "
                        f"group wide columns (--drop, data.max_categories) or fit on a sample of the rows")
    if size > LARGE_FIT_BYTES or n_features > LARGE_FIT_FEATURES:
        return f"a large fit: {what}, {steps:,} planned steps; --max-time bounds the training time"
    return None


def is_small(n_rows: int) -> bool:
    """Whether a table of n_rows rows is small (at most SMALL_TABLE_ROWS)."""
    return n_rows <= SMALL_TABLE_ROWS


def spike_share(value: float | str, n_rows: int) -> float:
    """data.spike_share: "auto" is SPIKE_SHARE above SMALL_TABLE_ROWS rows, else 0 (a small table's few values,
    such as Iris's 0.1 cm grid, would all become levels)."""
    if value == AUTO:
        return SPIKE_SHARE if not is_small(n_rows) else 0.0
    return float(value)


def for_table(cfg: Config, n_rows: int) -> Config:
    """A copy of cfg with the settings that encoding needs resolved for a table of n_rows rows."""
    out = cfg.copy()
    out.data.spike_share = spike_share(out.data.spike_share, n_rows)
    return out


WIDE_FEATURES = 48  # above this encoded width the network and the training grow with the width
MAX_WIDE_HIDDEN = 512
MAX_WIDE_STEPS = 4000


def hidden_dim(n_rows: int, n_features: int | None = None) -> int:
    """model.hidden_dim: 64 below 500 rows, 128 below 5,000, else 256; a small table (is_small) wider than
    WIDE_FEATURES encoded features gets at least the power of two ≥ 2·n_features, at most MAX_WIDE_HIDDEN.
    Why: a 64-wide network under 120 inputs is a bottleneck that cannot hold their correlations (issue 24:
    300 rows × 120 factor-model columns came out 98 % at a column's min or max)."""
    by_rows = 64 if n_rows < 500 else 128 if n_rows < 5000 else 256
    if n_features is None or n_features <= WIDE_FEATURES or not is_small(n_rows):
        return by_rows  # a larger table has 128 or 256 already, and trains 1,000 steps or more
    return max(by_rows, min(MAX_WIDE_HIDDEN, 1 << math.ceil(math.log2(2 * n_features))))


def n_blocks(n_rows: int) -> int:
    """model.n_blocks: 3 residual blocks below 5,000 rows, else 4."""
    return 3 if n_rows < 5000 else 4


def batch_size(n_rows: int) -> int:
    """training.batch_size: the whole table up to SMALL_TABLE_ROWS rows, else 1,024 rows."""
    return n_rows if is_small(n_rows) else 1024


def noise_draws(n_rows: int) -> int:
    """training.noise_draws: ceil(600 / n_rows), at most 8: a tiny table still sees ~600 noisy rows a step."""
    return min(8, max(1, -(-600 // n_rows)))


def training_steps(n_rows: int, n_features: int | None, batch: int) -> int:
    """training.steps: SMALL_TABLE_STEPS for small tables, and 20 per encoded feature within
    [SMALL_TABLE_STEPS, MAX_WIDE_STEPS] above WIDE_FEATURES features (500 steps left 120 factor-model columns
    undertrained: generated values 2-3 times as spread as the real ones); larger tables 200 epochs of
    `batch`-row steps within [1,000, 8,000]."""
    if is_small(n_rows):
        if n_features is not None and n_features > WIDE_FEATURES:
            return int(min(MAX_WIDE_STEPS, max(SMALL_TABLE_STEPS, 20 * n_features)))
        return SMALL_TABLE_STEPS
    return int(min(8000, max(1000, 200 * -(-n_rows // int(batch)))))


def learning_rate(n_rows: int) -> float:
    """training.lr: 5e-3 for small tables, else 2e-3."""
    return 5e-3 if is_small(n_rows) else 2e-3


def conditional(n_rows: int) -> bool:
    """model.conditional: masked conditioning at every size: one network learns every conditional
    p(unknown | known) (the Simformer's choice, Gloeckler et al. 2024), so that `--given`, `impute` and
    `infer` read the given cells instead of inpainting them."""
    return True


def dropout(n_rows: int) -> float:
    """model.dropout: SMALL_TABLE_DROPOUT up to SMALL_TABLE_ROWS rows (the network would memorize the rows and
    its credible intervals would be too narrow), else 0."""
    return SMALL_TABLE_DROPOUT if is_small(n_rows) else 0.0


def time_sampling(n_rows: int, numeric_share: float | None) -> str:
    """training.time_sampling: "lognormal" for a large table whose modelled units are at most half numeric
    (mostly categories, learned by cross-entropy), else "uniform"."""
    mostly_categories = numeric_share is not None and numeric_share <= LOGNORMAL_MAX_NUMERIC_SHARE
    return "lognormal" if mostly_categories and not is_small(n_rows) else "uniform"


def sampling_steps(n_rows: int) -> int:
    """sampling.steps: 50 for small tables, else 200."""
    return 50 if is_small(n_rows) else 200


def calibration_rows(n_rows: int, prediction: str, training_rows: int | None = None,
                     sampling_steps: int | None = None) -> int:
    """training.calibration_rows: CALIBRATION_ROWS above SMALL_TABLE_ROWS rows with mixed prediction, else 0;
    and never more network evaluations (rows × sampling_steps) than CALIBRATION_COST_SHARE of the training's
    (3 per training row: forward and backward), in whole blocks, none below MIN_CALIBRATION_ROWS.
    training_rows: rows the training passes through the network (steps × batch × noise draws; None: no cap).
    Why the cap: `fit --epochs 2` of 50,000 rows trained 98 steps in 46 s and then spent 335 s generating
    8,192 calibration rows."""
    if is_small(n_rows) or prediction != "mixed":
        return 0
    if training_rows is None or not sampling_steps:
        return CALIBRATION_ROWS
    cap = int(CALIBRATION_COST_SHARE * 3 * training_rows / sampling_steps) // BLOCK_ROWS * BLOCK_ROWS
    rows = min(CALIBRATION_ROWS, cap)
    return rows if rows >= MIN_CALIBRATION_ROWS else 0


def for_layout(cfg: Config, n_rows: int, n_features: int | None = None,
               numeric_share: float | None = None) -> Config:
    """A copy of cfg with every "auto" replaced for a table of n_rows rows.

    n_features: the encoded width (None: not wide); numeric_share: the share of modelled units that are
    numeric coordinates (None counts as numeric). training.steps "auto" with training.epochs set is left to
    the epochs (steps None). Errors: UserError for a value "auto" cannot stand for.
    """
    out = for_table(cfg, n_rows)
    m, t, s = out.model, out.training, out.sampling
    if m.hidden_dim == AUTO:
        m.hidden_dim = hidden_dim(n_rows, n_features)
    if m.n_blocks == AUTO:
        m.n_blocks = n_blocks(n_rows)
    if t.batch_size == AUTO:
        t.batch_size = batch_size(n_rows)
    if t.noise_draws == AUTO:
        t.noise_draws = noise_draws(n_rows)
    if t.steps == AUTO:
        t.steps = None if t.epochs is not None else training_steps(n_rows, n_features, t.batch_size or n_rows)
    if t.lr == AUTO:
        t.lr = learning_rate(n_rows)
    if m.conditional == AUTO:
        m.conditional = conditional(n_rows)
    if m.dropout == AUTO:
        m.dropout = dropout(n_rows)
    if not isinstance(m.conditional, bool):
        raise UserError(f"model.conditional must be true, false or auto, got {m.conditional!r}")
    if t.time_sampling == AUTO:
        t.time_sampling = time_sampling(n_rows, numeric_share)
    if s.steps == AUTO:
        s.steps = sampling_steps(n_rows)
    if t.steps is None and t.epochs is None:
        raise UserError("training needs a length: set training.steps or training.epochs")
    if t.calibration_rows == AUTO:
        steps, batch = total_steps(n_rows, t.steps, t.epochs, t.batch_size)
        t.calibration_rows = calibration_rows(n_rows, m.prediction, steps * batch * int(t.noise_draws), s.steps)
    return out


def total_steps(n_rows: int, steps: int | None, epochs: int | None, batch: int | None) -> tuple[int, int]:
    """(optimizer steps, batch rows) of a resolved training section: steps if set, else epochs·ceil(n/batch).
    Errors: UserError for fewer than one step."""
    rows = n_rows if not batch or batch >= n_rows else int(batch)
    per_epoch = math.ceil(n_rows / rows)
    count = int(steps) if steps else int(epochs or 0) * per_epoch
    if count < 1:
        raise UserError("training needs at least one step: set --epochs or training.steps >= 1")
    return count, rows


def categorical_encoding(numeric_transform: str) -> str:
    """How one-hot coordinates are scaled: "standardized" with standardized numbers (the blog recipe's one
    scaler over every coordinate), else "pm1" (±1)."""
    return "standardized" if numeric_transform == "standard" else "pm1"


def default_guidance(conditional_model: bool, guidance: float) -> float:
    """The guidance weight when none is asked for: sampling.guidance (reconstruction guidance) for an
    inpainting model; 0 for a conditional model, which reads the given cells and takes classifier-free
    guidance only when asked."""
    return 0.0 if conditional_model else float(guidance)


def training_device(configured: str | None, n_rows: int) -> str:
    """training.device for fitting: "auto" trains a small table on the CPU (a tiny full-batch MLP is
    launch-bound on a GPU); otherwise the configured device ("auto" then means CUDA when available)."""
    configured = configured or AUTO
    return "cpu" if configured == AUTO and is_small(n_rows) else configured


def sampling_batch_rows(configured: int | str, hidden: int, device_type: str) -> int:
    """Rows per sampling batch for sampling.batch_size `configured` ("auto" or a count ≥ 1).

    "auto": on CPU rows × hidden ≈ CPU_BATCH_CELLS in whole blocks of BLOCK_ROWS, between 1,024 and 16,384
    (the (rows, hidden) activations stay in the caches); on CUDA, CUDA_EVAL_ROWS.
    Errors: UserError for anything else than "auto" or a whole number ≥ 1.
    """
    if configured == AUTO:
        if device_type == "cuda":
            return CUDA_EVAL_ROWS
        return min(16 * BLOCK_ROWS, max(BLOCK_ROWS, CPU_BATCH_CELLS // int(hidden) // BLOCK_ROWS * BLOCK_ROWS))
    if isinstance(configured, bool) or not isinstance(configured, int) or configured < 1:
        raise UserError(f"sampling.batch_size must be 'auto' or a whole number of at least 1; got {configured!r}")
    return configured


def cpu_threads(threads: int | None, batch: int, hidden: int) -> int | None:
    """CPU threads for torch: the configured count, else 1 for work below SMALL_WORK (batch · hidden², where
    per-call overhead dominates and a second thread only contends), else None (torch's own default)."""
    if threads is not None:
        return max(1, int(threads))
    return 1 if batch * hidden * hidden < SMALL_WORK else None


def plan_calibration(budget_s: float | None, seconds_per_row: float, rows: int) -> tuple[int, float | None]:
    """(calibration rows, training budget in seconds) under a time budget: the calibration takes at most
    CALIBRATION_BUDGET_SHARE of it (fewer rows, in whole blocks; 0 below MIN_CALIBRATION_ROWS) and training
    the rest (at least 1 s). budget_s None: (rows, None), no budget."""
    if not budget_s:
        return rows, None
    if seconds_per_row * rows > CALIBRATION_BUDGET_SHARE * budget_s:
        rows = int(CALIBRATION_BUDGET_SHARE * budget_s / seconds_per_row) // BLOCK_ROWS * BLOCK_ROWS
    if rows < MIN_CALIBRATION_ROWS:
        return 0, budget_s
    return rows, max(1.0, budget_s - seconds_per_row * rows)
