"""The commands: each parses its options, makes one library call and renders the result (cli/render.py).

Imports of the library happen inside the commands, so that `tabdiff --help` does not pay for torch.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Annotated

import typer

from tabdiff_cli.cli import render
from tabdiff_cli.cli.app import app, console, handle_errors
from tabdiff_cli.cli.options import (
    DEFAULT_MODEL,
    DeviceOpt,
    DrawSeedOpt,
    ExtrapolateOpt,
    FitSeedOpt,
    GivenOpt,
    GuidanceOpt,
    ModelOpt,
    QuietOpt,
    ResampleOpt,
    SamplerOpt,
    SeedOpt,
    StepsOpt,
    check_counts,
    check_not_an_input,
    check_sampler,
    parse_duration,
    split_list,
)
from tabdiff_cli.errors import ExtrapolationWarning, LargeFitWarning, UserError

DataArg = Annotated[str, typer.Argument(metavar="DATA", help="CSV/TSV/Parquet file, or a built-in dataset: iris, "
                                        "wine, breast_cancer, diabetes, digits (also sklearn:iris).")]
ConfigOpt = Annotated[Path | None, typer.Option(help="YAML config; keys it omits take the default recipe's values. "
                                                "Packaged: configs/default.yaml (the default), configs/iris.yaml "
                                                "(the blog recipe this project grew out of).")]
KindsOpt = Annotated[list[str] | None, typer.Option(help="Columns to model as this kind (COL,COL).")]
ColumnsOpt = Annotated[list[str] | None, typer.Option(help="Columns (COL,COL).")]
ConditionalOpt = Annotated[bool | None, typer.Option(
    "--conditional/--no-conditional",
    help="Also learn every conditional p(unknown | known) (masked conditioning, model.conditional): conditioning "
         "and imputation then feed the given cells to the network instead of inpainting them (default: the "
         "config's; auto: on; --no-conditional: an unconditional network that inpaints).")]
FitDeviceOpt = Annotated[str | None, typer.Option(help="auto | cpu | cuda (default: the config's training.device; "
                                                 "auto: CUDA when available, the CPU for tables up to 1,024 rows).")]
RealArg = Annotated[str, typer.Argument(metavar="REAL", help="Real (training) table: file or built-in name.")]
GeneratedArg = Annotated[str, typer.Argument(metavar="GENERATED", help="Generated table file.")]
ScoreCategoricalOpt = Annotated[list[str] | None, typer.Option(help="Extra columns to score as categorical.")]
ScoreSeedOpt = Annotated[int, typer.Option(help="Seed for cross-validation folds and subsampling.")]
MaxRowsOpt = Annotated[int, typer.Option(help="Rows per table used by the classifiers.")]
NaOpt = Annotated[list[str] | None, typer.Option(help="Cell texts read as missing (default: the config's "
                                                 "data.na_values: '', NA, N/A, NaN, nan, null, NULL, ?).")]


@app.command()
@handle_errors
def fit(
    command: typer.Context,
    data: DataArg,
    model: ModelOpt = Path(DEFAULT_MODEL),
    config: ConfigOpt = None,
    epochs: Annotated[int | None, typer.Option(help="Passes over the table (instead of the config's steps).")] = None,
    steps: Annotated[int | None, typer.Option(help="Optimizer steps (overrides --epochs).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Rows per step (default: the config's).")] = None,
    max_time: Annotated[str | None, typer.Option(help="Training time budget, e.g. 90s, 5m, 1h.")] = None,
    device: FitDeviceOpt = None,
    seed: FitSeedOpt = None,
    categorical: KindsOpt = None,
    integer: KindsOpt = None,
    continuous: KindsOpt = None,
    datetime: KindsOpt = None,
    boolean: KindsOpt = None,
    id: Annotated[list[str] | None, typer.Option(help="Identifier columns: regenerated fresh, not learned.")] = None,
    drop: Annotated[list[str] | None, typer.Option(help="Columns to leave out of the model and the output.")] = None,
    na_values: NaOpt = None,
    categorical_threshold: Annotated[int | None, typer.Option(
        help="Integer columns with at most this many distinct values are categorical (0: off).")] = None,
    conditional: ConditionalOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or tables.")] = False,
    nproc: Annotated[int, typer.Option(help="Train with N processes on this machine (PyTorch DDP via "
                                       "torchrun; CUDA: one GPU each); same batch and result as 1.")] = 1,
) -> None:
    """Learn a table and save a checkpoint.

    Examples:

      tabdiff fit my.csv                        # the default recipe

      tabdiff fit iris                          # built-in Iris, the default recipe

      tabdiff fit iris --config configs/iris.yaml   # the blog recipe this project grew out of

      tabdiff fit adult.csv --max-time 5m --seed 0 --model adult.ckpt

      tabdiff fit loans.csv --categorical grade,term --drop customer_id

      tabdiff fit big.parquet --nproc 4        # 4 processes (GPUs), same as torchrun --nproc_per_node 4
    """
    kinds = {"categorical": categorical, "integer": integer, "continuous": continuous, "datetime": datetime,
             "boolean": boolean}
    cfg = _fit_config(data, config, kinds, epochs=epochs, steps=steps, lr=lr, batch_size=batch_size,
                      max_time=max_time, device=device, seed=seed, ids=id, drop=drop, na_values=na_values,
                      categorical_threshold=categorical_threshold, conditional=conditional)
    if model.suffix.lower() in (".csv", ".parquet", ".tsv"):
        raise UserError(f"--model {model} looks like a table, not a checkpoint path")
    from tabdiff_cli.cli.launch import relaunch_as_processes

    relaunch_as_processes(command, nproc, cfg.training.device, quiet)  # returns only in the process that fits
    _run_fit(data, cfg, model, quiet)


def _fit_config(data: str, config: Path | None, kinds: dict[str, list[str] | None], ids, drop, na_values, epochs,
                steps, max_time, **flat):
    """The config of `fit`: precedence CLI flag > config file > the default recipe. Errors: UserError for a
    bad value."""
    from tabdiff_cli.config import load_config, with_overrides

    check_counts(epochs=epochs, steps=steps, batch_size=flat["batch_size"])
    check_counts(0, categorical_threshold=flat["categorical_threshold"])
    if flat["lr"] is not None and not flat["lr"] > 0:
        raise UserError(f"--lr must be positive, got {flat['lr']}")
    cfg = load_config(config)
    columns = dict(cfg.data.columns)
    for kind, cols in kinds.items():
        columns.update({col: kind for col in split_list(cols)})
    names = {"epochs": "training", "steps": "training", "lr": "training", "batch_size": "training",
             "device": "training", "seed": "training", "categorical_threshold": "data", "conditional": "model"}
    overrides = {f"{names[k]}__{k}": v for k, v in {**flat, "epochs": epochs, "steps": steps}.items()}
    cfg = with_overrides(cfg, **overrides, training__max_time=parse_duration(max_time) if max_time else None,
                         data__na_values=split_list(na_values) or None, data__columns=columns,
                         data__ids=cfg.data.ids + split_list(ids), data__drop=cfg.data.drop + split_list(drop))
    if epochs is not None and steps is None:  # --epochs replaces the config's own length
        cfg.training.steps = None
    return cfg


def _run_fit(data: str, cfg, model: Path, quiet: bool) -> None:
    """Read, fit (one process, or this rank of a DDP job), save on rank 0, and report."""
    from tabdiff_cli.engine.distributed import cleanup, init_from_env
    from tabdiff_cli.synthesizer import DiffusionSynthesizer
    from tabdiff_cli.table.io import check_writable, read_table

    ddp = init_from_env(cfg.training.device)  # None unless started by torchrun with WORLD_SIZE > 1
    main_rank = ddp is None or ddp.is_main
    quiet = quiet or not main_rank  # only rank 0 shows progress and tables
    df = read_table(data, na_values=cfg.data.na_values)
    check_writable(model)  # before training, not after
    synth = DiffusionSynthesizer(cfg)
    t0 = time.perf_counter()
    with render.fit_progress(quiet) as (progress, phase), warnings.catch_warnings():
        # a large fit is told before training starts, as a warning line, even with --quiet
        warnings.showwarning = lambda message, *args, **kwargs: render.notes([("warning", str(message))], stderr=True)
        warnings.simplefilter("always", LargeFitWarning)
        synth.fit(df, progress=progress, distributed=ddp, phase=phase)
    if main_rank:
        synth.save(model)
    cleanup(ddp)
    if not quiet:
        console.print(render.schema_table(synth.schema))
        render.notes(synth.notes())
        console.print(render.fit_summary(synth, time.perf_counter() - t0, model))
    elif main_rank:  # --quiet hides the tables, not what may have gone wrong
        render.notes([n for n in synth.notes() if n[0] == "warning"], stderr=True)


@app.command()
@handle_errors
def sample(
    n: Annotated[int, typer.Option("--n", "-n", help="Rows to generate.")] = 1000,
    model: ModelOpt = Path(DEFAULT_MODEL),
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv, .tsv or .parquet).")] = Path(
        "generated.csv"),
    sampler: SamplerOpt = None,
    steps: StepsOpt = None,
    batch_size: Annotated[int | None, typer.Option(help="Rows per network call; the rows do not depend on it.")] = None,
    given: GivenOpt = None,
    resample: ResampleOpt = None,
    guidance: GuidanceOpt = None,
    allow_extrapolation: ExtrapolateOpt = False,
    shard: Annotated[str | None, typer.Option(help="k/K: write only the k-th of K parts (0-based).")] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Generate rows from a checkpoint, streamed to a file in batches.

    Examples:

      tabdiff sample --n 150 --seed 0

      tabdiff sample --n 1000000 --out big.parquet --sampler ddim --steps 50

      tabdiff sample --n 500 --given "target=virginica" --given "petal length (cm)>=5"
    """
    from tabdiff_cli.engine.runtime import new_seed
    from tabdiff_cli.synthesizer import DiffusionSynthesizer
    from tabdiff_cli.table.io import shard_path, table_format

    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    check_counts(steps=steps, batch_size=batch_size)
    check_counts(0, resample=resample)
    check_sampler(sampler)
    table_format(out)
    check_not_an_input(out, "--out", model)
    synth = DiffusionSynthesizer.load(model)
    seed = new_seed() if seed is None else seed
    with warnings.catch_warnings():  # told below as the CLI's warning, not Python's
        warnings.simplefilter("ignore", ExtrapolationWarning)
        stream = synth.iter_sample(n, seed=seed, conditions=given, shard=shard,
                                   allow_extrapolation=allow_extrapolation, batch_size=batch_size, sampler=sampler,
                                   steps=steps, device=device,
                                   **({"resample": resample, "guidance": guidance} if given else {}))
    if synth.support_note:
        render.notes([("warning", synth.support_note)], stderr=True)
    label = f"shard {shard} of {n} rows" if shard else f"{n} rows"
    _write_stream(synth, stream, shard_path(out, shard) if shard else out, synth.count_rows(n, shard), label, seed,
                  quiet)


