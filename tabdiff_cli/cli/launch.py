"""Starting `fit` as N processes through torchrun (PyTorch DDP) from `tabdiff fit --nproc N`."""

from __future__ import annotations

import sys

import typer

from tabdiff_cli.errors import UserError


def relaunch_args(ctx: typer.Context, exclude: tuple[str, ...] = ()) -> list[str]:
    """The command's arguments and options with their parsed values (to run it again under torchrun)."""
    args: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if param.name in exclude or value is None:
            continue
        if param.param_type_name == "argument":
            args.append(str(value))
        elif getattr(param, "is_flag", False):
            if value:
                args.append(param.opts[0])
            elif param.secondary_opts:
                args.append(param.secondary_opts[0])
        else:
            for v in (value if param.multiple else [value]):
                args += [param.opts[0], str(v)]
    return args


def check_process_count(nproc: int, device: str | None) -> None:
    """Before launching `nproc` processes: on CUDA each needs a GPU of its own (NCCL refuses two ranks on one
    GPU). Errors: UserError naming the GPU count, so the user sees one line instead of every rank's failure."""
    from tabdiff_cli.engine.runtime import resolve_device

    if nproc > 1 and resolve_device(device).type == "cuda":
        import torch

        count = torch.cuda.device_count()
        if nproc > count:
            raise UserError(f"--nproc {nproc} needs {nproc} GPUs, one per process; this machine has {count} "
                            f"(use --nproc {count}, or --device cpu for CPU processes)")


def torchrun_command(nproc: int, args: list[str]) -> list[str]:
    """The command that runs `tabdiff <args>` as `nproc` processes on this machine through torchrun."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
            str(int(nproc)), "-m", "tabdiff_cli", *args]


def relaunch_as_processes(ctx: typer.Context, nproc: int, device: str | None, quiet: bool) -> None:
    """For `fit --nproc N` (N > 1) outside torchrun: run this `fit` as N processes through torchrun and exit
    with its exit code (typer.Exit). Returns at once for one process, or inside a torchrun job.
    Errors: UserError for N < 1, or as check_process_count."""
    from tabdiff_cli.engine.distributed import launched_by_torchrun

    if nproc < 1:
        raise UserError(f"--nproc must be at least 1, got {nproc}")
    if nproc == 1 or launched_by_torchrun():
        return
    check_process_count(nproc, device)
    cmd = torchrun_command(nproc, ["fit", *relaunch_args(ctx, exclude=("nproc",))])
    if not quiet:
        from tabdiff_cli.cli.app import console

        console.print(f"training with {nproc} processes: {' '.join(cmd[1:])}", highlight=False)
    import subprocess

    raise typer.Exit(subprocess.run(cmd).returncode)
