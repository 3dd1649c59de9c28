"""CPU memory allocator settings for the sampling and training loops (glibc's malloc only).

Each reverse step allocates and frees the same few (rows, hidden) float32 activations, a few MiB each.
glibc returns such blocks to the operating system (through munmap, or by trimming the top of the heap), so
every network call page-faults its memory back in: sampling 100,000 Iris rows took 7.7-10 s with glibc's
defaults and 4.7-5.5 s with the mmap threshold fixed at 32 MiB and the trim threshold at 256 MiB (2-core
machine, four runs each, benchmarks/RESULTS_speed.md). Either setting alone did not help. jemalloc or
tcmalloc through LD_PRELOAD (the PyTorch CPU tuning guide's advice) have the same effect from outside.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

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