def _write_stream(synth, stream, out: Path, total: int, label: str, seed: int, quiet: bool) -> None:
    """Write the sampled batches to `out` (streamed, atomically) with a progress bar; an empty stream (an
    empty shard) writes the header only, so the parts still concatenate to the whole."""
    from tabdiff_cli.table.io import StreamingTableWriter

    t0 = time.perf_counter()
    first = None
    with StreamingTableWriter(out, synth.na_markers, synth.integer_text) as writer:
        with render.sample_progress(quiet, total) as update:
            for part in stream:
                writer.write(part)
                first = part.head(5) if first is None else first
                update(writer.rows, time.perf_counter() - t0)
        if first is None:
            writer.write(synth.empty_frame())
    if not quiet and first is None:
        console.print(f"{label} is empty; wrote the header to {out}", highlight=False)
    elif not quiet:
        console.print(render.preview(first, total=writer.rows))
        console.print(f"wrote {writer.rows} rows to {out} in {time.perf_counter() - t0:.1f}s (seed {seed})")


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
    from tabdiff_cli.evaluation.plots import plot_tables
    from tabdiff_cli.table.io import read_table

    for p in plot_tables(read_table(real), read_table(generated), out, kind=kind, hue=hue, seed=seed):
        console.print(f"wrote {p}")


