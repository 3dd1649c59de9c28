"""The encoded table as the diffusion model sees it: widths and blocks, no pandas and no torch.

`TableEncoder.layout()` builds it; `diffusion/` reads it and nothing else of the table layer, so the model
never depends on how a DataFrame was encoded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """Layout of an encoded matrix x: (n_rows, n_features).

    n_numeric: the leading coordinates, one per numeric column (epsilon-predicted);
    blocks: the one-hot blocks ((start, end), …) that tile [n_numeric, n_features): categorical levels, spike
        levels and missing indicators, each learned as one categorical variable;
    onehot_scale, onehot_offset: (n_features − n_numeric,) the affine map from a level probability p to the
        encoded value of its coordinate, x = p·scale + offset (±1 one-hot: scale 2, offset −1);
    units: (n_features,) the conditioning unit of each coordinate, numbered 0..U−1 (a numeric coordinate and
        its spike block are one unit; each other block is one), for masked conditioning.
    """

    n_features: int
    n_numeric: int
    blocks: tuple[tuple[int, int], ...]
    onehot_scale: tuple[float, ...]
    onehot_offset: tuple[float, ...]
    units: tuple[int, ...]

    @property
    def n_blocks(self) -> int:
        """Number of one-hot blocks."""
        return len(self.blocks)
