"""A fitted model: what generating rows needs (encoder, resolved config, parameterization, network, noise
schedule) and how it generates them, batch by batch, deterministically; saved to and read from a checkpoint.

This is the one place where the table layer (the encoder) and the diffusion layer (network, sampler) meet
at sampling time: rows are encoded known cells in, decoded DataFrames out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from tabdiff_cli.config import auto
from tabdiff_cli.config.sections import Config, config_from_checkpoint
from tabdiff_cli.diffusion.calibration import calibration_shift, level_counts
from tabdiff_cli.diffusion.network import Denoiser
from tabdiff_cli.diffusion.noise import (
    BLOCK_ROWS,
    STREAM_CALIBRATION,
    STREAM_DECODE,
    STREAM_LEVELS,
    BlockNoise,
    block_seed,
    block_shard,
    fixed_shape_eps,
)
from tabdiff_cli.diffusion.parameterization import EpsilonPrediction, MixedPrediction, make_parameterization
from tabdiff_cli.diffusion.samplers import make_sampler
from tabdiff_cli.diffusion.sampling import known_cells, sample_loop
from tabdiff_cli.diffusion.schedule import SigmoidSchedule, make_schedule
from tabdiff_cli.engine.checkpoint import load_checkpoint, save_checkpoint
from tabdiff_cli.engine.runtime import configure_threads, resolve_device
from tabdiff_cli.errors import CheckpointError, UserError
from tabdiff_cli.table.encoder import TableEncoder
from tabdiff_cli.table.schema import Schema

if TYPE_CHECKING:
    from tabdiff_cli.engine.distributed import DistributedContext

MAX_GUIDANCE = 100.0  # far past any useful weight (3 over-disperses a sharp mixture); inf gave NaN cells
Decode = Callable[[np.ndarray, np.random.Generator, int], pd.DataFrame]  # (x0 rows, rng, first row) → rows


def build_network(config: Config, n_features: int) -> Denoiser:
    """The denoiser a resolved config describes, for an encoded width n_features."""
    m = config.model
    return Denoiser(n_features, m.hidden_dim, m.time_dim, m.n_blocks, conditional=m.conditional, dropout=m.dropout)


@dataclass
class FittedModel:
    """Everything sampling needs, and the record of the fit.

    config: the resolved recipe (no "auto"); encoder: the fitted TableEncoder; objective: the
    parameterization (eps or mixed) with its level bias; network: the denoiser sampled with (eval mode);
    schedule: the noise schedule; meta: what fit recorded (rows, steps, seconds, seed, …); na_markers and
    integer_text: how the input file wrote empty cells and whole numbers (table.io).
    """

    config: Config
    encoder: TableEncoder
    objective: EpsilonPrediction
    network: Denoiser
    schedule: SigmoidSchedule
    meta: dict[str, Any] = field(default_factory=dict)
    na_markers: dict[str, str] = field(default_factory=dict)
    integer_text: list[str] = field(default_factory=list)

    @property
    def schema(self) -> Schema:
        """The training table's column kinds."""
        return self.encoder.schema

    @property
    def levels_drawn(self) -> bool:
        """Whether the final step draws each one-hot block's level from its probabilities (mixed prediction)."""
        return isinstance(self.objective, MixedPrediction) and self.objective.n_blocks > 0

    def guidance_or_default(self, guidance: float | None) -> float:
        """The guidance weight to sample with: `guidance`, or config.auto.default_guidance when None.
        Errors: UserError for a weight outside [0, MAX_GUIDANCE]."""
        if guidance is None:
            return auto.default_guidance(self.config.model.conditional, self.config.sampling.guidance)
        if not 0.0 <= float(guidance) <= MAX_GUIDANCE:
            raise UserError(f"--guidance must be a number in [0, {MAX_GUIDANCE:g}], got {guidance}")
        return float(guidance)

    def iter_rows(
        self,
        num_rows: int,
        seed: int,
        batch_size: int | None = None,
        sampler: str | None = None,
        steps: int | None = None,
        device: str | None = None,
        known: tuple[np.ndarray, np.ndarray] | None = None,
        resample: int = 0,
        guidance: float | None = None,
        start_row: int = 0,
        forbid_missing: bool = False,
        decode: Decode | None = None,
        grid: str | None = None,
        draw_levels: bool | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield the rows [start_row, start_row + num_rows) of the sample of `seed`, batch by batch.

        batch_size is rounded up to whole blocks of BLOCK_ROWS rows; the rows do not depend on it.
        known: (values, mask) in encoded space, each (n_features,) or (num_rows, n_features): the given
        coordinates (inpainted, or fed clean to a conditional network). resample, guidance: RePaint rounds and
        guidance weight (diffusion/sampling.py; guidance None: config.auto.default_guidance). forbid_missing:
        never decode an empty cell (imputation). decode(x0, rng, first_row) replaces the encoder's decoder.
        grid, draw_levels: the time grid and the categorical step (None: the config's sampling.grid and
        sampling.draw_levels; diffusion/sampling.py, diffusion/samplers.py).
        start_row must be a multiple of BLOCK_ROWS (shards).
        Errors: UserError for num_rows < 1, an unknown sampler or a guidance weight out of range.
        """
        if num_rows < 1:
            raise UserError(f"--n must be at least 1, got {num_rows}")
        if start_row % BLOCK_ROWS:
            raise UserError(f"start_row must be a multiple of {BLOCK_ROWS}")
        weight = self.guidance_or_default(guidance)
        sc = self.config.sampling
        sampler = sampler or sc.sampler
        steps = int(steps or sc.steps)
        dev = resolve_device(device) if device else next(self.network.parameters()).device
        net = self.network.to(dev)
        net.eval()
        hidden = self.config.model.hidden_dim
        batch_size = batch_size or auto.sampling_batch_rows(sc.batch_size, hidden, dev.type)
        configure_threads(self.config.training.threads, min(num_rows, batch_size), hidden, dev)
        d = self.encoder.n_features
        batch_blocks = max(1, math.ceil(batch_size / BLOCK_ROWS))
        eps_fn = self._eps_fn(net, dev)
        draw = sc.draw_levels if draw_levels is None else draw_levels
        levels = self._levels_fn(forbid_missing) if draw and self.levels_drawn else None
        done = 0
        while done < num_rows:
            n = min(batch_blocks * BLOCK_ROWS, num_rows - done)
            row0 = start_row + done
            first_block = row0 // BLOCK_ROWS
            mask, values = self._known_batch(known, done, n)
            cells = known_cells(mask, values, self.schedule, clean=self.config.model.conditional,
                                resample=resample, guidance=weight)
            x = sample_loop(eps_fn, self.schedule, BlockNoise(seed, first_block, n, d, dev),
                            sampler=make_sampler(sampler, sc.eta, levels), steps=steps, known=cells,
                            grid=grid or sc.grid)
            x = self._draw_levels(x, seed, first_block, forbid_missing)
            rng = np.random.default_rng(block_seed(seed, first_block, stream=STREAM_DECODE))
            x_np = x.float().cpu().numpy()
            if decode is not None:
                yield decode(x_np, rng, row0)
            else:
                yield self.encoder.inverse_transform(x_np, rng=rng, row_offset=row0, forbid_missing=forbid_missing)
            done += n

    def _eps_fn(self, net: Denoiser, dev: torch.device) -> Callable[..., torch.Tensor]:
        """eps_fn(x, t[, known]) of the objective over the network; on CUDA called on fixed-shape chunks."""
        objective, schedule = self.objective, self.schedule

        def eps_fn(x_t: torch.Tensor, t: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
            return objective.eps(net, x_t, t, schedule, known)

        return fixed_shape_eps(eps_fn, auto.CUDA_EVAL_ROWS) if dev.type == "cuda" else eps_fn

    @staticmethod
    def _known_batch(known: tuple[np.ndarray, np.ndarray] | None, done: int,
                     n: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(mask, values) tensors (n, d) of rows [done, done + n) of `known`, or (None, None)."""
        if known is None:
            return None, None
        values, mask = known
        if values.ndim == 2:
            values, mask = values[done:done + n], mask[done:done + n]
        else:
            d = values.shape[0]
            values, mask = np.broadcast_to(values, (n, d)), np.broadcast_to(mask, (n, d))
        return (torch.as_tensor(np.ascontiguousarray(mask), dtype=torch.bool),
                torch.as_tensor(np.ascontiguousarray(values), dtype=torch.float32))

    def _levels_fn(self, forbid_missing: bool):
        """levels(x0_hat, noise): x0_hat with each one-hot block's level drawn from its probabilities, the
        uniforms from the step's noise (diffusion.samplers.Sampler.levels)."""
        objective, nb = self.objective, self.objective.n_blocks
        exclude = torch.as_tensor(self.encoder.missing_coordinates()) if forbid_missing else None
        return lambda x0, noise: objective.sample_levels(x0, noise.rand()[:, :nb], exclude)

    def _draw_levels(self, x: torch.Tensor, seed: int, first_block: int, forbid_missing: bool) -> torch.Tensor:
        """x with each one-hot block's level drawn from its final probabilities (mixed prediction)."""
        if not self.levels_drawn:
            return x
        u = BlockNoise(seed, first_block, x.shape[0], self.objective.n_blocks, x.device, stream=STREAM_LEVELS).rand()
        exclude = torch.as_tensor(self.encoder.missing_coordinates()) if forbid_missing else None
        return self.objective.sample_levels(x, u, exclude)

    # ------------------------------------------------------------------ level calibration
    def calibration_seconds(self, rows: int, device: torch.device) -> float:
        """Seconds the level calibration of `rows` rows will take: sampling steps × batches × the time of one
        network evaluation (timed now: the untrained network costs what the trained one will)."""
        sc = self.config.sampling
        batch = min(rows, auto.sampling_batch_rows(sc.batch_size, self.config.model.hidden_dim, device.type))
        x = torch.zeros(batch, self.encoder.n_features, device=device)
        t = torch.full((1, 1), 0.5, device=device)
        with torch.no_grad():
            self.objective.eps(self.network, x, t, self.schedule)  # warm-up
            t0 = time.perf_counter()
            self.objective.eps(self.network, x, t, self.schedule)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            per_call = time.perf_counter() - t0
        return per_call * int(sc.steps) * math.ceil(rows / batch)

    def calibrate_levels(self, x: torch.Tensor, rows: int, seed: int,
                         distributed: DistributedContext | None = None) -> dict[str, Any]:
        """Set the objective's level_bias so that `rows` generated rows have the level frequencies of the
        encoded training rows x: (n_rows, n_features) (diffusion/calibration.py). Returns what it did, for
        meta: rows, rows_this_process, seconds and the largest level-frequency gap before, in points.

        Under DDP rank k generates shard k/N of the rows (whole noise blocks, so the shards together are the
        single-process rows) and the level counts (whole numbers in float64, so exact) are summed over ranks:
        every rank sets the bias one process would, in 1/N of the time."""
        obj = self.objective
        k0 = obj.k0
        offset, scale = obj.offset[k0:].double().cpu(), obj.scale[k0:].double().cpu()
        # the mean of the affine one-hot map is the map of the mean: no (n_rows, width) float64 copy
        target = (x[:, k0:].mean(0, dtype=torch.float64).cpu() - offset) / scale
        t0 = time.perf_counter()
        start, count = (0, rows) if distributed is None else block_shard(rows, distributed.rank, distributed.world_size)
        counts = torch.zeros(len(target), dtype=torch.float64)
        if count:
            for z in self.iter_rows(count, seed=block_seed(seed, 0, stream=STREAM_CALIBRATION), start_row=start,
                                    decode=lambda z, rng, row0: torch.as_tensor(z)):
                counts += level_counts((z[:, k0:].double() - offset) / scale)
        if distributed is not None:
            counts = distributed.reduce_sum(counts)
        generated = counts / rows
        obj.level_bias = calibration_shift(target, generated, rows)
        gap = float((generated - target).abs().max()) * 100
        return {"rows": rows, "rows_this_process": count, "seconds": round(time.perf_counter() - t0, 3),
                "largest_gap_pts": round(gap, 3)}

    # ------------------------------------------------------------------ checkpoint
    def save(self, path: str | Path) -> Path:
        """Write the checkpoint (engine/checkpoint.py) atomically; returns its path."""
        tensors = {f"net.{k}": v for k, v in self.network.state_dict().items()}
        if isinstance(self.objective, MixedPrediction):
            tensors["objective.level_bias"] = self.objective.level_bias
        header = {"config": self.config.to_dict(), "encoder": self.encoder.state_dict(),
                  "na_markers": self.na_markers, "integer_text": self.integer_text, "meta": self.meta}
        return save_checkpoint(path, tensors, header)

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> FittedModel:
        """Read a checkpoint written by save() on any device; the weights go to `device` (default: CPU).
        Errors: CheckpointError for a missing, foreign, truncated or inconsistent file."""
        tensors, header = load_checkpoint(path)
        try:
            config = config_from_checkpoint(header["config"], source=str(path))
            encoder = TableEncoder.from_state(header["encoder"])
            net = build_network(config, encoder.n_features)
            net.load_state_dict({k.removeprefix("net."): v for k, v in tensors.items() if k.startswith("net.")})
            objective = make_parameterization(config.model.prediction, encoder.layout(), config.model.conditional)
            if "objective.level_bias" in tensors and isinstance(objective, MixedPrediction):
                bias = tensors["objective.level_bias"].float()
                if bias.shape != objective.level_bias.shape:
                    raise CheckpointError(f"{path}: level_bias has shape {tuple(bias.shape)}")
                objective.level_bias = bias
            model = cls(config, encoder, objective, net, make_schedule(**vars(config.schedule)),
                        meta=header.get("meta", {}), na_markers=header.get("na_markers", {}),
                        integer_text=list(header.get("integer_text", [])))
            # a header whose parts disagree (a schema that lost columns the encoder decodes) fails here, not
            # at the first sample
            encoder.inverse_transform(np.zeros((1, encoder.n_features)))
        except (KeyError, TypeError, RuntimeError, ValueError, IndexError, AttributeError, UserError) as exc:
            raise CheckpointError(f"{path}: inconsistent checkpoint ({str(exc).splitlines()[0][:120]})") from None
        model.network = net.to(resolve_device(device) if device else torch.device("cpu")).eval()
        return model
