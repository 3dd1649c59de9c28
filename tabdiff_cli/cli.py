"""The `tabdiff` command line (Typer): parse, call the library, report with rich. No logic of its own.

Bad input ends with a one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tabdiff_cli.errors import UserError

app = typer.Typer(
    name="tabdiff",
    help="Learn one table with a diffusion model, then generate, condition, impute and evaluate rows.\n\n"
    "Everyday use:\n\n"
    "  tabdiff fit iris.csv            # learn the table, writes model.ckpt\n\n"
    "  tabdiff sample --n 150          # 150 new rows to generated.csv\n\n"
    "  tabdiff plot iris.csv generated.csv   # pairplots side by side",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False)
err_console = Console(stderr=True)

DEFAULT_MODEL = "model.ckpt"
ModelOpt = Annotated[Path, typer.Option("--model", "--ckpt", "-m", help="Checkpoint file.")]
GuidanceOpt = Annotated[float | None, typer.Option(
    min=0.0, help="Guidance weight when conditioning: reconstruction guidance for an inpainting model (0: "
                  "RePaint replacement only), classifier-free guidance for a conditional one (fit "
                  "--conditional, configs/inverse.yaml, tables over 1,024 rows; 0: none). Default: the config's "
                  "sampling.guidance (3) for an inpainting model, 0 for a conditional one (fit prints which).")]
FitSeedOpt = Annotated[int | None, typer.Option(help="Random seed: the same seed, table, options and device "
                                                "give the same model (CPU is deterministic; on a GPU, training "
                                                "may differ in the last digits from run to run).")]
SeedOpt = Annotated[int | None, typer.Option(help="Random seed: the same seed and checkpoint on the same device "
                                             "give the same rows, whatever --batch-size (CPU is deterministic).")]
DrawSeedOpt = Annotated[int | None, typer.Option(help="Random seed: the same seed and checkpoint on the same "
                                                 "device give the same result (CPU is deterministic).")]
DeviceOpt = Annotated[str, typer.Option(help="auto | cpu | cuda.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error on stderr; return the Exit to raise."""
    from rich.markup import escape

    # escape: a message quoting user text like "[min, max]" or a column "[x]" must print as is
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func):
    """Turn UserError (and a few OS errors on user paths) into a one-line message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            raise fail(str(exc)) from None
        except PermissionError as exc:
            raise fail(f"permission denied: {exc.filename}") from None
        except IsADirectoryError as exc:
            raise fail(f"{exc.filename} is a folder") from None
        except OSError as exc:  # disk full, read-only file system, …: the user's environment, not a bug
            raise fail(f"{exc.filename or 'output'}: {exc.strerror or type(exc).__name__}") from None
        except Terminated:
            raise fail("terminated; nothing was written", code=143) from None
        except KeyboardInterrupt:
            raise fail("interrupted; nothing was written", code=130) from None

    return wrapper


def _check_counts(minimum: int = 1, **flags: float | None) -> None:
    """UserError for a numeric option below `minimum` (given by Python name: batch_size → --batch-size), so
    that 0 or a negative value is refused instead of silently replaced by the config's value."""
    for name, value in flags.items():
        if value is not None and not value >= minimum:
            raise UserError(f"--{name.replace('_', '-')} must be at least {minimum}, got {value}")


UNDERTRAINED_SHARE = 0.1  # a time-stopped fit below this share of its planned steps gets a warning


def _check_sampler(sampler: str | None) -> None:
    """UserError for an unknown --sampler before any work starts (the samplers run lazily, batch by batch,
    so the error used to arrive under a progress bar already drawn)."""
    from tabdiff_cli.diffusion.sampler import SAMPLERS

    if sampler is not None and sampler not in SAMPLERS:
        raise UserError(f"unknown --sampler '{sampler}'; known: {', '.join(SAMPLERS)}")


def _check_not_an_input(out: Path, option: str, *inputs: str | Path) -> None:
    """UserError when the output path `out` is one of the command's own input files (the checkpoint, the
    table): writing there would destroy what the user had (an `impute x.csv --out x.csv` replaced the
    table with holes, an `infer --out model.ckpt` the checkpoint)."""
    target = Path(out)
    for src in inputs:
        path = Path(src)
        if target.exists() and path.exists() and os.path.samefile(target, path):
            raise UserError(f"{option} {out} is the input file {src}; write to another path")


