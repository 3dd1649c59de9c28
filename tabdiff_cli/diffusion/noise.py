"""Where every random draw of sampling comes from, so that a seed fixes the rows whatever the batching.

One torch.Generator per block of BLOCK_ROWS output rows, seeded from (seed, block index, stream); a batch
is a run of whole blocks. The rows generated for a seed therefore do not depend on the batch size, a sample
of n rows is the prefix of a larger one, and a shard of blocks reproduces its part of the whole sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from tabdiff_cli.config.auto import BLOCK_ROWS
from tabdiff_cli.errors import UserError

__all__ = ["BLOCK_ROWS", "BlockNoise", "block_seed", "block_shard", "fixed_shape_eps", "shard_range"]

# Streams of one seed: 0 the reverse process, 1 the decoder's draws (rare levels), 2 the final level draws,
# 3 the level calibration's own sample.
STREAM_REVERSE, STREAM_DECODE, STREAM_LEVELS, STREAM_CALIBRATION = 0, 1, 2, 3


def block_seed(seed: int, block: int, stream: int = 0) -> int:
    """A 63-bit seed for (seed, block, stream), well mixed (numpy SeedSequence)."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, block, stream]).generate_state(2, np.uint64)[0] >> 1)


class BlockNoise:
    """Standard normal (or uniform) draws for rows [first_block·BLOCK_ROWS, …) of a sample, block by block.

    n_rows: rows of this batch (all its blocks full except possibly the last); d: features; stream: an
    independent family of generators for the same blocks. Each call of `randn()` returns (n_rows, d) float32
    on `device`: each block draws a full (BLOCK_ROWS, d) from its own generator and keeps the rows it needs,
    so a sample of n rows is the prefix of a sample of more rows with the same seed.
    """

    def __init__(self, seed: int, first_block: int, n_rows: int, d: int, device: torch.device | str,
                 stream: int = STREAM_REVERSE):
        self.d, self.n_rows, self.device = d, n_rows, torch.device(device)
        n_blocks = math.ceil(n_rows / BLOCK_ROWS)
        self.generators = []
        for b in range(first_block, first_block + n_blocks):
            g = torch.Generator(device=self.device)
            g.manual_seed(block_seed(seed, b, stream))
            self.generators.append(g)

    def randn(self) -> torch.Tensor:
        """(n_rows, d) float32 standard normal draws, the next in each block's stream."""
        parts = [torch.randn(BLOCK_ROWS, self.d, generator=g, device=self.device) for g in self.generators]
        return torch.cat(parts, dim=0)[: self.n_rows]

    def rand(self) -> torch.Tensor:
        """(n_rows, d) float32 uniform draws in [0, 1), block by block like randn."""
        parts = [torch.rand(BLOCK_ROWS, self.d, generator=g, device=self.device) for g in self.generators]
        return torch.cat(parts, dim=0)[: self.n_rows]


def fixed_shape_eps(eps_fn: Callable[..., torch.Tensor], rows: int) -> Callable[..., torch.Tensor]:
    """eps_fn evaluated on chunks of exactly `rows` rows (the last one padded with copies of the first row,
    whose results are dropped), for batch-size-invariant results on CUDA.

    cuBLAS picks its matrix-product kernel by the number of rows, so one row's eps can differ in the last
    bits between a 1,000-row and a 50,000-row batch, and the reverse steps carry that into different decoded
    values. With every call the same shape, each row's result depends only on that row (every other operation
    in the network and the parameterizations is row-wise). x: (n, d), t: (1, 1) or (n, 1), known: (n, d) or
    None → (n, d), as eps_fn. On CPU the kernels do not depend on the row count and this is not needed.
    """
    def chunk(v: torch.Tensor, a: int, b: int) -> torch.Tensor:
        if b - a == rows:
            return v[a:b]
        return torch.cat([v[a:b], v[:1].expand(rows - (b - a), *v.shape[1:])], dim=0)

    def chunked(x: torch.Tensor, t: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
        n = x.shape[0]
        per_row_t = t.shape[0] == n and n > 1
        parts = []
        for a in range(0, n, rows):
            b = min(a + rows, n)
            ta = chunk(t, a, b) if per_row_t else t
            out = eps_fn(chunk(x, a, b), ta) if known is None else eps_fn(chunk(x, a, b), ta, chunk(known, a, b))
            parts.append(out[: b - a])
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)

    return chunked


def shard_range(num_rows: int, shard: str) -> tuple[int, int]:
    """(start_row, rows) of shard "k/K" of a num_rows sample: shard k takes whole blocks [k·B/K, (k+1)·B/K)
    of the B = ceil(num_rows/BLOCK_ROWS) blocks, so the K parts, concatenated in order, are exactly the
    unsharded sample; with fewer blocks than shards some shards are empty (rows = 0).
    Errors: UserError for a malformed shard."""
    try:
        k_text, n_text = shard.split("/")
        k, parts = int(k_text), int(n_text)
    except ValueError:
        raise UserError(f"--shard '{shard}' must look like k/K, e.g. 0/4") from None
    if parts < 1 or not 0 <= k < parts:
        raise UserError(f"--shard '{shard}': need 0 <= k < K")
    return block_shard(num_rows, k, parts)


def block_shard(num_rows: int, k: int, parts: int) -> tuple[int, int]:
    """(start_row, rows) of part k of `parts` (0 <= k < parts) of a num_rows sample, in whole noise blocks;
    see shard_range, which parses the user's "k/K" into this."""
    blocks = math.ceil(num_rows / BLOCK_ROWS)
    b0, b1 = k * blocks // parts, (k + 1) * blocks // parts
    start, end = b0 * BLOCK_ROWS, min(num_rows, b1 * BLOCK_ROWS)
    return start, max(0, end - start)
