"""DiffusionSynthesizer: the Python API (fit / sample / impute / infer / save / load).

It ties the one-way data flow together (DESIGN.md §3): DataFrame → schema → TableEncoder → denoiser
training → sampler → TableEncoder⁻¹ → DataFrame, and the checkpoint (encoder state + weights + config).
Conventions follow SDV and scikit-learn: `DiffusionSynthesizer(config).fit(df)`, `.sample(num_rows)`,
`.save(path)`, `DiffusionSynthesizer.load(path)`.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from tabdiff_cli import __version__
from tabdiff_cli.checkpoint import load_checkpoint, save_checkpoint
from tabdiff_cli.config import AUTO, SMALL_TABLE_ROWS, Config, resolve_auto, resolve_spike_share
from tabdiff_cli.diffusion.calibration import calibration_shift, level_counts
from tabdiff_cli.diffusion.network import Denoiser
from tabdiff_cli.diffusion.parameterization import MixedPrediction, make_parameterization
from tabdiff_cli.diffusion.sampler import BLOCK_ROWS, BlockNoise, block_seed, block_shard, fixed_shape_eps, sample_loop
from tabdiff_cli.diffusion.schedule import make_schedule
from tabdiff_cli.encoder import TableEncoder
from tabdiff_cli.errors import CheckpointError, UserError
from tabdiff_cli.schema import Schema, infer_schema
from tabdiff_cli.training import ProgressFn, TrainResult, configure_threads, total_steps, train_denoiser

if TYPE_CHECKING:
    from tabdiff_cli.distributed import DistributedContext

MIN_ROWS = 2
CUDA_EVAL_ROWS = 16_384  # the one shape of every network call in CUDA sampling (sampler.fixed_shape_eps)
CALIBRATION_BUDGET_SHARE = 0.5  # of training.max_time, at most, for the level calibration
MIN_CALIBRATION_ROWS = BLOCK_ROWS  # fewer rows than this estimate frequencies too coarsely: no calibration
CPU_BATCH_CELLS = 1 << 19  # sampling rows x hidden width per batch on CPU: activations stay in cache


def sample_batch_rows(configured: int | str, hidden_dim: int, device: torch.device) -> int:
    """Rows per sampling batch for sampling.batch_size `configured` ("auto" or a count ≥ 1).

    "auto": on CPU, rows × hidden_dim ≈ 2^19 (8,192 rows at width 64, 2,048 at 256), in whole blocks of
    BLOCK_ROWS, between 1,024 and 16,384: the (rows, hidden) activations then stay in the CPU caches, and
    the network ran 1.4-1.5x faster per row than with 16,384-row batches (Iris width 64 and Adult width 256,
    2 cores; benchmarks/RESULTS_speed.md). On CUDA, CUDA_EVAL_ROWS (launch-bound: bigger is not slower).
    Errors: UserError for anything else than "auto" or a whole number ≥ 1.
    """
    if configured == AUTO:
        if device.type == "cuda":
            return CUDA_EVAL_ROWS
        return min(16 * BLOCK_ROWS, max(BLOCK_ROWS, CPU_BATCH_CELLS // int(hidden_dim) // BLOCK_ROWS * BLOCK_ROWS))
    if isinstance(configured, bool) or not isinstance(configured, int) or configured < 1:
        raise UserError(f"sampling.batch_size must be 'auto' or a whole number of at least 1; got {configured!r}")
    return configured


MAX_GUIDANCE = 100.0  # far past any useful weight (3 over-disperses a sharp mixture); inf gave NaN cells


def resolve_device(device: str | None) -> torch.device:
    """'auto' → CUDA when available, else CPU (fit trains tables up to SMALL_TABLE_ROWS rows on the CPU under
    'auto'). Errors: UserError for 'cuda' without a CUDA device."""
    device = device or "auto"
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but no CUDA device is available (use --device cpu)")
    try:
        return torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device '{device}'; use auto, cpu or cuda") from None


def new_seed() -> int:
    """A fresh random seed (recorded so the run can be repeated)."""
    return secrets.randbelow(2**31 - 1)


class DiffusionSynthesizer:
    """Learns one table's joint distribution with a diffusion model and generates rows from it.

    config: the recipe (config.Config; default: the packaged default config).
    After fit(): `schema`, `encoder`, `network` (the weights sampled with), `train_result`, `meta`.
    """

    def __init__(self, config: Config | None = None):
        self.config = config or Config()
        self.schema: Schema | None = None
        self.encoder: TableEncoder | None = None
        self.network: Denoiser | None = None
        self.train_result: TrainResult | None = None
        self.meta: dict[str, Any] = {}
        self.na_markers: dict[str, str] = {}
        self.integer_text: list[str] = []  # columns written as whole numbers in CSV (io.prepare_for_text)
        self.schedule = make_schedule(**vars(self.config.schedule))
        self.last_seed: int | None = None
        self.objective = None

    # ------------------------------------------------------------------ fit
    def fit(self, data: pd.DataFrame, seed: int | None = None, progress: ProgressFn | None = None,
            schema: Schema | None = None,
            distributed: DistributedContext | None = None,
            phase: Callable[[str], None] | None = None) -> DiffusionSynthesizer:
        """Learn `data` (n_rows, n_columns). seed fixes weights init, batches and noise (None: random,
        recorded in meta['seed']). phase(text) is told when a step after training starts (the level
        calibration), for a progress display. distributed: this process's part of a DDP job (distributed.py; every
        rank passes the same table): rank 0's seed and encoder are used by all, the weights end identical
        on every rank and equal, up to float summation order, to a single-process fit.
        Errors: UserError for fewer than 2 rows or no usable column;
        training.TrainingDiverged when the loss is not finite."""
        if len(data) < MIN_ROWS:
            raise UserError(f"the table has {len(data)} row(s); tabdiff needs at least {MIN_ROWS}")
        cfg = self.config  # the data section has no "auto" values; the rest is resolved once the width is known
        seed = cfg.training.seed if seed is None else seed
        seed = new_seed() if seed is None else int(seed)

        def fit_encoder() -> TableEncoder:
            table_schema = schema or infer_schema(
                data, overrides=cfg.data.columns, ids=cfg.data.ids, drop=cfg.data.drop,
                categorical_threshold=cfg.data.categorical_threshold)
            return TableEncoder(table_schema, cfg.data.numeric_transform, self._categorical_encoding(),
                                cfg.data.max_categories, cfg.data.discrete_integers,
                                resolve_spike_share(cfg.data.spike_share, len(data))
                                ).fit(data, max_rows=cfg.data.fit_max_rows)

        if distributed is None:
            self.encoder = fit_encoder()
            device = resolve_device(cfg.training.device)
            if cfg.training.device in (None, AUTO) and len(data) <= SMALL_TABLE_ROWS:
                # a tiny full-batch MLP is launch-bound on a GPU: Iris fit 7.2 s on an H200, 1.8 s on 2 CPU cores
                device = torch.device("cpu")
        else:  # rank 0 fits, every rank rebuilds the same encoder from its state; rank 0's seed
            seed = int(distributed.broadcast_object(seed))
            self.encoder = distributed.share_encoder(fit_encoder)
            device = distributed.device
        # a spike block belongs to its numeric column: the share counts columns' units, as before spikes
        units = [b for b in self.encoder.blocks if b.kind != "spike"]
        numeric_share = self.encoder.n_numeric / max(1, len(units))
        self.config = cfg = resolve_auto(cfg, len(data), self.encoder.n_features, numeric_share)
        self.schema = self.encoder.schema
        self.na_markers = {k: v for k, v in data.attrs.get("na_markers", {}).items() if k in self.schema.names}
        self.integer_text = [c for c in data.attrs.get("integer_text", []) if c in self.schema.names]
        x = torch.as_tensor(self.encoder.transform(data, tie_seed=seed), device=device)
        configure_threads(cfg.training.threads, total_steps(len(x), cfg.training)[1], cfg.model.hidden_dim, device)
        torch.manual_seed(seed)
        net = self._build_network().to(device)
        self.objective = make_parameterization(cfg.model.prediction, self.encoder, cfg.model.conditional)
        calibrating = isinstance(self.objective, MixedPrediction) and self.objective.n_blocks > 0 \
            and int(cfg.training.calibration_rows) > 0
        train_cfg = cfg.training
        calibration_rows = int(cfg.training.calibration_rows)
        if calibrating and cfg.training.max_time:
            # the time budget covers the calibration too: training stops that much earlier. The calibration
            # gets at most half the budget (fewer rows, or none below MIN_CALIBRATION_ROWS): a 30 s Adult fit
            # on a busy machine otherwise kept 5 training steps for an 87 s calibration
            budget = float(cfg.training.max_time)
            # under DDP each rank generates its shard of the calibration rows (_calibrate_levels)
            world = distributed.world_size if distributed is not None else 1
            per_row = self._calibration_seconds(net, calibration_rows, device) / calibration_rows / world
            if per_row * calibration_rows > CALIBRATION_BUDGET_SHARE * budget:
                calibration_rows = int(CALIBRATION_BUDGET_SHARE * budget / per_row) // BLOCK_ROWS * BLOCK_ROWS
            calibrating = calibration_rows >= MIN_CALIBRATION_ROWS
            if calibrating:
                train_cfg = dataclasses.replace(train_cfg, max_time=max(1.0, budget - per_row * calibration_rows))
        result, model = train_denoiser(net, x, self.schedule, train_cfg, seed=seed, progress=progress,
                                       objective=self.objective, distributed=distributed)
        self.network = model
        self.train_result = result
        calibration = None
        if calibrating:
            if phase is not None:
                phase(f"calibrating level frequencies on {calibration_rows:,} generated rows")
            calibration = self._calibrate_levels(x, calibration_rows, seed, distributed)
        self.meta = {
            "tabdiff_version": __version__,
            "n_rows": int(len(data)),
            "n_columns": int(data.shape[1]),
            "n_features": int(self.encoder.n_features),
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
            self.meta["calibration"] = calibration
        return self

    def _calibration_seconds(self, net: Denoiser, rows: int, device: torch.device) -> float:
        """Seconds the level calibration of `rows` rows will take: sampling steps x batches x the time of
        one network evaluation, timed on the untrained network (same cost as the trained one)."""
        sc = self.config.sampling
        batch = min(rows, sample_batch_rows(sc.batch_size, self.config.model.hidden_dim, device))
        x = torch.zeros(batch, self.encoder.n_features, device=device)
        t = torch.full((1, 1), 0.5, device=device)
        with torch.no_grad():
            self.objective.eps(net, x, t, self.schedule)  # warm-up
            t0 = time.perf_counter()
            self.objective.eps(net, x, t, self.schedule)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            per_call = time.perf_counter() - t0
        return per_call * int(sc.steps) * math.ceil(rows / batch)

    def _calibrate_levels(self, x: torch.Tensor, rows: int, seed: int,
                          distributed: DistributedContext | None = None) -> dict[str, Any]:
        """Set the objective's level_bias so that `rows` generated rows have the level frequencies of the
        encoded training rows x: (n_rows, n_features) (diffusion/calibration.py). Returns what it did, for
        meta: rows, rows_this_process, seconds and the largest level-frequency gap before, in percentage
        points.

        Under DDP rank k generates shard k/N of the rows (sampler.block_shard: whole noise blocks, so the
        shards together are exactly the single-process rows) and the level counts (whole numbers in
        float64, so exact) are added over ranks: every rank sets the same bias as one process would, in
        1/N of the time."""
        obj = self.objective
        k0 = obj.k0
        offset, scale = obj.offset[k0:].double().cpu(), obj.scale[k0:].double().cpu()
        # the mean of the affine one-hot map is the map of the mean: no (n_rows, width) float64 copy
        target = (x[:, k0:].mean(0, dtype=torch.float64).cpu() - offset) / scale
        t0, last_seed = time.perf_counter(), getattr(self, "last_seed", None)
        start, count = (0, rows) if distributed is None else \
            block_shard(rows, distributed.rank, distributed.world_size)
        counts = torch.zeros(len(target), dtype=torch.float64)
        if count:
            for z in self.iter_sample(count, seed=block_seed(seed, 0, stream=3), start_row=start,
                                      decode=lambda z, rng, row0: torch.as_tensor(z)):
                counts += level_counts((z[:, k0:].double() - offset) / scale)
        self.last_seed = last_seed  # a user's sample seed, not this one
        if distributed is not None:
            counts = distributed.reduce_sum(counts)
        generated = counts / rows
        obj.level_bias = calibration_shift(target, generated, rows)
        gap = float((generated - target).abs().max()) * 100
        return {"rows": rows, "rows_this_process": count, "seconds": round(time.perf_counter() - t0, 3),
                "largest_gap_pts": round(gap, 3)}

    def _categorical_encoding(self) -> str:
        return "standardized" if self.config.data.numeric_transform == "standard" else "pm1"

    def _build_network(self) -> Denoiser:
        m = self.config.model
        return Denoiser(self.encoder.n_features, m.hidden_dim, m.time_dim, m.n_blocks, conditional=m.conditional,
                        dropout=m.dropout)

    def _default_guidance(self) -> float:
        # sampling.guidance is the reconstruction-guidance weight of a plain model; a conditional model reads
        # the given cells directly and takes classifier-free guidance only when asked (--guidance)
        return 0.0 if self.config.model.conditional else float(self.config.sampling.guidance)

    def _check_fitted(self) -> None:
        if self.network is None or self.encoder is None:
            raise UserError("the synthesizer is not fitted: call fit() or load() first")

    # ------------------------------------------------------------------ sample
    def iter_sample(
        self,
        num_rows: int,
        seed: int | None = None,
        batch_size: int | None = None,
        sampler: str | None = None,
        steps: int | None = None,
        device: str | None = None,
        known: tuple[np.ndarray, np.ndarray] | None = None,
        resample: int = 0,
        guidance: float | None = None,
        start_row: int = 0,
        forbid_missing: bool = False,
        decode: Callable[[np.ndarray, np.random.Generator, int], pd.DataFrame] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield the rows [start_row, start_row + num_rows) of the seed's sample, batch by batch.

        batch_size is rounded up to whole blocks of BLOCK_ROWS rows; the rows do not depend on it.
        known: (values, mask), each (n_features,) or (num_rows, n_features), for inpainting (encoded space).
        resample, guidance: RePaint rounds and reconstruction-guidance weight (sampler.sample_loop; guidance
        None: the config's sampling.guidance). A conditional model (model.conditional) is given the known
        cells clean; resample is then unused and guidance is a classifier-free guidance weight (None: 0).
        start_row must be a multiple of BLOCK_ROWS (shards). Errors: UserError for num_rows < 1.
        """
        self._check_fitted()
        if num_rows < 1:
            raise UserError(f"--n must be at least 1, got {num_rows}")
        if guidance is not None and not 0.0 <= float(guidance) <= MAX_GUIDANCE:
            raise UserError(f"--guidance must be a number in [0, {MAX_GUIDANCE:g}], got {guidance}")
        if start_row % BLOCK_ROWS:
            raise UserError(f"start_row must be a multiple of {BLOCK_ROWS}")
        seed = new_seed() if seed is None else int(seed)
        self.last_seed = seed
        sc = self.config.sampling
        sampler = sampler or sc.sampler
        steps = int(steps or sc.steps)
        dev = resolve_device(device) if device else next(self.network.parameters()).device
        net = self.network.to(dev)
        net.eval()
        batch_size = batch_size or sample_batch_rows(sc.batch_size, self.config.model.hidden_dim, dev)
        configure_threads(self.config.training.threads, min(num_rows, batch_size), self.config.model.hidden_dim, dev)
        d = self.encoder.n_features
        batch_blocks = max(1, math.ceil(batch_size / BLOCK_ROWS))
        done = 0
        while done < num_rows:
            n = min(batch_blocks * BLOCK_ROWS, num_rows - done)
            row0 = start_row + done
            first_block = row0 // BLOCK_ROWS
            noise = BlockNoise(seed, first_block, n, d, dev)
            mask = values = None
            if known is not None:
                values, mask = known
                if values.ndim == 2:
                    values, mask = values[done:done + n], mask[done:done + n]
                else:
                    values, mask = np.broadcast_to(values, (n, d)), np.broadcast_to(mask, (n, d))
                values = torch.as_tensor(np.ascontiguousarray(values), dtype=torch.float32)
                mask = torch.as_tensor(np.ascontiguousarray(mask), dtype=torch.bool)
            def eps_fn(x_t: torch.Tensor, t: torch.Tensor, known: torch.Tensor | None = None,
                       objective=self.objective) -> torch.Tensor:
                return objective.eps(net, x_t, t, self.schedule, known)

            if dev.type == "cuda":
                eps_fn = fixed_shape_eps(eps_fn, CUDA_EVAL_ROWS)
            x = sample_loop(eps_fn, self.schedule, noise, sampler=sampler, steps=steps, eta=sc.eta,
                            known_mask=mask, known_x0=values, resample=resample,
                            guidance=self._default_guidance() if guidance is None else float(guidance),
                            clean_known=self.config.model.conditional)
            if isinstance(self.objective, MixedPrediction) and self.objective.n_blocks:
                u = BlockNoise(seed, first_block, n, self.objective.n_blocks, dev, stream=2).rand()
                exclude = torch.as_tensor(self.encoder.missing_coordinates()) if forbid_missing else None
                x = self.objective.sample_levels(x, u, exclude)
            rng = np.random.default_rng(block_seed(seed, first_block, stream=1))
            x_np = x.float().cpu().numpy()
            if decode is not None:
                yield decode(x_np, rng, row0)
            else:
                yield self.encoder.inverse_transform(x_np, rng=rng, row_offset=row0, forbid_missing=forbid_missing)
            done += n

    def sample(self, num_rows: int, seed: int | None = None, **kwargs: Any) -> pd.DataFrame:
        """Generate num_rows rows as a DataFrame with the training table's columns, order and dtypes.

        seed: same seed, same device → the same rows (None: random; the one used is `last_seed`).
        Other keyword arguments as iter_sample (batch_size, sampler, steps, device, resample, conditions).
        Errors: UserError for num_rows < 1, an unknown sampler, or an invalid condition.
        """
        conditions = kwargs.pop("conditions", None)
        if conditions:
            from tabdiff_cli.conditioning import iter_conditioned

            seed = new_seed() if seed is None else int(seed)
            parts = list(iter_conditioned(self, num_rows, self.parse_conditions(conditions), seed, **kwargs))
        else:
            parts = list(self.iter_sample(num_rows, seed=seed, **kwargs))
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)

    def parse_conditions(self, conditions: Any, allow_extrapolation: bool = False) -> list:
        """Conditions from strings ('col=value', 'col in {a,b}', '40<=col<60'), a {column: value} dict, or
        parsed conditioning.Condition objects. Errors: UserError naming an unknown column or value."""
        from tabdiff_cli.conditioning import Condition, parse_conditions

        self._check_fitted()
        if isinstance(conditions, dict):
            conditions = [f"{k}={v}" for k, v in conditions.items()]
        if isinstance(conditions, str):
            conditions = [conditions]
        texts = [c for c in conditions if isinstance(c, str)]
        parsed = [c for c in conditions if isinstance(c, Condition)]
        return parsed + parse_conditions(texts, self.encoder, allow_extrapolation=allow_extrapolation)

    def impute(self, df: pd.DataFrame, draws: int = 1, seed: int | None = None, **kwargs: Any) -> pd.DataFrame:
        """Fill the empty cells of df (n_rows, training columns) conditioned on each row's observed cells,
        by inpainting; observed cells are returned unchanged. draws=K: K completions stacked with a
        `draw` column (multiple imputation). Errors: UserError for wrong columns or unseen values."""
        from tabdiff_cli.conditioning import impute

        self._check_fitted()
        seed = new_seed() if seed is None else int(seed)
        self.last_seed = seed
        return impute(self, df, draws=draws, seed=seed, **kwargs)

    def infer(self, given: Any, query: list[str] | str, num_samples: int = 2000, seed: int | None = None,
              **kwargs: Any) -> dict[str, Any]:
        """Inverse query: the distribution of the `query` columns given conditions `given` (as for sample).

        Returns per query column mean/std/quantiles (numeric) or class probabilities (categorical), and
        "samples", the conditional rows. Errors: UserError for unknown columns or values."""
        from tabdiff_cli.conditioning import infer

        seed = new_seed() if seed is None else int(seed)
        self.last_seed = seed
        query = [query] if isinstance(query, str) else list(query)
        return infer(self, self.parse_conditions(given), query, num_samples=num_samples, seed=seed, **kwargs)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the checkpoint (safetensors weights + JSON config, encoder state, meta), atomically."""
        self._check_fitted()
        tensors = {f"net.{k}": v for k, v in self.network.state_dict().items()}
        if isinstance(self.objective, MixedPrediction):
            tensors["objective.level_bias"] = self.objective.level_bias
        header = {
            "config": self.config.to_dict(),
            "encoder": self.encoder.state_dict(),
            "na_markers": self.na_markers,
            "integer_text": self.integer_text,
            "meta": self.meta,
        }
        return save_checkpoint(path, tensors, header)

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> DiffusionSynthesizer:
        """Read a checkpoint written by save() on any device; weights go to `device` (default: CPU).
        Errors: CheckpointError for a missing, foreign, truncated or inconsistent file."""
        tensors, header = load_checkpoint(path)
        try:
            synth = cls(Config.from_dict(header["config"], source=str(path)))
            synth.encoder = TableEncoder.from_state(header["encoder"])
            synth.schema = synth.encoder.schema
            synth.na_markers = header.get("na_markers", {})
            synth.integer_text = list(header.get("integer_text", []))
            synth.meta = header.get("meta", {})
            net = synth._build_network()
            state = {k.removeprefix("net."): v for k, v in tensors.items() if k.startswith("net.")}
            net.load_state_dict(state)
            synth.objective = make_parameterization(synth.config.model.prediction, synth.encoder,
                                                    synth.config.model.conditional)
            if "objective.level_bias" in tensors and isinstance(synth.objective, MixedPrediction):
                bias = tensors["objective.level_bias"].float()
                if bias.shape != synth.objective.level_bias.shape:
                    raise CheckpointError(f"{path}: level_bias has shape {tuple(bias.shape)}")
                synth.objective.level_bias = bias
        except (KeyError, TypeError, RuntimeError, UserError) as exc:
            raise CheckpointError(f"{path}: inconsistent checkpoint ({str(exc).splitlines()[0][:120]})") from None
        synth.network = net.to(resolve_device(device) if device else torch.device("cpu")).eval()
        return synth