def _same_decimals(values: list[float | None], digits: int = 4) -> list[str]:
    """Numbers of one table row as text with one number of decimals, enough for `digits` significant
    digits of the largest (at most 6): 1.9 and 2 print as 1.900 and 2.000, not 1.9 and 2. None → ""."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    decimals = min(6, max(0, digits - 1 - math.floor(math.log10(max(finite))))) if finite else 0
    return ["" if v is None else f"{v:.{decimals}f}" for v in values]


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(s.strip() for s in v.split(",") if s.strip())
    return out


def _schema_table(schema) -> Table:
    table = Table(title="Schema", show_lines=False)
    for col in ("column", "kind", "missing %", "distinct", "range"):
        table.add_column(col, overflow="fold")
    for c in schema.columns:
        if c.minimum is not None and c.kind == "datetime":
            import pandas as pd

            lo, hi = (pd.Timestamp(c.minimum, unit="s"), pd.Timestamp(c.maximum, unit="s"))
            rng = f"{lo} … {hi}"
        elif c.minimum is not None:
            rng = f"{c.minimum:g} … {c.maximum:g}"
        elif c.kind == "constant":
            rng = f"= {c.value!r}"
        else:
            rng = ""
        table.add_row(c.name, c.kind, f"{100 * c.missing_rate:.1f}", str(c.n_distinct), rng)
    return table


def _preview(df, rows: int = 5, total: int | None = None, width: int | None = None) -> Table:
    """The first rows of df as a rich Table with as many whole columns as fit `width` characters (default:
    the console's), so that a wide table (Adult: 15 columns) is cut at a column, not folded into
    unreadable cells; the title says how many columns are shown."""
    width = console.width if width is None else width
    head = df.head(rows)
    cells = {col: ["" if v is None or v != v else str(v) for v in head[col].tolist()] for col in df.columns}
    shown, used = [], 1  # the table's left border
    for col in df.columns:
        # a header may wrap at its spaces, a cell may not; + padding and the right border
        need = max([*map(len, str(col).split()), *map(len, cells[col])]) + 3
        if shown and used + need > width:
            break
        shown.append(col)
        used += need
    title = f"first {len(head)} of {total if total is not None else len(df)} rows"
    if len(shown) < df.shape[1]:
        title += f", {len(shown)} of {df.shape[1]} columns (the file has all)"
    table = Table(title=title)
    for col in shown:
        table.add_column(str(col), overflow="fold")
    for i in range(len(head)):
        table.add_row(*[cells[col][i] for col in shown])
    return table


@app.command()
@handle_errors
def fit(
    command: typer.Context,
    data: Annotated[str, typer.Argument(metavar="DATA", help="CSV/TSV/Parquet file, or a built-in dataset: iris, wine, "
                                        "breast_cancer, diabetes, digits (also sklearn:iris).")],
    model: ModelOpt = Path(DEFAULT_MODEL),
    config: Annotated[Path | None, typer.Option(help="YAML config (default: configs/iris.yaml for the "
                                                "built-in iris, else the packaged default). Packaged: "
                                                "configs/default.yaml, configs/iris.yaml (the seed), "
                                                "configs/inverse.yaml (small tables: sharper conditional "
                                                "answers for ~10x the fit time).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Passes over the table.")] = None,
    steps: Annotated[int | None, typer.Option(help="Optimizer steps (overrides --epochs).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Rows per step (default: config).")] = None,
    max_time: Annotated[str | None, typer.Option(help="Training time budget, e.g. 90s, 5m, 1h.")] = None,
    device: DeviceOpt = "auto",
    seed: FitSeedOpt = None,
    categorical: Annotated[list[str] | None, typer.Option(help="Columns to model as categorical (COL,COL).")] = None,
    integer: Annotated[list[str] | None, typer.Option(help="Columns to model as integers.")] = None,
    continuous: Annotated[list[str] | None, typer.Option(help="Columns to model as continuous.")] = None,
    datetime: Annotated[list[str] | None, typer.Option(help="Columns to model as datetimes.")] = None,
    boolean: Annotated[list[str] | None, typer.Option(help="Columns to model as booleans.")] = None,
    id: Annotated[list[str] | None, typer.Option(help="Identifier columns: regenerated fresh, not learned.")] = None,
    drop: Annotated[list[str] | None, typer.Option(help="Columns to leave out of the model and the output.")] = None,
    na_values: Annotated[list[str] | None, typer.Option(help="Cell texts read as missing (default: '', NA, "
                                                        "N/A, NaN, nan, null, NULL, ?).")] = None,
    categorical_threshold: Annotated[int | None, typer.Option(
        help="Integer columns with at most this many distinct values are categorical (0: off).")] = None,
    conditional: Annotated[bool | None, typer.Option(
        "--conditional/--no-conditional",
        help="Also learn every conditional p(unknown | known) (masked conditioning, model.conditional): "
             "conditioning and imputation then feed the given cells to the network instead of inpainting "
             "them. Needs longer training (see README).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or tables.")] = False,
    nproc: Annotated[int, typer.Option(help="Train with N processes on this machine (PyTorch DDP via "
                                       "torchrun; CUDA: one GPU each); same batch and result as 1.")] = 1,
) -> None:
    """Learn a table and save a checkpoint.

    Examples:

      tabdiff fit iris                          # the seed's recipe on built-in Iris

      tabdiff fit adult.csv --max-time 5m --seed 0 --model adult.ckpt

      tabdiff fit loans.csv --categorical grade,term --drop customer_id

      tabdiff fit big.parquet --nproc 4        # 4 processes (GPUs), same as torchrun --nproc_per_node 4

      tabdiff fit survey.csv --conditional     # a model built for imputation and conditioning

      tabdiff fit iris --config configs/inverse.yaml   # small table, for infer / impute / --given
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from tabdiff_cli.config import builtin_config_path, load_config, with_overrides
    from tabdiff_cli.io import DEFAULT_NA_VALUES, check_writable, is_builtin, read_table
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    _check_counts(epochs=epochs, steps=steps, batch_size=batch_size)
    _check_counts(0, categorical_threshold=categorical_threshold)
    if lr is not None and not lr > 0:
        raise UserError(f"--lr must be positive, got {lr}")
    if config is None and is_builtin(data) and data.removeprefix("sklearn:") == "iris":
        config = builtin_config_path("iris")
    cfg = load_config(config)
    overrides = dict(cfg.data.columns)
    for kind, cols in (("categorical", categorical), ("integer", integer), ("continuous", continuous),
                       ("datetime", datetime), ("boolean", boolean)):
        for col in _split(cols):
            overrides[col] = kind
    cfg = with_overrides(
        cfg, training__epochs=epochs, training__steps=steps, training__lr=lr, training__batch_size=batch_size,
        training__max_time=parse_duration(max_time) if max_time else None, training__device=device,
        training__seed=seed, data__categorical_threshold=categorical_threshold,
        data__na_values=_split(na_values) or None, model__conditional=conditional,
    )
    cfg.data.columns = overrides
    cfg.data.ids = cfg.data.ids + _split(id)
    cfg.data.drop = cfg.data.drop + _split(drop)
    if model.suffix.lower() in (".csv", ".parquet", ".tsv"):
        raise UserError(f"--model {model} looks like a table, not a checkpoint path")
    from tabdiff_cli.distributed import (
        check_process_count,
        cleanup,
        init_from_env,
        launched_by_torchrun,
        torchrun_command,
    )

    if nproc < 1:
        raise UserError(f"--nproc must be at least 1, got {nproc}")
    if nproc > 1 and not launched_by_torchrun():
        import subprocess

        check_process_count(nproc, cfg.training.device)
        cmd = torchrun_command(nproc, ["fit", *_relaunch_args(command, exclude=("nproc",))])
        if not quiet:
            console.print(f"training with {nproc} processes: {' '.join(cmd[1:])}", highlight=False)
        raise typer.Exit(subprocess.run(cmd).returncode)
    ddp = init_from_env(cfg.training.device)  # None unless started by torchrun with WORLD_SIZE > 1
    main_rank = ddp is None or ddp.is_main
    quiet = quiet or not main_rank  # only rank 0 shows progress and tables
    df = read_table(data, na_values=cfg.data.na_values if na_values else DEFAULT_NA_VALUES)
    check_writable(model)  # before training, not after
    synth = DiffusionSynthesizer(cfg)
    t0 = time.perf_counter()
    if quiet:
        synth.fit(df, distributed=ddp)
    else:
        with Progress(TextColumn("[bold]fit[/]"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                      TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TextColumn("left"),
                      TimeRemainingColumn(), console=console, transient=False) as bar:
            task = bar.add_task("fit", total=None, loss="…")

            def progress(step: int, total: int, loss: float) -> None:
                bar.update(task, completed=step, total=total, loss=f"{loss:.4f}")

            def phase(text: str) -> None:
                bar.console.print(f"{text}…", highlight=False)  # sampling after the bar is full: say why it waits

            synth.fit(df, progress=progress, distributed=ddp, phase=phase)
    if main_rank:
        synth.save(model)
    cleanup(ddp)
    seconds = time.perf_counter() - t0
    if not quiet:
        console.print(_schema_table(synth.schema))
        for c in synth.schema.columns:
            if c.kind == "id":
                console.print(f"[yellow]note:[/] column '{c.name}' looks like an identifier; "
                              "fresh unique values are generated (use --drop to leave it out)")
            elif c.kind in ("constant", "empty"):
                console.print(f"[yellow]note:[/] column '{c.name}' is {c.kind}; reproduced as is, not learned")
            elif c.missing_rate >= 0.8:
                console.print(f"[yellow]note:[/] column '{c.name}' is {100 * c.missing_rate:.0f}% empty")
        if len(df) < 50:
            console.print(f"[yellow]warning:[/] only {len(df)} training rows: generated rows may copy them")
        m = synth.meta
        summary = Table(title="Trained", show_header=False)
        for k, v in (("rows", m["n_rows"]), ("columns", m["n_columns"]), ("encoded features", m["n_features"]),
                     ("epochs", f"{m['epochs']:g}"), ("steps", m["steps"]), ("final loss", f"{m['final_loss']:.5f}"),
                     ("conditioning", "conditional network (--given/impute read the given cells)"
                      if synth.config.model.conditional else "inpainting"),
                     ("spike levels", ", ".join(f"{c} ({len(v)})" for c, v in synth.encoder.spikes.items()) or "none"),
                     ("level calibration", f"{m['calibration']['rows']:,} rows, {m['calibration']['seconds']:.1f} s"
                      if m.get("calibration") else "off"),
                     ("seconds", f"{seconds:.1f}"), ("device", m["device"]), ("seed", m["seed"]),
                     ("checkpoint", str(model))):
            summary.add_row(k, str(v))
        console.print(summary)
        if m.get("stopped_by_time"):
            from tabdiff_cli.training import total_steps

            planned = total_steps(m["n_rows"], synth.config.training)[0]
            share = m["steps"] / max(planned, 1)
            if share < UNDERTRAINED_SHARE:
                # a budget on a busy machine can leave a handful of steps (18 of 2,600 in a 30 s Shoppers fit
                # beside a test run), and such a model generates nonsense without any other sign
                console.print(f"[yellow]warning:[/] the --max-time budget stopped training after {m['steps']} of "
                              f"{planned} planned steps ({100 * share:.0f}%); the model is likely undertrained: "
                              "give it more time, or train by steps on a less busy machine")
            else:
                console.print(f"[yellow]note:[/] stopped at the --max-time budget after {m['steps']} of {planned} "
                              "planned steps")


def _relaunch_args(ctx: typer.Context, exclude: tuple[str, ...] = ()) -> list[str]:
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


def parse_duration(text: str) -> float:
    """'90', '90s', '5m', '1.5h' → seconds. Errors: UserError for anything else."""
    t = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if t and t[-1] in units:
            value = float(t[:-1]) * units[t[-1]]
        else:
            value = float(t)
    except ValueError:
        raise UserError(f"--max-time '{text}' is not a duration (e.g. 90s, 5m, 1h)") from None
    if value <= 0:
        raise UserError(f"--max-time must be positive, got '{text}'")
    return value


@app.command()
@handle_errors
def sample(
    n: Annotated[int, typer.Option("--n", "-n", help="Rows to generate.")] = 1000,
    model: ModelOpt = Path(DEFAULT_MODEL),
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv, .tsv or .parquet).")] = Path(
        "generated.csv"),
    sampler: Annotated[str | None, typer.Option(help="ancestral | ddim | dpmpp2m (default: the config's).")] = None,
    steps: Annotated[int | None, typer.Option(help="Sampling steps (default: the config's).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Rows per network call; the rows do not depend on it.")] = None,
    given: Annotated[list[str] | None, typer.Option("--given", "--condition", "-g", help=(
        "Condition, repeatable: 'col=value', 'col in {a,b}', 'col>=40', '40<=col<60'."))] = None,
    resample: Annotated[int, typer.Option(help="RePaint re-noising rounds per step when conditioning "
                                          "(more: closer to the conditional, slower; unused by a "
                                          "conditional model, which reads the given cells).")] = 2,
    guidance: GuidanceOpt = None,
    allow_extrapolation: Annotated[bool, typer.Option("--allow-extrapolation", help="Allow conditions outside the "
                                                     "training range.")] = False,
    shard: Annotated[str | None, typer.Option(help="k/K: write only the k-th of K parts (0-based).")] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Generate rows from a checkpoint, streamed to a file in batches.

    Examples:

      tabdiff sample --n 150 --seed 0

      tabdiff sample --n 1000000 --out big.parquet --sampler ddim --steps 50

      tabdiff sample --n 500 --given "target=virginica" --given "petal length (cm)>=5"
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from tabdiff_cli.io import StreamingTableWriter, table_format
    from tabdiff_cli.synthesizer import DiffusionSynthesizer, new_seed

    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    _check_counts(steps=steps, batch_size=batch_size)
    _check_counts(0, resample=resample)
    _check_sampler(sampler)
    table_format(out)
    _check_not_an_input(out, "--out", model)
    synth = DiffusionSynthesizer.load(model)
    seed = new_seed() if seed is None else seed
    start, count = 0, n
    if shard:
        from tabdiff_cli.diffusion.sampler import shard_range
        from tabdiff_cli.io import shard_path

        start, count = shard_range(n, shard)
        out = shard_path(out, shard)
    dev = device  # "auto": CUDA when available, wherever the checkpoint was trained
    if given:
        from tabdiff_cli.conditioning import iter_conditioned

        conditions = synth.parse_conditions(given, allow_extrapolation=allow_extrapolation)
        stream = iter_conditioned(synth, n, conditions, seed, start_row=start, count=count, batch_size=batch_size,
                                  sampler=sampler, steps=steps, device=dev, resample=resample,
                                  guidance=guidance)
    else:
        stream = synth.iter_sample(count, seed=seed, batch_size=batch_size, sampler=sampler, steps=steps,
                                   device=dev, start_row=start)
    if count == 0:  # an empty shard: header only, so the parts still concatenate to the whole
        import numpy as np

        from tabdiff_cli.io import write_table

        write_table(synth.encoder.inverse_transform(np.zeros((0, synth.encoder.n_features))), out)
        console.print(f"shard {shard} of {n} rows is empty; wrote the header to {out}")
        return
    t0 = time.perf_counter()
    first = None
    with StreamingTableWriter(out, synth.na_markers, synth.integer_text) as writer:
        with Progress(TextColumn("[bold]sample[/]"), BarColumn(), TextColumn("{task.completed}/{task.total} rows"),
                      TextColumn("{task.fields[rate]} rows/s"), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=console, disable=quiet) as bar:
            task = bar.add_task("sample", total=count, rate="…")
            for part in stream:
                writer.write(part)
                if first is None:
                    first = part.head(5)
                rate = writer.rows / max(time.perf_counter() - t0, 1e-9)
                bar.update(task, completed=writer.rows, rate=f"{rate:,.0f}")
    seconds = time.perf_counter() - t0
    if not quiet:
        console.print(_preview(first, total=writer.rows))
        console.print(f"wrote {writer.rows} rows to {out} in {seconds:.1f}s (seed {seed})")


@app.command()
@handle_errors
def plot(
    real: Annotated[str, typer.Argument(metavar="REAL", help="Real table: file or built-in name (iris).")],
    generated: Annotated[str, typer.Argument(metavar="GENERATED", help="Generated table file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Figure file: .png, .svg or .pdf.")] = Path("pairplot.png"),
    hue: Annotated[str | None, typer.Option(help="Column that colours the points (default: the only "
                                            "categorical column, if exactly one).")] = None,
    kind: Annotated[str, typer.Option(help="pairplot | marginals | correlation | all.")] = "pairplot",
    seed: Annotated[int, typer.Option(help="Seed for subsampling large tables.")] = 0,
) -> None:
    """Draw the real and generated tables side by side.

    Examples:

      tabdiff plot iris generated.csv --out pairplot.png

      tabdiff plot adult.csv gen.csv --kind all --out adult.png
    """
    from tabdiff_cli.io import read_table
    from tabdiff_cli.plot import plot_tables

    paths = plot_tables(read_table(real), read_table(generated), out, kind=kind, hue=hue, seed=seed)
    for p in paths:
        console.print(f"wrote {p}")


@app.command()
@handle_errors
def evaluate(
    real: Annotated[str, typer.Argument(metavar="REAL", help="Real (training) table: file or built-in name.")],
    generated: Annotated[str, typer.Argument(metavar="GENERATED", help="Generated table file.")],
    test: Annotated[str | None, typer.Option(help="Held-out real rows (needed for TSTR and DCR).")] = None,
    target: Annotated[str | None, typer.Option(help="Target column for TSTR (train on GEN, test on TEST).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the full report as JSON.")] = None,
    categorical: Annotated[list[str] | None, typer.Option(help="Extra columns to score as categorical.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for cross-validation folds and subsampling.")] = 0,
    max_rows: Annotated[int, typer.Option(help="Rows per table used by the classifiers.")] = 20000,
) -> None:
    """Measure fidelity (shape, trend, C2ST, alpha-precision/beta-recall), utility (TSTR) and privacy (DCR).

    Examples:

      tabdiff evaluate iris generated.csv

      tabdiff evaluate adult.csv gen.csv --test adult_test.csv --target income --out report.json
    """
    import json

    from tabdiff_cli.evaluate import evaluate_tables, format_report
    from tabdiff_cli.io import atomic_write, read_table
    from tabdiff_cli.schema import infer_schema

    real_df, gen_df = read_table(real), read_table(generated)
    test_df = read_table(test) if test else None
    try:
        schema = infer_schema(real_df)
        discrete = [c.name for c in schema.columns if c.kind in ("categorical", "boolean")]
    except UserError:
        discrete = []
    discrete += [c for c in _split(categorical) if c not in discrete]
    report = evaluate_tables(real_df, gen_df, test=test_df, target=target, discrete_columns=discrete,
                             seed=seed, max_rows=max_rows)
    console.print(format_report(report))
    if out is not None:
        text = json.dumps(report, indent=2, allow_nan=False)
        atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
        console.print(f"wrote {out}")


@app.command()
@handle_errors
def impute(
    data: Annotated[str, typer.Argument(
        metavar="INPUT", help="Table with empty cells, same columns as the training table.")],
    model: ModelOpt = Path(DEFAULT_MODEL),
    out: Annotated[Path, typer.Option("--out", "-o", help="Completed table.")] = Path("imputed.csv"),
    draws: Annotated[int, typer.Option(help="Completions to draw (multiple imputation); >1 adds a `draw` "
                                       "column.")] = 1,
    sampler: Annotated[str | None, typer.Option(help="ancestral | ddim | dpmpp2m.")] = None,
    steps: Annotated[int | None, typer.Option(help="Sampling steps.")] = None,
    resample: Annotated[int, typer.Option(help="RePaint re-noising rounds per step (more: better imputations, "
                                          "slower; unused by a conditional model).")] = 2,
    guidance: GuidanceOpt = None,
    seed: DrawSeedOpt = None,
    device: DeviceOpt = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Fill every empty cell, conditioned on the row's observed cells (observed cells never change).

    Examples:

      tabdiff impute holes.csv --out filled.csv

      tabdiff impute holes.csv --draws 10 --out filled_draws.csv
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from tabdiff_cli.io import read_table, table_format, write_table
    from tabdiff_cli.synthesizer import DiffusionSynthesizer, new_seed

    _check_counts(draws=draws, steps=steps)
    _check_counts(0, resample=resample)
    _check_sampler(sampler)
    table_format(out)
    _check_not_an_input(out, "--out", model, data)  # a built-in name like "iris" is no file: skipped
    synth = DiffusionSynthesizer.load(model)
    df = read_table(data, na_values=synth.config.data.na_values)
    seed = new_seed() if seed is None else seed
    try:
        # transient: a value the encoder refuses surfaces during the first draw, and its one-line error
        # should not follow a half-drawn bar; the summary table below reports the finished work
        with Progress(TextColumn("[bold]impute[/]"), BarColumn(), TextColumn("{task.completed}/{task.total} draws"),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=quiet,
                      transient=True) as bar:
            task = bar.add_task("impute", total=draws)
            filled = synth.impute(df, draws=draws, seed=seed, sampler=sampler, steps=steps, resample=resample,
                                  guidance=guidance, device=device,
                                  progress=lambda done, total: bar.update(task, completed=done))
    except UserError as exc:  # the message names the column; the file is the user's other clue
        raise UserError(f"{data}: {exc}") from None
    write_table(filled, out, synth.na_markers, synth.integer_text)
    holes = df[synth.schema.names].isna()
    if not quiet and not holes.to_numpy().any():
        console.print(f"nothing to impute: {data} has no empty cells; wrote its rows unchanged to {out}",
                      highlight=False)
    elif not quiet:
        n_holes, n_rows = int(holes.to_numpy().sum()), int(holes.any(axis=1).sum())
        table = Table(title=f"imputed {n_holes} empty cell{'s' if n_holes > 1 else ''} in {n_rows} of "
                            f"{len(df)} row{'s' if len(df) > 1 else ''} "
                            f"({draws} draw{'s' if draws > 1 else ''}, seed {seed})")
        for col in ("column", "empty cells", "spread across draws"):
            table.add_column(col)
        for col in synth.schema.names:
            k = int(holes[col].sum())
            if not k:
                continue
            spread = "– (one draw; --draws K for a spread)"
            if draws > 1:
                cells = filled[col].to_numpy().reshape(draws, len(df))[:, holes[col].to_numpy()]
                try:
                    spread = f"mean std {_three_figures(float(cells.astype(float).std(axis=0).mean()))}"
                except (TypeError, ValueError):
                    agree = (cells == cells[0]).mean()
                    spread = f"{100 * agree:.0f}% agree with draw 0"
            table.add_row(col, str(k), spread)
        console.print(table)
        console.print(f"wrote {out}")
    if not quiet:
        _note_beyond_range(synth.schema, df)


def _note_beyond_range(schema, df) -> None:
    """Print a note naming the numeric columns whose observed cells lie outside the training range: impute
    keeps them, but the model has seen nothing like them (it reads them clipped)."""
    import pandas as pd

    parts = []
    for spec in schema.columns:
        if spec.kind not in ("continuous", "integer") or spec.minimum is None or spec.name not in df:
            continue
        v = pd.to_numeric(df[spec.name], errors="coerce")
        beyond = v[(v < spec.minimum) | (v > spec.maximum)]
        if len(beyond):
            parts.append(f"'{spec.name}' {len(beyond)} (e.g. {beyond.iloc[0]:g}; trained on "
                         f"{spec.minimum:g}–{spec.maximum:g})")
    if parts:
        console.print("[yellow]note:[/] observed cells outside the training range are kept as given, but the "
                      "model reads them as at most one range width past it: " + "; ".join(parts), highlight=False)


def _three_figures(v: float) -> str:
    """v to three significant figures without an exponent (0.0574, 0.214, 12.3, 1,235)."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{float(f'{v:.3g}'):g}"


@app.command()
@handle_errors
def infer(
    given: Annotated[list[str], typer.Option("--given", "--condition", "-g", help="What was observed, "
                                             "repeatable: 'col=value', 'col in {a,b}', '40<=col<60'.")],
    query: Annotated[list[str], typer.Option("--query", help="Column whose distribution to infer, repeatable.")],
    model: ModelOpt = Path(DEFAULT_MODEL),
    n: Annotated[int, typer.Option("--n", "-n", help="Conditional samples drawn.")] = 2000,
    plot_out: Annotated[Path | None, typer.Option("--plot", help="Figure: conditional vs unconditional "
                                                  "marginals of the queried columns.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the posterior summary as JSON.")] = None,
    sampler: Annotated[str | None, typer.Option(help="ancestral | ddim | dpmpp2m.")] = None,
    steps: Annotated[int | None, typer.Option(help="Sampling steps.")] = None,
    guidance: GuidanceOpt = None,
    allow_extrapolation: Annotated[bool, typer.Option("--allow-extrapolation",
                                                     help="Allow values outside the training range.")] = False,
    seed: DrawSeedOpt = None,
    device: DeviceOpt = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No tables (with --out or --plot).")] = False,
) -> None:
    """Inverse inference: given an observed outcome, the distribution of the inputs that could produce it.

    Examples:

      tabdiff infer --given "target=virginica" --query "petal length (cm)" --query "petal width (cm)"

      tabdiff infer --given "petal length (cm)=5.5" --query target --plot posterior.png
    """
    import json

    from tabdiff_cli.io import atomic_write
    from tabdiff_cli.synthesizer import DiffusionSynthesizer, new_seed

    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    _check_counts(steps=steps)
    _check_sampler(sampler)
    if out is not None and out.suffix.lower() != ".json":
        raise UserError(f"--out {out}: the posterior summary is JSON; use a .json file name")
    for path, option in ((out, "--out"), (plot_out, "--plot")):
        if path is not None:
            _check_not_an_input(path, option, model)
    if plot_out is not None:
        from tabdiff_cli.plot import check_out

        check_out(plot_out)  # before sampling, not after a minute of it (PlotError is a UserError)
    synth = DiffusionSynthesizer.load(model)
    seed = new_seed() if seed is None else seed
    kw = dict(sampler=sampler, steps=steps, device=device, guidance=guidance)
    result = synth.infer(synth.parse_conditions(given, allow_extrapolation), query, num_samples=n, seed=seed, **kw)
    samples = result.pop("samples")
    for col, post in result.items():
        table = Table(title=f"{col} | {' & '.join(given)}  ({n} samples, seed {seed})")
        if "probabilities" in post:
            table.add_column("value")
            table.add_column("probability", justify="right")
            for value, p in post["probabilities"].items():
                table.add_row(value, f"{p:.3f}")
        else:
            for name in ("mean", "std", "5%", "25%", "50%", "75%", "95%"):
                table.add_column(name, justify="right")
            q = post["quantiles"]
            table.add_row(*_same_decimals([post["mean"], post["std"],
                                           *(q.get(k) for k in ("0.05", "0.25", "0.5", "0.75", "0.95"))]))
        if not quiet:
            console.print(table)
    if out is not None:
        text = json.dumps(result, indent=2, allow_nan=False)
        atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
        if not quiet:
            console.print(f"wrote {out}")
    if plot_out is not None:
        from tabdiff_cli.plot import posterior_plot

        unconditional = synth.sample(n, seed=seed + 1, **kw)
        posterior_plot(samples, unconditional, query, plot_out, title=" & ".join(given))
        if not quiet:
            console.print(f"wrote {plot_out}")


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, timeout, a job scheduler) raised as an interrupt, so that the same clean-up runs as for
    Ctrl-C: a half-written output's temporary file is removed (a killed `sample` left one behind)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def main() -> None:
    """Console-script entry point."""
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    app()


if __name__ == "__main__":
    main()
    sys.exit(0)
