"""Running on this machine: the torch device, CPU threads, the CPU allocator, fresh seeds.

The rules that choose (which device "auto" means for a table, how many threads) are in config/auto.py;
this module applies them to torch and the process.

CPU allocator (glibc's malloc only): each reverse step allocates and frees the same few (rows, hidden)
float32 activations, a few MiB each. glibc returns such blocks to the operating system (munmap, or trimming
the top of the heap), so every network call page-faults its memory back in. Fixing the mmap threshold at
32 MiB and the trim threshold at 256 MiB keeps them in the process (docs/performance.md); jemalloc or
tcmalloc through LD_PRELOAD have the same effect from outside.
"""


from __future__ import annotations

import ctypes
import ctypes.util
import functools
import secrets
import sys

import torch

from tabdiff_cli.config import auto
from tabdiff_cli.errors import UserError

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # bytes: blocks below this come from the heap and are reused
TRIM_THRESHOLD = 256 << 20  # bytes: free memory kept at the top of the heap before it is returned


@functools.cache
def retain_freed_memory() -> bool:
    """Keep freed activation buffers in the process (glibc mallopt, once per process). Returns whether
    the settings took effect: False off Linux or without glibc (musl, macOS), where nothing changes."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


DEFAULT_THREADS = torch.get_num_threads()  # at import: OMP_NUM_THREADS, else every core


def resolve_device(device: str | None) -> torch.device:
    """'auto' (or None) → CUDA when available, else CPU; 'cpu', 'cuda', 'cuda:1' as given.
    Errors: UserError for 'cuda' without a CUDA device, or an unknown device name."""
    device = device or auto.AUTO
    if device == auto.AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but no CUDA device is available (use --device cpu)")
    try:
        return torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device '{device}'; use auto, cpu or cuda") from None


def configure_threads(threads: int | None, batch: int, hidden: int, device: torch.device) -> int:
    """Set torch's CPU thread count for a run of `batch`-row network calls at width `hidden` (config.auto.
    cpu_threads; None there: torch's default at import, not the current setting, which an earlier small
    run of this process may have lowered) and return it; on CPU also keep freed activation memory in the
    process (retain_freed_memory). Nothing changes on other devices."""
    if device.type != "cpu":
        return torch.get_num_threads()
    retain_freed_memory()
    chosen = auto.cpu_threads(threads, batch, hidden)
    torch.set_num_threads(DEFAULT_THREADS if chosen is None else chosen)
    return torch.get_num_threads()


def new_seed() -> int:
    """A fresh random seed in [0, 2^31 − 1) (recorded so that the run can be repeated)."""
    return secrets.randbelow(2**31 - 1)
