"""The options the commands share, and the checks and parsing of option values (no library calls)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tabdiff_cli.config.sections import SAMPLER_NAMES
from tabdiff_cli.errors import UserError

DEFAULT_MODEL = "model.ckpt"
ModelOpt = Annotated[Path, typer.Option("--model", "--ckpt", "-m", help="Checkpoint file.")]
GuidanceOpt = Annotated[float | None, typer.Option(
    min=0.0, help="Guidance weight when conditioning: classifier-free guidance for a conditional model (the "
                  "default recipe's; 0: none), reconstruction guidance for an inpainting one (model.conditional "
                  "false, e.g. the blog recipe; 0: RePaint replacement only). Default: 0 for a conditional "
                  "model, the config's sampling.guidance (3) for an inpainting one (fit prints which).")]
FitSeedOpt = Annotated[int | None, typer.Option(help="Random seed: the same seed, table, options and device "
                                                "give the same model (CPU is deterministic; on a GPU, training "
                                                "may differ in the last digits from run to run).")]
SeedOpt = Annotated[int | None, typer.Option(help="Random seed: the same seed and checkpoint on the same device "
                                             "give the same rows, whatever --batch-size (CPU is deterministic).")]
DrawSeedOpt = Annotated[int | None, typer.Option(help="Random seed: the same seed and checkpoint on the same "
                                                 "device give the same result (CPU is deterministic).")]
DeviceOpt = Annotated[str, typer.Option(help="auto | cpu | cuda.")]
SamplerOpt = Annotated[str | None, typer.Option(help="ancestral | ddim | dpmpp2m (default: the config's).")]
StepsOpt = Annotated[int | None, typer.Option(help="Sampling steps (default: the config's).")]
ResampleOpt = Annotated[int | None, typer.Option(help="RePaint re-noising rounds per step when conditioning an "
                                                 "inpainting model (more: closer to the conditional, slower; "
                                                 "default: the config's sampling.resample, 2; unused by a "
                                                 "conditional model, which reads the given cells).")]
GivenOpt = Annotated[list[str] | None, typer.Option("--given", "--condition", "-g", help=(
    "Condition, repeatable: 'col=value', 'col in {a,b}', 'col>=40', '40<=col<60'."))]
ExtrapolateOpt = Annotated[bool, typer.Option("--allow-extrapolation",
                                              help="Allow values outside the training range.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]


def split_list(values: list[str] | None) -> list[str]:
    """Repeatable options that may also hold comma-separated items: ['a,b', 'c'] → ['a', 'b', 'c']."""
    out: list[str] = []
    for v in values or []:
        out.extend(s.strip() for s in v.split(",") if s.strip())
    return out


def check_counts(minimum: int = 1, **flags: float | None) -> None:
    """UserError for a numeric option below `minimum` (given by Python name: batch_size → --batch-size), so
    that 0 or a negative value is refused instead of silently replaced by the config's value."""
    for name, value in flags.items():
        if value is not None and not value >= minimum:
            raise UserError(f"--{name.replace('_', '-')} must be at least {minimum}, got {value}")


def check_sampler(sampler: str | None) -> None:
    """UserError for an unknown --sampler before any work starts."""
    if sampler is not None and sampler not in SAMPLER_NAMES:
        raise UserError(f"unknown --sampler '{sampler}'; known: {', '.join(SAMPLER_NAMES)}")


def check_not_an_input(out: Path, option: str, *inputs: str | Path) -> None:
    """UserError when the output path `out` is one of the command's own input files (the checkpoint, the
    table): writing there would destroy what the user had."""
    target = Path(out)
    for src in inputs:
        path = Path(src)
        if target.exists() and path.exists() and os.path.samefile(target, path):
            raise UserError(f"{option} {out} is the input file {src}; write to another path")


def parse_duration(text: str) -> float:
    """'90', '90s', '5m', '1.5h' → seconds. Errors: UserError for anything else."""
    t = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        value = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        raise UserError(f"--max-time '{text}' is not a duration (e.g. 90s, 5m, 1h)") from None
    if value <= 0:
        raise UserError(f"--max-time must be positive, got '{text}'")
    return value