@app.command()
@handle_errors
def evaluate(
    real: RealArg,
    generated: GeneratedArg,
    test: Annotated[str | None, typer.Option(help="Held-out real rows (needed for TSTR and DCR).")] = None,
    target: Annotated[str | None, typer.Option(help="Target column for TSTR (train on GEN, test on TEST).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the full report as JSON.")] = None,
    categorical: ScoreCategoricalOpt = None,
    seed: ScoreSeedOpt = 0,
    max_rows: MaxRowsOpt = 20000,
) -> None:
    """Measure fidelity (shape, trend, C2ST, alpha-precision/beta-recall), utility (TSTR) and privacy (DCR).

    Examples:

      tabdiff evaluate iris generated.csv

      tabdiff evaluate adult.csv gen.csv --test adult_test.csv --target income --out report.json
    """
    import json

    from tabdiff_cli.evaluation.metrics import discrete_columns, evaluate_tables
    from tabdiff_cli.table.io import atomic_write, read_table

    real_df, gen_df = read_table(real), read_table(generated)
    test_df = read_table(test) if test else None
    report = evaluate_tables(real_df, gen_df, test=test_df, target=target, seed=seed, max_rows=max_rows,
                             discrete_columns=discrete_columns(real_df, split_list(categorical)))
    console.print(render.evaluation_report(report))
    if out is not None:
        text = json.dumps(report, indent=2, allow_nan=False)
        atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
        console.print(f"wrote {out}")


