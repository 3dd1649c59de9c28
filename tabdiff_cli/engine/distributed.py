"""Multi-process training with PyTorch DistributedDataParallel (DDP), launched by torchrun.

`torchrun --nproc_per_node=N -m tabdiff_cli fit DATA …` (or `tabdiff fit DATA --nproc N`, which starts the
same through `torch.distributed.run` in a subprocess) runs N copies of `fit`. torchrun sets RANK,
LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; `init_from_env` joins the process group from them:
CUDA → backend nccl, one GPU per process (cuda:LOCAL_RANK); CPU → backend gloo.

How N processes reproduce the single-process run (training.train_denoiser):
- rank 0 fits the encoder; its JSON-safe `state_dict()` is broadcast and every rank (rank 0 included)
  rebuilds the encoder from it, so every rank encodes the table identically (each rank reads the file);
- the seed is rank 0's; every rank draws the SAME global batch order and noise from the same seeded
  generator, and keeps a contiguous slice of the global batch (`batch_slice`);
- DDP averages the gradients over ranks. With equal slices (global batch divisible by N) the mean of the
  per-rank mean losses is the global-batch mean, so the gradient is the single-process one up to float
  summation order. Uneven slices (sizes differ by one) are weighted by rows·N/global rows, which keeps the
  same identity exactly; a rank with no row (a batch smaller than N) trains on one row with weight 0;
- the weights stay identical on every rank (same init, DDP broadcast at start, same averaged gradient,
  same optimizer), so the EMA is identical too; only rank 0 reports progress and writes the checkpoint,
  whose format is the single-process one.
The global batch size is the config's, whatever N is.
"""

from __future__ import annotations

import datetime
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from tabdiff_cli.engine.runtime import resolve_device
from tabdiff_cli.errors import UserError

DEFAULT_TIMEOUT_S = 1800  # rank 0 may fit the encoder of a large table while the others wait


def env_world_size() -> int:
    """WORLD_SIZE set by torchrun (1 when not launched by it)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def launched_by_torchrun() -> bool:
    """True inside a process started by torchrun with more than one process in the job."""
    return env_world_size() > 1 and "RANK" in os.environ


@dataclass
class DistributedContext:
    """One process of a DDP job: its rank among world_size, its LOCAL_RANK on the node, its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str

    @property
    def is_main(self) -> bool:
        """Rank 0: fits the encoder, shows progress, writes the checkpoint."""
        return self.rank == 0

    # ------------------------------------------------------------------ collectives
    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank (picklable; between processes of this job only)."""
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self._object_device())
        return box[0]

    def _object_device(self) -> torch.device | None:
        return self.device if self.backend == "nccl" else None

    def barrier(self) -> None:
        if self.backend == "nccl":
            dist.barrier(device_ids=[self.device.index])
        else:
            dist.barrier()

    def run_on_main(self, fn: Callable[[], Any]) -> Any:
        """Rank 0 calls fn(); every rank (rank 0 too) gets its result (picklable; the encoder's JSON state,
        say). A UserError on rank 0 (no usable column, …) is raised on every rank instead of leaving them
        waiting."""
        payload: dict[str, Any] | None = None
        if self.is_main:
            try:
                payload = {"result": fn()}
            except UserError as exc:
                payload = {"error": str(exc)}
        payload = self.broadcast_object(payload)
        if "error" in payload:
            raise UserError(payload["error"])
        return payload["result"]

    def wrap(self, net: nn.Module) -> nn.Module:
        """The network wrapped in DistributedDataParallel (gradients averaged over ranks in backward)."""
        ids = [self.device.index] if self.device.type == "cuda" else None
        # no buffer sync at each forward: the only buffer is the constant time-embedding frequencies
        # (torch ≥ 2.13 renamed broadcast_buffers to forward_sync_buffers)
        params = inspect.signature(DistributedDataParallel.__init__).parameters
        name = "forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers"
        no_sync = {name: False}
        return DistributedDataParallel(net, device_ids=ids, output_device=ids[0] if ids else None, **no_sync)

    def batch_slice(self, positions: torch.Tensor) -> tuple[torch.Tensor, float]:
        """This rank's contiguous part of a global batch and its loss weight.

        Rank r keeps positions[r·B//N : (r+1)·B//N] (B = len(positions); sizes differ by at most one, all
        equal when N divides B) with weight rows·N/B, so the DDP mean over ranks of weight·(mean loss of
        the slice) is the mean loss over the global batch. An empty slice (B < N) keeps one row, weight 0.
        """
        b, n = positions.shape[0], self.world_size
        lo, hi = self.rank * b // n, (self.rank + 1) * b // n
        if hi == lo:
            return positions[:1], 0.0
        return positions[lo:hi], (hi - lo) * n / b

    def reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        """The element-wise sum of `values` (any shape, float64 keeps integer counts exact) over all
        ranks, on values' device; every rank gets the same tensor."""
        buf = values.detach().to(self.device if self.backend == "nccl" else "cpu").clone()
        dist.all_reduce(buf, op=dist.ReduceOp.SUM)
        return buf.to(values.device)

    def reduce_log(self, running: torch.Tensor, stop: bool) -> tuple[torch.Tensor, bool]:
        """(global loss sum, rank 0's stop decision) from this rank's weighted loss sum and stop wish.

        One all-reduce: the weighted per-rank losses sum to N × the global-batch loss; only rank 0's time
        budget counts, so every rank stops at the same step.
        """
        flag = torch.tensor(float(stop and self.is_main), dtype=torch.float64, device=running.device)
        buf = torch.stack([running.detach().reshape(()).to(torch.float64), flag])
        dist.all_reduce(buf, op=dist.ReduceOp.SUM)
        return (buf[0] / self.world_size).to(running.dtype), bool(buf[1].item() > 0)


