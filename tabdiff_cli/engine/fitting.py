"""Fitting: a DataFrame and a recipe in, a FittedModel out, in five steps.

1. `fit_encoder`: infer the schema and fit the TableEncoder (rank 0 only under DDP; the others rebuild it
   from its state);
2. resolve every "auto" for the encoded layout (config.auto.for_layout) and choose the device;
3. build the network and the parameterization;
4. train (engine/training.py), with the calibration's share of a time budget set aside
   (config.auto.plan_calibration);
5. calibrate the categorical level frequencies (FittedModel.calibrate_levels).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch

from tabdiff_cli._version import __version__
from tabdiff_cli.config import auto
from tabdiff_cli.config.sections import Config
from tabdiff_cli.diffusion.parameterization import MixedPrediction, make_parameterization
from tabdiff_cli.diffusion.schedule import make_schedule
from tabdiff_cli.engine.model import FittedModel, build_network
from tabdiff_cli.engine.runtime import configure_threads, resolve_device
from tabdiff_cli.engine.training import ProgressFn, TrainResult, train_denoiser
from tabdiff_cli.errors import LargeFitWarning, UserError
from tabdiff_cli.table.encoder import TableEncoder
from tabdiff_cli.table.schema import Schema, infer_schema
from tabdiff_cli.table.support import support_sketch

if TYPE_CHECKING:
    from tabdiff_cli.engine.distributed import DistributedContext

MIN_ROWS = 2


def fit_encoder(data: pd.DataFrame, cfg: Config, schema: Schema | None = None) -> TableEncoder:
    """The TableEncoder of `data` (n_rows, n_columns) under cfg's data section (spike_share resolved).
    schema: the column kinds (None: inferred with the config's overrides).
    Errors: UserError from schema inference (unknown column, no usable column, …)."""
    d = cfg.data
    table_schema = schema or infer_schema(data, overrides=d.columns, ids=d.ids, drop=d.drop,
                                          categorical_threshold=d.categorical_threshold)
    return TableEncoder(table_schema, d.numeric_transform, auto.categorical_encoding(d.numeric_transform),
                        d.max_categories, d.discrete_integers, auto.spike_share(d.spike_share, len(data)),
                        clusters=d.clusters).fit(data, max_rows=d.fit_max_rows)


def _numeric_share(encoder: TableEncoder) -> float:
    """The share of modelled units that are numeric coordinates (a spike block belongs to its column)."""
    units = [b for b in encoder.blocks if b.kind not in ("spike", "cluster")]
    return encoder.n_numeric / max(1, len(units))


def fit_model(data: pd.DataFrame, config: Config, seed: int, schema: Schema | None = None,
              progress: ProgressFn | None = None, distributed: DistributedContext | None = None,
              phase: Callable[[str], None] | None = None) -> tuple[FittedModel, TrainResult]:
    """Learn `data` (n_rows, n_columns) with `config` and seed `seed` (weights init, batches, noise).

    progress(step, total, loss) follows training; phase(text) is told when a step after training starts
    (the level calibration). distributed: this process's part of a DDP job (every rank passes the same
    table and seed): rank 0's encoder is used by all, and the weights end identical on every rank.
    A large fit (config.auto.fit_size_check) gives a LargeFitWarning before training. Returns (the fitted
    model, what training did). Errors: UserError for fewer than 2 rows, no usable column, or an encoded table
    past config.auto.MAX_FIT_BYTES; engine.training.TrainingDiverged when the loss is not finite.
    """
    if len(data) < MIN_ROWS:
        raise UserError(f"the table has {len(data)} row(s); tabdiff needs at least {MIN_ROWS}")
    if distributed is None:
        encoder = fit_encoder(data, config, schema)
        device = resolve_device(auto.training_device(config.training.device, len(data)))
    else:  # rank 0 fits, every rank rebuilds the same encoder from its state
        state = distributed.run_on_main(lambda: fit_encoder(data, config, schema).state_dict())
        encoder = TableEncoder.from_state(state)
        device = distributed.device
    cfg = auto.for_layout(config, len(data), encoder.n_features, _numeric_share(encoder))
    steps, batch = auto.total_steps(len(data), cfg.training.steps, cfg.training.epochs, cfg.training.batch_size)
    widest = max(((b.column, b.end - b.start) for b in encoder.blocks), key=lambda cw: cw[1], default=("", 0))
    large = auto.fit_size_check(len(data), encoder.n_features, steps, widest)  # refuses before the matrix exists
    if large:  # up front: the user can stop a fit that will take hours, or give it --max-time
        warnings.warn(large, LargeFitWarning, stacklevel=2)
    x = torch.as_tensor(encoder.transform(data, tie_seed=seed), device=device)
    configure_threads(cfg.training.threads, batch, cfg.model.hidden_dim, device)
    torch.manual_seed(seed)
    names = encoder.schema.names
    objective = make_parameterization(cfg.model.prediction, encoder.layout(), cfg.model.conditional)
    model = FittedModel(cfg, encoder, objective, build_network(cfg, encoder.n_features).to(device),
                        make_schedule(**vars(cfg.schedule)),
                        na_markers={k: v for k, v in data.attrs.get("na_markers", {}).items() if k in names},
                        integer_text=[c for c in data.attrs.get("integer_text", []) if c in names])
    calibration_rows, train_cfg = _plan_calibration(model, device, distributed)
    result, model.network = train_denoiser(model.network, x, model.schedule, train_cfg, seed=seed, progress=progress,
                                           objective=model.objective, distributed=distributed)
    calibration = None
    if calibration_rows:
        if phase is not None:
            phase(f"calibrating level frequencies on {calibration_rows:,} generated rows")
        calibration = model.calibrate_levels(x, calibration_rows, seed, distributed)
    model.meta = _meta(data, encoder, result, device, seed, distributed, calibration)
    model.meta["planned_steps"] = steps
    return model, result


def _plan_calibration(model: FittedModel, device: torch.device,
                      distributed: DistributedContext | None) -> tuple[int, Any]:
    """(calibration rows, the training section to train with): with a time budget the calibration's share
    comes off training's (config.auto.plan_calibration; under DDP each rank generates its shard)."""
    t = model.config.training
    rows = int(t.calibration_rows)
    if not (isinstance(model.objective, MixedPrediction) and model.objective.n_blocks > 0 and rows > 0):
        return 0, t
    if not t.max_time:
        return rows, t
    world = distributed.world_size if distributed is not None else 1
    per_row = model.calibration_seconds(rows, device) / rows / world
    rows, train_budget = auto.plan_calibration(float(t.max_time), per_row, rows)
    return rows, dataclasses.replace(t, max_time=train_budget) if rows else t


def _meta(data: pd.DataFrame, encoder: TableEncoder, result: TrainResult, device: torch.device, seed: int,
          distributed: DistributedContext | None, calibration: dict[str, Any] | None) -> dict[str, Any]:
    """What the checkpoint records of the fit (JSON-safe)."""
    meta = {
        "tabdiff_version": __version__,
        "n_rows": int(len(data)),
        "n_columns": int(data.shape[1]),
        "n_features": int(encoder.n_features),
        "epochs": round(result.epochs, 3),
        "steps": result.steps,
        "final_loss": result.final_loss,
        "fit_seconds": round(result.seconds, 3),
        "device": str(device),
        "processes": distributed.world_size if distributed is not None else 1,
        "seed": seed,
        "stopped_by_time": result.stopped_by_time,
        "loss_history": result.losses[-200:],
    }
    if calibration is not None:
        meta["calibration"] = calibration
    meta["support"] = support_sketch(data, encoder.schema)  # to tell a --given that no training row holds
    return meta