@app.command()
@handle_errors
def report(
    real: RealArg,
    generated: GeneratedArg,
    test: Annotated[str | None, typer.Option(help="Held-out real rows (for TSTR and the DCR baselines).")] = None,
    model: Annotated[Path | None, typer.Option("--model", "--ckpt", "-m", help="Checkpoint that made GENERATED: "
                                               "adds its training curve.")] = None,
    target: Annotated[str | None, typer.Option(help="Target column for TSTR (needs --test).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML page to write.")] = Path("report.html"),
    categorical: ScoreCategoricalOpt = None,
    seed: ScoreSeedOpt = 0,
    max_rows: MaxRowsOpt = 20000,
) -> None:
    """Write a quality report: one self-contained HTML page (opens offline) with the scores of `evaluate`,
    per-column and pairwise figures, detection, privacy, TSTR (--target, --test) and the training curve (--model).

    Examples:

      tabdiff report iris generated.csv --model model.ckpt --out report.html

      tabdiff report adult.csv gen.csv --test adult_test.csv --target income --out adult.html
    """
    from tabdiff_cli._version import __version__
    from tabdiff_cli.evaluation.metrics import discrete_columns
    from tabdiff_cli.evaluation.report import build_report, check_report_out
    from tabdiff_cli.table.io import atomic_write, read_table

    check_report_out(out)
    check_not_an_input(out, "--out", real, generated, *(p for p in (test, model) if p is not None))
    training = _checkpoint_meta(model) if model is not None else None  # a bad checkpoint fails before the work
    real_df, gen_df = read_table(real), read_table(generated)
    test_df = read_table(test) if test else None
    sources = {"real": real, "synth": generated, "test": test, "model": str(model) if model else None,
               "generator": f"tabdiff {__version__}"}
    html, result = build_report(real_df, gen_df, test_df, target, training=training, sources=sources, seed=seed,
                                discrete_columns=discrete_columns(real_df, split_list(categorical)),
                                generated=time.strftime("%Y-%m-%d %H:%M"), max_rows=max_rows)
    atomic_write(out, lambda p: p.write_text(html, encoding="utf-8"))
    console.print(render.report_written(result, out), highlight=False)


