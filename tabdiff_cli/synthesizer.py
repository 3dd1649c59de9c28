"""DiffusionSynthesizer: the Python API (fit / sample / impute / infer / save / load).

Conventions follow SDV and scikit-learn: `DiffusionSynthesizer(config).fit(df)`, `.sample(num_rows)`,
`.save(path)`, `DiffusionSynthesizer.load(path)`. The work is done below: engine/fitting.py fits,
engine/model.py (FittedModel) generates, conditioning.py answers conditional questions.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabdiff_cli import conditioning
from tabdiff_cli.config.sections import Config
from tabdiff_cli.diffusion.noise import shard_range
from tabdiff_cli.engine.fitting import fit_model
from tabdiff_cli.engine.model import FittedModel
from tabdiff_cli.engine.runtime import new_seed
from tabdiff_cli.engine.training import ProgressFn, TrainResult
from tabdiff_cli.errors import ExtrapolationWarning, UserError
from tabdiff_cli.table.conditions import Condition, parse_conditions
from tabdiff_cli.table.schema import Schema
from tabdiff_cli.table.support import support_warning

if TYPE_CHECKING:
    from tabdiff_cli.engine.distributed import DistributedContext

FEW_ROWS = 50  # below this many training rows, generated rows may copy them
UNDERTRAINED_SHARE = 0.1  # a time-stopped fit below this share of its planned steps gets a warning


class DiffusionSynthesizer:
    """Learns one table's joint distribution with a diffusion model and generates rows from it.

    config: the recipe (config.Config; None: `Config()`, the default recipe, as configs/default.yaml).
    After fit() or load(): `model` (engine.model.FittedModel) and its parts `encoder`, `schema`, `network`,
    `objective`, `meta`; `config` is then the resolved recipe. `last_seed` is the seed of the last draw.
    """

    def __init__(self, config: Config | None = None):
        self.config = config if config is not None else Config()
        self.model: FittedModel | None = None
        self.train_result: TrainResult | None = None
        self.last_seed: int | None = None
        self.support_note: str | None = None  # the last conditions' support warning (table/support.py)

    # ------------------------------------------------------------------ the fitted parts
    def _fitted(self) -> FittedModel:
        if self.model is None:
            raise UserError("the synthesizer is not fitted: call fit() or load() first")
        return self.model

    @property
    def encoder(self):
        """The fitted TableEncoder (None before fit)."""
        return None if self.model is None else self.model.encoder

    @property
    def schema(self) -> Schema | None:
        """The training table's column kinds (None before fit)."""
        return None if self.model is None else self.model.schema

    @property
    def network(self):
        """The denoiser sampled with (None before fit)."""
        return None if self.model is None else self.model.network

    @property
    def objective(self):
        """The parameterization (eps or mixed prediction; None before fit)."""
        return None if self.model is None else self.model.objective

    @property
    def meta(self) -> dict[str, Any]:
        """What fit recorded: rows, columns, encoded features, steps, seconds, device, seed, loss history."""
        return {} if self.model is None else self.model.meta

    @property
    def na_markers(self) -> dict[str, str]:
        """Each column's missing-cell marker in the training file (written back the same way)."""
        return {} if self.model is None else self.model.na_markers

    @property
    def integer_text(self) -> list[str]:
        """Columns written as whole numbers in the training CSV (table.io.prepare_for_text)."""
        return [] if self.model is None else self.model.integer_text

    # ------------------------------------------------------------------ fit
    def fit(self, data: pd.DataFrame, seed: int | None = None, progress: ProgressFn | None = None,
            schema: Schema | None = None, distributed: DistributedContext | None = None,
            phase: Callable[[str], None] | None = None) -> DiffusionSynthesizer:
        """Learn `data` (n_rows, n_columns). seed fixes weights init, batches and noise (None: the config's
        training.seed, else random; recorded in meta['seed']). progress(step, total, loss) follows training;
        phase(text) is told when a step after training starts (the level calibration). schema: column kinds
        (None: inferred). distributed: this process's part of a DDP job (engine/distributed.py): rank 0's
        seed and encoder are used by all, and the weights equal a single-process fit's up to float summation.
        Errors: UserError for fewer than 2 rows or no usable column; TrainingDiverged for a non-finite loss.
        """
        seed = self.config.training.seed if seed is None else seed
        seed = new_seed() if seed is None else int(seed)
        if distributed is not None:
            seed = int(distributed.broadcast_object(seed))
        self.model, self.train_result = fit_model(data, self.config, seed, schema=schema, progress=progress,
                                                  distributed=distributed, phase=phase)
        self.config = self.model.config
        return self

    def notes(self) -> list[tuple[str, str]]:
        """What a user should know of the fit, as (level, text), level "note" or "warning": identifier,
        constant and mostly empty columns, a table small enough to be copied, and a time budget that stopped
        training early (below UNDERTRAINED_SHARE of the planned steps: likely undertrained)."""
        model = self._fitted()
        out = []
        for c in model.schema.columns:
            if c.kind == "id":
                # a warning, shown even with --quiet: a wrong guess loses the column's data without a word
                why = "consecutive whole numbers" if c.id_numeric else "every value distinct"
                keep = f"--integer {c.name}" if c.id_numeric else f"--categorical {c.name}"
                out.append(("warning", f"column '{c.name}' is taken for an identifier ({why}): fresh unique values "
                                       f"are generated, not learned; to learn it, fit with {keep}; to leave it out, "
                                       f"--drop {c.name}"))
            elif c.kind in ("constant", "empty"):
                out.append(("note", f"column '{c.name}' is {c.kind}; reproduced as is, not learned"))
            elif c.missing_rate >= 0.8:
                out.append(("note", f"column '{c.name}' is {100 * c.missing_rate:.0f}% empty"))
        m = model.meta
        if m["n_rows"] < FEW_ROWS:
            out.append(("warning", f"only {m['n_rows']} training rows: generated rows may copy them"))
        if m.get("stopped_by_time"):
            planned = m.get("planned_steps", m["steps"])
            share = m["steps"] / max(planned, 1)
            if share < UNDERTRAINED_SHARE:
                # a budget on a busy machine can leave a handful of steps, and such a model generates nonsense
                out.append(("warning", f"the --max-time budget stopped training after {m['steps']} of {planned} "
                                       f"planned steps ({100 * share:.0f}%); the model is likely undertrained: give "
                                       "it more time, or train by steps on a less busy machine"))
            else:
                out.append(("note", f"stopped at the --max-time budget after {m['steps']} of {planned} planned steps"))
        return out

    # ------------------------------------------------------------------ sample
    def iter_sample(self, num_rows: int, seed: int | None = None, conditions: Any = None, shard: str | None = None,
                    allow_extrapolation: bool = False, **kwargs: Any) -> Iterator[pd.DataFrame]:
        """Yield num_rows generated rows (conditions: every row satisfies them; see parse_conditions) in
        batches, DataFrames with the training table's columns.

        seed: same seed, same device → the same rows, whatever batch_size (None: random; `last_seed` tells).
        shard "k/K": only part k of K of the same sample (whole noise blocks; the parts concatenate to it; a
        part may be empty, then nothing is yielded). Conditions that fewer than table.support.SUPPORT_WARN_ROWS
        training rows satisfy give an ExtrapolationWarning (its text also in `support_note`). Other keyword
        arguments as engine.model.FittedModel.iter_rows: batch_size, sampler, steps, device, resample, guidance.
        Errors: UserError for num_rows < 1, a bad shard, an unknown sampler, or an invalid condition.
        """
        model = self._fitted()
        if num_rows < 1:
            raise UserError(f"--n must be at least 1, got {num_rows}")
        seed = new_seed() if seed is None else int(seed)
        self.last_seed = seed
        start, count = shard_range(num_rows, shard) if shard else (0, num_rows)
        parsed = self.parse_conditions(conditions, allow_extrapolation) if conditions else []
        self._check_support(parsed)
        if count == 0:
            return iter(())
        if conditions:  # even when every condition is one a constant column holds: the rows come out the same
            return conditioning.iter_conditioned(model, num_rows, parsed, seed, start_row=start, count=count, **kwargs)
        kwargs.pop("resample", None)  # nothing is given: no RePaint rounds
        return model.iter_rows(count, seed=seed, start_row=start, **kwargs)

    def sample(self, num_rows: int, seed: int | None = None, conditions: Any = None, **kwargs: Any) -> pd.DataFrame:
        """Generate num_rows rows as a DataFrame with the training table's columns, order and dtypes.

        conditions: what every row must satisfy ('col=value', 'col in {a,b}', '40<=col<60', a dict, or
        Condition objects). seed: same seed, same device → the same rows (None: random; `last_seed`).
        Other keyword arguments as iter_sample. Errors: UserError for num_rows < 1, an unknown sampler, or an
        invalid condition.
        """
        parts = list(self.iter_sample(num_rows, seed=seed, conditions=conditions, **kwargs))
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)

    @staticmethod
    def count_rows(num_rows: int, shard: str | None = None) -> int:
        """Rows that iter_sample(num_rows, shard=shard) yields. Errors: UserError for a malformed shard."""
        return shard_range(num_rows, shard)[1] if shard else num_rows

    def empty_frame(self) -> pd.DataFrame:
        """A frame with no rows and the training table's columns and dtypes (an empty shard's content)."""
        model = self._fitted()
        return model.encoder.inverse_transform(np.zeros((0, model.encoder.n_features)))

    def _check_support(self, parsed: list[Condition]) -> None:
        """Set `support_note` and give an ExtrapolationWarning when (almost) no training row satisfies `parsed`
        (table/support.py; nothing for a checkpoint without a support sketch)."""
        self.support_note = support_warning(self._fitted().meta.get("support"), parsed) if parsed else None
        if self.support_note:
            warnings.warn(self.support_note, ExtrapolationWarning, stacklevel=3)

    def parse_conditions(self, conditions: Any, allow_extrapolation: bool = False) -> list[Condition]:
        """Conditions from strings ('col=value', 'col in {a,b}', '40<=col<60'), a {column: value} dict, or
        parsed Condition objects. Errors: UserError naming an unknown column or value, or a number outside
        the training range (unless allow_extrapolation)."""
        model = self._fitted()
        if isinstance(conditions, dict):
            conditions = [f"{k}={v}" for k, v in conditions.items()]
        if isinstance(conditions, str):
            conditions = [conditions]
        texts = [c for c in conditions if isinstance(c, str)]
        parsed = [c for c in conditions if isinstance(c, Condition)]
        return parsed + parse_conditions(texts, model.encoder, allow_extrapolation=allow_extrapolation)

    def impute(self, df: pd.DataFrame, draws: int = 1, seed: int | None = None, **kwargs: Any) -> pd.DataFrame:
        """Fill the empty cells of df (n_rows, the training columns), each row conditioned on its observed
        cells, which are returned unchanged. draws=K: K completions stacked with a `draw` column (multiple
        imputation). Other keyword arguments as conditioning.impute (progress, sampler, steps, resample,
        guidance, device). Errors: UserError for wrong columns or unseen values."""
        model = self._fitted()
        seed = new_seed() if seed is None else int(seed)
        self.last_seed = seed
        return conditioning.impute(model, df, draws=draws, seed=seed, **kwargs)

    def infer(self, given: Any, query: list[str] | str, num_samples: int = 2000, seed: int | None = None,
              allow_extrapolation: bool = False, **kwargs: Any) -> dict[str, Any]:
        """Inverse query: the distribution of the `query` columns given conditions `given` (as for sample).

        Returns per query column mean/std/quantiles (numeric) or level probabilities (categorical), and
        "samples", the num_samples conditional rows. Errors: UserError for unknown columns or values."""
        model = self._fitted()
        seed = new_seed() if seed is None else int(seed)
        self.last_seed = seed
        query = [query] if isinstance(query, str) else list(query)
        conditions = self.parse_conditions(given, allow_extrapolation)
        self._check_support(conditions)
        return conditioning.infer(model, conditions, query, num_samples=num_samples, seed=seed, **kwargs)

    def calibration(self, holdout: pd.DataFrame, columns: list[str] | None = None, cell_share: float | None = None,
                    draws: int = 100, seed: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """How often the model's credible intervals cover the truth on held-out rows (holdout: (n_rows, the
        training columns)): hide `columns` (or a `cell_share` of the cells), draw them `draws` times given the
        rest, score (conditioning.calibration_check). Errors: UserError as impute, or nothing to hide."""
        model = self._fitted()
        seed = new_seed() if seed is None else int(seed)
        self.last_seed = seed
        return conditioning.calibration_check(model, holdout, columns=columns, cell_share=cell_share, draws=draws,
                                              seed=seed, **kwargs)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the checkpoint (safetensors weights + JSON config, encoder state, meta), atomically.
        Errors: UserError when not fitted or the path cannot be written."""
        return self._fitted().save(path)

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> DiffusionSynthesizer:
        """Read a checkpoint written by save() on any device; weights go to `device` (default: CPU).
        Errors: CheckpointError for a missing, foreign, truncated or inconsistent file."""
        model = FittedModel.load(path, device)
        synth = cls(model.config)
        synth.model = model
        return synth
