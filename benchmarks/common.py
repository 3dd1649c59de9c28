"""What every benchmark shares: where the repository and the benchmark tables are, the environment lines a
report prints, the command that re-runs a benchmark, and an atomic write of its files.

Naming: a script `bench_<name>.py` writes `RESULTS_<name>[_<variant>].md` here and, where it keeps one JSON
file per run, puts them in `results/<name>[_<variant>]/`.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"
VERSIONS = ("tabdiff", "torch", "numpy", "pandas", "scikit-learn")  # the distributions a report names

# Commands recorded in result JSON before benchmarks/ became a package: the scripts and paths renamed since.
RENAMED_SCRIPTS = {"run_benchmarks": "bench_peers", "seed_baseline": "blog_recipe"}
MOVED_PATHS = {"benchmarks/results": "benchmarks/results/peers",
               "benchmarks/results-quick": "benchmarks/results/peers_quick",
               "benchmarks/results_matched": "benchmarks/results/peers_matched",
               "benchmarks/results_tables": "benchmarks/results/tables",
               "benchmarks/RESULTS.md": "benchmarks/RESULTS_peers.md",
               "benchmarks/RESULTS-QUICK.md": "benchmarks/RESULTS_peers_quick.md",
               "benchmarks/RESULTS_matched.md": "benchmarks/RESULTS_peers_matched.md"}


# ------------------------------------------------------------------------------------------------ data


def default_data_dir() -> Path:
    """The benchmark tables: ../shared/data beside the repository ($TABDIFF_SHARED/data where that is set)."""
    shared = os.environ.get("TABDIFF_SHARED")
    return Path(shared) / "data" if shared else REPO.parent / "shared" / "data"


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """The `--data-dir` flag of every benchmark (args.data_dir, a Path)."""
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="folder of the benchmark tables (default: ../shared/data beside the repository)")


# ------------------------------------------------------------------------------------------------ environment


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram() -> str:
    """Total memory as 'N.N GiB' (/proc/meminfo), else 'unknown'."""
    try:
        kb = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                  if x.startswith("MemTotal"))
    except (OSError, StopIteration):
        return "unknown"
    return f"{kb / 2**20:.1f} GiB"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, 'n/a' where the system has none."""
    return ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def package_versions(packages: tuple[str, ...] = VERSIONS) -> dict[str, str]:
    """{distribution: installed version, or 'not installed'}."""
    out = {}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def environment(packages: tuple[str, ...] = VERSIONS) -> list[str]:
    """The environment lines of a report (markdown list items): the machine, its load averages now, Python
    and library versions, and the threads torch uses in this process."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)"
    versions = "; ".join(f"{k} {v}" for k, v in package_versions(packages).items())
    return [f"- Machine: {os.cpu_count()} logical CPUs, {cpu_model()}, {ram()} RAM, GPU {gpu}; "
            f"{platform.platform()}",
            f"- Load average (1, 5, 15 min): {load_average()} (a shared machine: compare seconds within one run "
            "only)",
            f"- Python {platform.python_version()}; {versions}; torch threads {torch.get_num_threads()} "
            f"(OMP_NUM_THREADS {os.environ.get('OMP_NUM_THREADS', 'unset')})"]


# ------------------------------------------------------------------------------------------------ commands


def command_line(script: str, argv: list[str] | None = None) -> str:
    """The command that re-runs a benchmark from the repository root: `python -m benchmarks.<name> <flags>`.
    script: the benchmark's __file__; argv: its flags (default sys.argv[1:])."""
    flags = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", f"benchmarks.{Path(script).stem}", *flags])


def current_command(command: str) -> str:
    """A command recorded before the benchmarks ran as modules (`python benchmarks/run_benchmarks.py …`,
    with the old file names) written as it runs now; any other command comes back unchanged."""
    old = re.fullmatch(r"python benchmarks/(\w+)\.py(.*)", command, flags=re.DOTALL)
    if old is None:
        return command
    name, flags = RENAMED_SCRIPTS.get(old[1], old[1]), old[2].split(" ")
    flags = [MOVED_PATHS.get(f.rstrip("/"), f) for f in flags]
    return f"python -m benchmarks.{name}" + " ".join(flags).rstrip()


# ------------------------------------------------------------------------------------------------ files


def write_report(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically (tabdiff_cli.table.io.atomic_write): a reader finds the
    old file or the new one, never a half-written one. Makes the folder if needed."""
    from tabdiff_cli.table.io import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