def _checkpoint_meta(model: Path) -> dict:
    """What fit recorded in the checkpoint (loss_history, steps, …), as plain data for the report."""
    from tabdiff_cli.engine.checkpoint import load_checkpoint

    _, header = load_checkpoint(model)
    return dict(header.get("meta") or {})


@app.command()
@handle_errors
def impute(
    data: Annotated[str, typer.Argument(
        metavar="INPUT", help="Table with empty cells, same columns as the training table.")],
    model: ModelOpt = Path(DEFAULT_MODEL),
    out: Annotated[Path, typer.Option("--out", "-o", help="Completed table.")] = Path("imputed.csv"),
    draws: Annotated[int, typer.Option(help="Completions to draw (multiple imputation); >1 adds a `draw` "
                                       "column.")] = 1,
    sampler: SamplerOpt = None,
    steps: StepsOpt = None,
    resample: ResampleOpt = None,
    guidance: GuidanceOpt = None,
    seed: DrawSeedOpt = None,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Fill every empty cell, conditioned on the row's observed cells (observed cells never change).

    Examples:

      tabdiff impute holes.csv --out filled.csv

      tabdiff impute holes.csv --draws 10 --out filled_draws.csv
    """
    from tabdiff_cli.conditioning import beyond_range, impute_summary
    from tabdiff_cli.engine.runtime import new_seed
    from tabdiff_cli.synthesizer import DiffusionSynthesizer
    from tabdiff_cli.table.io import read_table, table_format, write_table

    check_counts(draws=draws, steps=steps)
    check_counts(0, resample=resample)
    check_sampler(sampler)
    table_format(out)
    check_not_an_input(out, "--out", model, data)  # a built-in name like "iris" is no file: skipped
    synth = DiffusionSynthesizer.load(model)
    df = read_table(data, na_values=synth.config.data.na_values)
    seed = new_seed() if seed is None else seed
    try:
        with render.draws_progress(quiet, draws) as progress:
            filled = synth.impute(df, draws=draws, seed=seed, sampler=sampler, steps=steps, resample=resample,
                                  guidance=guidance, device=device, progress=progress)
    except UserError as exc:  # the message names the column; the file is the user's other clue
        raise UserError(f"{data}: {exc}") from None
    write_table(filled, out, synth.na_markers, synth.integer_text)
    if quiet:
        return
    summary = impute_summary(synth.schema, df, filled, draws)
    if not summary["empty_cells"]:
        console.print(f"nothing to impute: {data} has no empty cells; wrote its rows unchanged to {out}",
                      highlight=False)
    else:
        console.print(render.impute_table(summary, draws, seed))
        console.print(f"wrote {out}")
    render.beyond_range_note(beyond_range(synth.schema, df))


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
    sampler: SamplerOpt = None,
    steps: StepsOpt = None,
    guidance: GuidanceOpt = None,
    allow_extrapolation: ExtrapolateOpt = False,
    seed: DrawSeedOpt = None,
    device: DeviceOpt = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No tables (with --out or --plot).")] = False,
) -> None:
    """Inverse inference: given an observed outcome, the distribution of the inputs that could produce it.

    Examples:

      tabdiff infer --given "target=virginica" --query "petal length (cm)" --query "petal width (cm)"

      tabdiff infer --given "petal length (cm)=5.5" --query target --plot posterior.png
    """
    from tabdiff_cli.engine.runtime import new_seed
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    check_counts(steps=steps)
    check_sampler(sampler)
    _check_infer_outputs(out, plot_out, model)
    synth = DiffusionSynthesizer.load(model)
    seed = new_seed() if seed is None else seed
    kw = dict(sampler=sampler, steps=steps, device=device, guidance=guidance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        result = synth.infer(given, query, num_samples=n, seed=seed, allow_extrapolation=allow_extrapolation, **kw)
    if synth.support_note:
        render.notes([("warning", synth.support_note)], stderr=True)
    samples = result.pop("samples")
    if not quiet:
        for col, post in result.items():
            console.print(render.posterior_table(col, post, f"{' & '.join(given)}  ({n} samples, seed {seed})"))
    _write_infer_outputs(synth, result, samples, out, plot_out, query, given, seed, quiet, kw)


def _check_infer_outputs(out: Path | None, plot_out: Path | None, model: Path) -> None:
    """Before sampling: --out is JSON, neither output is the checkpoint, the figure's format is known."""
    if out is not None and out.suffix.lower() != ".json":
        raise UserError(f"--out {out}: the posterior summary is JSON; use a .json file name")
    for path, option in ((out, "--out"), (plot_out, "--plot")):
        if path is not None:
            check_not_an_input(path, option, model)
    if plot_out is not None:
        from tabdiff_cli.evaluation.plots import check_out

        check_out(plot_out)  # before sampling, not after a minute of it (PlotError is a UserError)


def _write_infer_outputs(synth, result, samples, out, plot_out, query, given, seed, quiet, kw) -> None:
    """infer's JSON summary and its figure (the posterior beside the unconditional marginals)."""
    import json

    from tabdiff_cli.table.io import atomic_write

    if out is not None:
        text = json.dumps(result, indent=2, allow_nan=False)
        atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
        if not quiet:
            console.print(f"wrote {out}")
    if plot_out is not None:
        from tabdiff_cli.evaluation.plots import posterior_plot

        unconditional = synth.sample(len(samples), seed=seed + 1, **kw)
        posterior_plot(samples, unconditional, query, plot_out, title=" & ".join(given))
        if not quiet:
            console.print(f"wrote {plot_out}")


@app.command()
@handle_errors
def calibration(
    holdout: Annotated[str, typer.Argument(metavar="HOLDOUT", help="Held-out rows (not trained on), the training "
                                           "table's columns.")],
    model: ModelOpt = Path(DEFAULT_MODEL),
    column: Annotated[list[str] | None, typer.Option("--column", "-c", help="Column to hide in every row and "
                                                     "infer from the rest, repeatable (COL,COL).")] = None,
    cells: Annotated[float | None, typer.Option(help="Instead: hide this share of the cells at random.")] = None,
    draws: Annotated[int, typer.Option(help="Posterior draws per hidden cell.")] = 100,
    rows: Annotated[int, typer.Option(help="Held-out rows used at most (a seeded subsample).")] = 500,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the check as JSON.")] = None,
    plot_out: Annotated[Path | None, typer.Option("--plot", help="Figure: interval coverage and reliability.")] = None,
    sampler: SamplerOpt = None,
    steps: StepsOpt = None,
    seed: DrawSeedOpt = None,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Check that the model's credible intervals cover the truth as often as they claim, on held-out rows.

    Hides cells the model did not train on, draws them from the model given the rest of each row, and reports
    how often the central 50 % and 90 % intervals hold the true value (numeric columns) and how well the level
    probabilities are calibrated (categorical: accuracy, expected calibration error, credible sets).

    Examples:

      tabdiff calibration iris_test.csv --column target --plot calibration.png

      tabdiff calibration adult_test.csv -m adult.ckpt --cells 0.2 --out calibration.json
    """
    from tabdiff_cli.engine.runtime import new_seed
    from tabdiff_cli.synthesizer import DiffusionSynthesizer
    from tabdiff_cli.table.io import atomic_write, read_table

    check_counts(draws=draws, rows=rows, steps=steps)
    check_sampler(sampler)
    _check_infer_outputs(out, plot_out, model)
    synth = DiffusionSynthesizer.load(model)
    df = read_table(holdout, na_values=synth.config.data.na_values)
    seed = new_seed() if seed is None else seed
    with render.draws_progress(quiet, draws) as progress:
        result = synth.calibration(df, columns=split_list(column) or None, cell_share=cells, draws=draws, seed=seed,
                                   max_rows=rows, sampler=sampler, steps=steps, device=device, progress=progress)
    if not quiet:
        console.print(render.calibration_table(result, seed))
    if out is not None:
        import json

        text = json.dumps(result, indent=2, allow_nan=False)
        atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
    if plot_out is not None:
        from tabdiff_cli.evaluation.plots import calibration_plot

        calibration_plot(result, plot_out)