def init_from_env(device: str | None = "auto", timeout_s: float | None = None) -> DistributedContext | None:
    """Join the process group described by torchrun's environment; None when WORLD_SIZE is 1 or unset.

    device: the configured device ('auto' | 'cpu' | 'cuda'); CUDA → nccl on cuda:LOCAL_RANK, CPU → gloo.
    Errors: UserError when a process has no GPU of its own (LOCAL_RANK ≥ the GPUs on the node) or the
    group cannot be joined.
    """
    world = env_world_size()
    if world <= 1:
        return None
    if not dist.is_available():
        raise UserError("this PyTorch build has no torch.distributed; run fit in a single process")
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if dev.type == "cuda":
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise UserError(f"process {rank} (LOCAL_RANK {local_rank}) has no GPU of its own: this node has "
                            f"{count}; start at most {count} processes per node (--nproc_per_node)")
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
        backend = "nccl"
    else:
        backend = "gloo"
    timeout = float(timeout_s or os.environ.get("TABDIFF_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))
    if not dist.is_initialized():
        kwargs: dict[str, Any] = {"backend": backend, "timeout": datetime.timedelta(seconds=timeout)}
        if backend == "nccl" and "device_id" in inspect.signature(dist.init_process_group).parameters:
            kwargs["device_id"] = dev  # bind this process to its GPU (torch ≥ 2.3)
        try:
            dist.init_process_group(**kwargs)
        except (RuntimeError, ValueError) as exc:
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise UserError(f"cannot join the torch.distributed group ({reason})") from None
    return DistributedContext(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank,
                              device=dev, backend=backend)


def cleanup(ctx: DistributedContext | None) -> None:
    """Leave the process group (after rank 0 has written the checkpoint): every rank waits at a barrier
    first, so that all of them tear the group down together: a rank that destroys its gloo group while rank 0
    is still saving aborts ("terminate called without an active exception")."""
    if ctx is not None and dist.is_available() and dist.is_initialized():
        ctx.barrier()
        dist.destroy_process_group()
