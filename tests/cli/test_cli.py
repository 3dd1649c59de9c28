"""The `tabdiff` command line end to end (issue #2): happy paths on built-in Iris, every user error as one
line on stderr with exit code 2 and no traceback, nothing half-written, determinism across batch sizes and
shards, checkpoints that round-trip."""

from __future__ import annotations

import filecmp
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from tabdiff_cli.cli import app
from tabdiff_cli.table.io import read_table
from tests.conftest import quick_config

IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)", "target"]


def tabdiff(*args) -> object:
    """Run the CLI in-process; returns typer's Result (exit_code, stdout, stderr, output, exception)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_ok(result) -> None:
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"


def assert_clear_error(result, *names, absent=()) -> str:
    """Exit 2, a one- or two-line message on stderr that contains every name, no traceback, no files."""
    assert result.exit_code == 2, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # no unexpected exception
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert message, "nothing on stderr"
    assert len(message.splitlines()) <= 2, message
    for name in names:
        assert str(name) in message, f"{name!r} not in {message!r}"
    for path in absent:
        assert not path.exists(), f"{path} was left behind"
    return message


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    """fit the built-in iris for 30 epochs, sample 150 rows with 20 steps, plot them."""
    d = tmp_path_factory.mktemp("iris")
    fit = tabdiff("fit", "iris", "--epochs", 30, "--seed", 0, "--model", d / "iris.ckpt")
    sample = tabdiff("sample", "--model", d / "iris.ckpt", "--n", 150, "--steps", 20, "--seed", 0,
                     "--out", d / "gen.csv")
    plot = tabdiff("plot", "iris", d / "gen.csv", "--out", d / "pair.png")
    return {"dir": d, "fit": fit, "sample": sample, "plot": plot, "ckpt": d / "iris.ckpt",
            "gen": d / "gen.csv"}


# ---------------------------------------------------------------- happy paths


def test_fit_sample_plot_write_their_files(iris_run):
    for step in ("fit", "sample", "plot"):
        assert_ok(iris_run[step])
    assert iris_run["ckpt"].stat().st_size > 10_000
    assert (iris_run["dir"] / "pair.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in iris_run["plot"].stdout and "pair.png" in iris_run["plot"].stdout
    fit_out = iris_run["fit"].stdout
    assert "Schema" in fit_out and "Trained" in fit_out and "30" in fit_out
    assert "conditional network" in fit_out  # the default recipe on the built-in Iris (no blog recipe there)


def test_sample_prints_a_preview_and_the_seed(iris_run):
    out = iris_run["sample"].stdout
    assert "first 5 of" in out and "target" in out
    gen = pd.read_csv(iris_run["gen"])
    preview_rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(preview_rows) == 5
    # the preview shows the file's first rows, cell by cell
    for line, (_, row) in zip(preview_rows, gen.head(5).iterrows(), strict=True):
        cells = [c.strip() for c in line.strip("│").split("│")]
        assert cells == [str(v) for v in row.tolist()]
    assert "wrote 150 rows" in out and "(seed 0)" in out


def test_generated_csv_has_iris_columns_and_species(iris_run, iris_df):
    gen = pd.read_csv(iris_run["gen"])
    assert list(gen.columns) == IRIS_COLUMNS
    assert len(gen) == 150
    assert set(gen["target"]) <= {"setosa", "versicolor", "virginica"}
    assert gen[IRIS_COLUMNS[:4]].notna().all().all()
    # decoded values keep iris's one decimal and stay in the training range
    values = gen[IRIS_COLUMNS[:4]].to_numpy()
    np.testing.assert_allclose(values, np.round(values, 1), atol=1e-9)
    for col in IRIS_COLUMNS[:4]:
        assert iris_df[col].min() <= gen[col].min() and gen[col].max() <= iris_df[col].max()


@pytest.mark.parametrize("command", ["fit", "sample", "plot", "evaluate", "report", "impute", "infer"])
def test_help_has_examples(command):
    result = tabdiff(command, "--help")
    assert result.exit_code == 0
    assert "Examples" in result.output
    assert "tabdiff " + command in result.output


@pytest.mark.parametrize("command, usage", [("fit", "DATA"), ("plot", "REAL} {GENERATED"),
                                            ("evaluate", "REAL} {GENERATED"), ("impute", "INPUT")])
def test_usage_names_arguments_in_capitals(command, usage):
    result = tabdiff(command, "--help")
    usage_line = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert usage in usage_line and "{data}" not in usage_line and "{real}" not in usage_line


def test_top_level_help():
    result = tabdiff("--help")
    assert result.exit_code == 0
    for command in ("fit", "sample", "plot", "evaluate", "report", "impute", "infer"):
        assert command in result.output


def test_evaluate_writes_json_report(iris_run, tmp_path):
    out = tmp_path / "r.json"
    result = tabdiff("evaluate", "iris", iris_run["gen"], "--out", out, "--max-rows", 300)
    assert_ok(result)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"shape", "trend", "c2st"} <= set(report)
    assert "wrote" in result.stdout


def test_report_writes_one_self_contained_page(iris_run, tmp_path):
    out = tmp_path / "r.html"
    result = tabdiff("report", "iris", iris_run["gen"], "--model", iris_run["ckpt"], "--out", out,
                     "--max-rows", 300)
    assert_ok(result)
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'id="training"' in html and 'id="detection"' in html
    assert not re.search(r'(?:src|href)="\s*(?:https?:)?//', html)
    assert f"wrote {out}" in result.stdout and "shape" in result.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left


def test_report_bad_input_is_one_line_and_writes_nothing(iris_run, tmp_path):
    out = tmp_path / "r.html"
    assert_clear_error(tabdiff("report", "iris", tmp_path / "nope.csv", "--out", out), "nope.csv", absent=[out])
    fewer = tmp_path / "fewer.csv"
    pd.read_csv(iris_run["gen"]).drop(columns="target").to_csv(fewer, index=False)
    assert_clear_error(tabdiff("report", "iris", fewer, "--out", out), "'target'", "GEN", absent=[out])
    assert_clear_error(tabdiff("report", "iris", iris_run["gen"], "--out", tmp_path), "folder")
    wrong = tmp_path / "r.txt"
    assert_clear_error(tabdiff("report", "iris", iris_run["gen"], "--out", wrong), "r.txt", ".html", absent=[wrong])
    assert_clear_error(tabdiff("report", "iris", iris_run["gen"], "--model", tmp_path / "no.ckpt", "--out", out),
                       "no.ckpt", absent=[out])
    assert_clear_error(tabdiff("report", "iris", iris_run["gen"], "--target", "target", "--out", out), "--test",
                       absent=[out])
    # an --out that is one of the inputs (a table saved with an .html name) is refused before anything is read
    same = tmp_path / "gen.html"
    same.write_bytes(iris_run["gen"].read_bytes())
    assert_clear_error(tabdiff("report", "iris", iris_run["gen"], "--test", same, "--out", same), "gen.html",
                       "input")
    assert same.read_bytes() == iris_run["gen"].read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fewer.csv", "gen.html"]


# ---------------------------------------------------------------- determinism


def test_batch_size_does_not_change_the_rows(iris_run, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    common = ["sample", "--model", iris_run["ckpt"], "--n", 3000, "--steps", 10, "--seed", 3, "-q"]
    assert_ok(tabdiff(*common, "--batch-size", 1000, "--out", a))
    assert_ok(tabdiff(*common, "--batch-size", 50000, "--out", b))
    assert len(pd.read_csv(a)) == 3000
    assert filecmp.cmp(a, b, shallow=False)


def test_shards_concatenate_to_the_whole(iris_run, tmp_path):
    whole = tmp_path / "gen.csv"
    common = ["sample", "--model", iris_run["ckpt"], "--n", 3000, "--steps", 10, "--seed", 3]
    assert_ok(tabdiff(*common, "--out", whole, "-q"))
    parts = []
    for k in (0, 1):
        result = tabdiff(*common, "--out", whole, "--shard", f"{k}/2")
        assert_ok(result)
        part = tmp_path / f"gen-part-{k:05d}-of-00002.csv"
        assert part.name in result.stdout.replace("\n", "")
        parts.append(part.read_text(encoding="utf-8").splitlines())
    header = parts[0][0]
    assert parts[1][0] == header
    assert 0 < len(parts[0]) - 1 < 3000 and len(parts[0]) + len(parts[1]) - 2 == 3000
    joined = [header] + parts[0][1:] + parts[1][1:]
    assert joined == whole.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_empty_shard_is_a_header_only_table(iris_run, tmp_path, suffix):
    """Issue 24: 1,000 rows are one noise block, so shard 0 of 2 is empty; it ended in a scikit-learn traceback
    ("Found array with 0 sample(s)") instead of the header-only part the README promises."""
    out = tmp_path / f"part{suffix}"
    result = tabdiff("sample", "--model", iris_run["ckpt"], "--n", 1000, "--seed", 5, "--shard", "0/2",
                     "--out", out)
    assert_ok(result)
    (written,) = tmp_path.iterdir()
    part = pd.read_csv(written) if suffix == ".csv" else pd.read_parquet(written)
    assert list(part.columns) == IRIS_COLUMNS and len(part) == 0
    assert "empty" in result.stdout
    # the zero-row paths of the API say what is wrong, in the user's terms
    from tabdiff_cli.errors import UserError
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    synth = DiffusionSynthesizer.load(iris_run["ckpt"])
    assert synth.empty_frame().dtypes.to_dict() == synth.sample(3, seed=0, steps=5).dtypes.to_dict()
    with pytest.raises(UserError, match="no rows"):
        synth.impute(pd.read_csv(iris_run["gen"]).iloc[:0])


def test_checkpoint_roundtrip_api(tmp_path, iris_df):
    from tabdiff_cli.engine.checkpoint import load_checkpoint
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    synth = DiffusionSynthesizer(quick_config(steps=40)).fit(iris_df, seed=1)
    path = synth.save(tmp_path / "m.ckpt")
    tensors, header = load_checkpoint(path)
    assert tensors and all(t.device.type == "cpu" for t in tensors.values())
    assert header["format"] == "tabdiff-checkpoint" and header["meta"]["seed"] == 1
    loaded = DiffusionSynthesizer.load(path, device="cpu")
    assert all(p.device.type == "cpu" for p in loaded.network.parameters())
    a = synth.sample(300, seed=5, steps=10, device="cpu")  # same seed, same device (fit may have used CUDA)
    b = loaded.sample(300, seed=5, steps=10)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == IRIS_COLUMNS
    c = loaded.sample(300, seed=6, steps=10)
    assert not a.equals(c)


def test_checkpoint_of_tensors_from_another_device_loads_on_cpu(tmp_path):
    """save_checkpoint stores contiguous CPU copies (what a CUDA-trained model's state dict becomes), and
    load_checkpoint gives CPU tensors with the same values."""
    from tabdiff_cli.engine.checkpoint import load_checkpoint, save_checkpoint

    w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    save_checkpoint(tmp_path / "x.ckpt", {"net.w": w.t()}, {"config": {}})  # non-contiguous is fine
    tensors, header = load_checkpoint(tmp_path / "x.ckpt")
    assert tensors["net.w"].device.type == "cpu"
    torch.testing.assert_close(tensors["net.w"], w.t())
    assert header["version"] == 1


# ---------------------------------------------------------------- user errors


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def _fit_error(tmp_path, data, *extra):
    model = tmp_path / "m.ckpt"
    result = tabdiff("fit", data, "--model", model, "--steps", 5, "-q", *extra)
    return result, model


def test_missing_file(tmp_path):
    result, model = _fit_error(tmp_path, tmp_path / "nosuch.csv")
    assert_clear_error(result, "nosuch.csv", "not found", absent=[model])


def test_empty_csv(tmp_path):
    result, model = _fit_error(tmp_path, _write(tmp_path / "empty.csv", ""))
    assert_clear_error(result, "empty.csv", "empty", absent=[model])


def test_header_only_csv(tmp_path):
    result, model = _fit_error(tmp_path, _write(tmp_path / "head.csv", "a,b,c\n"))
    assert_clear_error(result, "head.csv", "no data rows", absent=[model])


def test_unknown_builtin(tmp_path):
    result, model = _fit_error(tmp_path, "sklearn:irs")
    assert_clear_error(result, "irs", "iris", absent=[model])


def test_single_row_table(tmp_path):
    result, model = _fit_error(tmp_path, _write(tmp_path / "one.csv", "a,b\n1,2\n"))
    assert_clear_error(result, "1 row", absent=[model])


def test_duplicate_column_names(tmp_path):
    result, model = _fit_error(tmp_path, _write(tmp_path / "dup.csv", "a,b,a\n1,2,3\n4,5,6\n7,8,9\n"))
    assert_clear_error(result, "dup.csv", "duplicate", "a", absent=[model])


def test_inf_in_a_column(tmp_path):
    rows = "\n".join(f"{i},{'inf' if i == 3 else i * 1.5}" for i in range(10))
    result, model = _fit_error(tmp_path, _write(tmp_path / "inf.csv", "k,level\n" + rows + "\n"))
    assert_clear_error(result, "'level'", "infinite", absent=[model])


def test_numbers_mixed_with_free_text(tmp_path):
    rows = "\n".join(f"{i},{'unknown' if i == 4 else i * 2.5}" for i in range(20))
    result, model = _fit_error(tmp_path, _write(tmp_path / "mix.csv", "k,dose\n" + rows + "\n"))
    assert_clear_error(result, "'dose'", "unknown", absent=[model])


def test_integers_beyond_64_bits(tmp_path):
    rows = "\n".join(f"{12345678901234567890 + 7919 * i},{i % 4}.5" for i in range(60))
    result, model = _fit_error(tmp_path, _write(tmp_path / "cards.csv", "card,amount\n" + rows + "\n"))
    assert_clear_error(result, "'card'", "--drop card", absent=[model])


def test_row_longer_than_the_header(tmp_path):
    result, model = _fit_error(tmp_path, _write(tmp_path / "ragged.csv", "a,b\n1,2,3\n4,5\n6,7\n"))
    assert_clear_error(result, "ragged.csv", "line 2", absent=[model])


def test_unknown_categorical_column_lists_columns(tmp_path):
    data = _write(tmp_path / "t.csv", "alpha,beta\n1,x\n2,y\n3,x\n")
    result, model = _fit_error(tmp_path, data, "--categorical", "nosuch")
    assert_clear_error(result, "nosuch", "alpha", "beta", absent=[model])


@pytest.mark.parametrize("n", [0, -5])
def test_n_must_be_positive(iris_run, tmp_path, n):
    out = tmp_path / "gen.csv"
    result = tabdiff("sample", "--model", iris_run["ckpt"], "--n", n, "--out", out)
    assert_clear_error(result, "--n", str(n), absent=[out])


def test_table_suffix_as_model_path(tmp_path):
    result = tabdiff("fit", "iris", "--epochs", 2, "--model", tmp_path / "out.csv", "-q")
    assert_clear_error(result, "out.csv", "checkpoint", absent=[tmp_path / "out.csv"])


def test_checkpoint_given_as_data(iris_run, tmp_path):
    result, model = _fit_error(tmp_path, iris_run["ckpt"])
    assert_clear_error(result, "iris.ckpt", "not a text table", absent=[model])


@pytest.mark.parametrize("args, names", [
    (["--steps", 0], ["--steps", "0"]),
    (["--epochs", 0], ["--epochs", "0"]),
    (["--batch-size", -2], ["--batch-size", "-2"]),
    (["--lr", -1], ["--lr", "-1"]),
    (["--lr", 0], ["--lr"]),
    (["--max-time", "soon"], ["--max-time", "soon"]),
])
def test_fit_rejects_bad_numbers(tmp_path, args, names):
    model = tmp_path / "m.ckpt"
    result = tabdiff("fit", "iris", "--model", model, "-q", *args)
    assert_clear_error(result, *names, absent=[model])


@pytest.mark.parametrize("args, names", [
    (["--steps", 0], ["--steps", "0"]),
    (["--batch-size", -4], ["--batch-size", "-4"]),
    (["--resample", -1], ["--resample", "-1"]),
    (["--shard", "2/2"], ["--shard", "2/2"]),
    (["--sampler", "nosuch"], ["nosuch", "ddim"]),
    (["--given", "nosuch=1"], ["nosuch", "target"]),
])
def test_sample_rejects_bad_options(iris_run, tmp_path, args, names):
    out = tmp_path / "gen.csv"
    result = tabdiff("sample", "--model", iris_run["ckpt"], "--n", 20, "--out", out, *args)
    assert_clear_error(result, *names, absent=[out, tmp_path / "gen-part-00002-of-00002.csv"])
    assert list(tmp_path.iterdir()) == []


def test_missing_checkpoint(tmp_path):
    out = tmp_path / "gen.csv"
    result = tabdiff("sample", "--model", tmp_path / "nosuch.ckpt", "--out", out)
    assert_clear_error(result, "nosuch.ckpt", "not found", absent=[out])


def test_missing_default_checkpoint_points_to_one_nearby(iris_run, tmp_path, monkeypatch):
    """`make demo` writes outputs/iris.ckpt; `tabdiff sample` without --model looks for model.ckpt, and its
    error names the checkpoint the user has."""
    import shutil

    (tmp_path / "outputs").mkdir()
    shutil.copy(iris_run["ckpt"], tmp_path / "outputs" / "iris.ckpt")
    monkeypatch.chdir(tmp_path)
    result = tabdiff("sample", "--n", 5, "--out", "gen.csv")
    message = assert_clear_error(result, "model.ckpt", "outputs/iris.ckpt", absent=[tmp_path / "gen.csv"])
    assert "--model" in message
    assert_ok(tabdiff("sample", "--n", 5, "--out", "gen.csv", "--model", "outputs/iris.ckpt"))


@pytest.mark.parametrize("kind", ["random", "csv", "truncated", "empty"])
def test_not_a_checkpoint(iris_run, tmp_path, kind):
    bad = tmp_path / f"bad_{kind}.ckpt"
    if kind == "random":
        bad.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "csv":
        bad = _write(tmp_path / "table.csv", "a,b\n1,2\n3,4\n")
    elif kind == "truncated":
        raw = iris_run["ckpt"].read_bytes()
        bad.write_bytes(raw[: len(raw) // 2])
    else:
        bad.write_bytes(b"")
    out = tmp_path / "gen.csv"
    result = tabdiff("sample", "--model", bad, "--out", out, "--n", 10)
    assert_clear_error(result, bad.name, "checkpoint", absent=[out])


def test_unwritable_output_folder(iris_run, tmp_path):
    blocker = _write(tmp_path / "file.txt", "I am a file\n")
    out = blocker / "sub" / "gen.csv"
    result = tabdiff("sample", "--model", iris_run["ckpt"], "--n", 10, "--steps", 5, "--out", out)
    assert_clear_error(result, "file.txt", absent=[out])
    result = tabdiff("fit", "iris", "--epochs", 2, "--model", blocker / "m.ckpt", "-q")
    assert_clear_error(result, "file.txt")
    assert blocker.read_text(encoding="utf-8") == "I am a file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_output_that_is_a_folder(iris_run, tmp_path):
    folder = tmp_path / "out.csv"
    folder.mkdir()
    result = tabdiff("sample", "--model", iris_run["ckpt"], "--n", 10, "--steps", 5, "--out", folder)
    assert_clear_error(result, "out.csv", "folder")
    assert list(folder.iterdir()) == []


def test_failed_sample_keeps_existing_output(iris_run, tmp_path):
    out = _write(tmp_path / "gen.csv", "precious,content\n1,2\n")
    result = tabdiff("sample", "--model", iris_run["ckpt"], "--n", 10, "--steps", 5, "--out", out,
                     "--given", "target=daisy")
    assert_clear_error(result, "target", "daisy", "setosa")
    assert out.read_text(encoding="utf-8") == "precious,content\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen.csv"]


def test_unsupported_output_extension(iris_run, tmp_path):
    out = tmp_path / "gen.xlsx"
    result = tabdiff("sample", "--model", iris_run["ckpt"], "--n", 10, "--out", out)
    assert_clear_error(result, "gen.xlsx", ".csv", absent=[out])


def test_plot_and_evaluate_missing_generated_file(tmp_path):
    result = tabdiff("plot", "iris", tmp_path / "nope.csv", "--out", tmp_path / "p.png")
    assert_clear_error(result, "nope.csv", absent=[tmp_path / "p.png"])
    result = tabdiff("evaluate", "iris", tmp_path / "nope.csv", "--out", tmp_path / "r.json")
    assert_clear_error(result, "nope.csv", absent=[tmp_path / "r.json"])


# ---------------------------------------------------------------- inputs that must work


NAMES = ["José", "Zoë", "François", "Müller", "Ångström", "Søren"]


def _table_text(sep: str, n: int = 40) -> str:
    rng = np.random.default_rng(1)
    lines = [sep.join(["name", "value", "count"])]
    for _ in range(n):
        lines.append(sep.join([str(rng.choice(NAMES)), f"{rng.normal(10, 2):.2f}", str(rng.integers(0, 5))]))
    return "\n".join(lines) + "\n"


def _fit_and_sample(tmp_path, data) -> pd.DataFrame:
    model, out = tmp_path / "m.ckpt", tmp_path / "gen.csv"
    assert_ok(tabdiff("fit", data, "--model", model, "--steps", 20, "--seed", 0, "-q"))
    assert_ok(tabdiff("sample", "--model", model, "--n", 60, "--steps", 5, "--seed", 0, "--out", out, "-q"))
    text = out.read_text(encoding="utf-8")  # output is UTF-8 whatever the input encoding
    assert text.splitlines()[0] == "name,value,count"
    return pd.read_csv(out)


def test_latin1_file_works(tmp_path):
    data = _write(tmp_path / "latin.csv", _table_text(","), encoding="latin-1")
    with pytest.raises(UnicodeDecodeError):
        data.read_bytes().decode("utf-8")
    gen = _fit_and_sample(tmp_path, data)
    assert len(gen) == 60
    assert set(gen["name"]) <= set(NAMES)
    assert gen["value"].between(0, 20).all()


@pytest.mark.parametrize("sep, suffix", [(";", ".csv"), ("\t", ".tsv"), ("\t", ".txt"), ("|", ".csv")])
def test_other_delimiters_work(tmp_path, sep, suffix):
    data = _write(tmp_path / f"table{suffix}", _table_text(sep))
    gen = _fit_and_sample(tmp_path, data)
    assert list(gen.columns) == ["name", "value", "count"]
    assert set(gen["name"]) <= set(NAMES)
    assert gen["count"].isin(range(5)).all()


def test_integer_column_with_empty_cells_comes_back_as_written(tmp_path):
    """'57' with empty cells is read as float64 by pandas; the generated CSV must still say '57', not '57.0'
    (bug: Beijing PM2.5's pm2.5 column came back as 57.0), and reads back with the input's dtypes."""
    rng = np.random.default_rng(0)
    n = 120
    count = rng.integers(0, 300, n).astype(float)
    count[rng.random(n) < 0.2] = np.nan
    src = tmp_path / "t.csv"
    pd.DataFrame({"pm": count, "temp": np.round(rng.normal(10, 5, n), 1)}).to_csv(
        src, index=False, float_format="%.10g")
    assert ".0," not in src.read_text() and "\n," in src.read_text()
    assert_ok(tabdiff("fit", src, "--steps", 200, "--seed", 0, "--model", tmp_path / "m.ckpt"))
    assert_ok(tabdiff("sample", "--model", tmp_path / "m.ckpt", "--n", 200, "--steps", 10, "--seed", 0,
                      "--out", tmp_path / "gen.csv"))
    pm = [line.split(",")[0] for line in (tmp_path / "gen.csv").read_text().splitlines()[1:]]
    assert any(v == "" for v in pm) and all(v == "" or v.isdigit() for v in pm)
    back, real = read_table(tmp_path / "gen.csv"), read_table(src)
    assert dict(back.dtypes.astype(str)) == dict(real.dtypes.astype(str))


def test_impute_of_a_table_without_empty_cells_says_so(iris_run, tmp_path):
    """Helper report: a complete table printed an empty summary table; it now says there was nothing to do,
    and the output holds the input's rows unchanged."""
    src = tmp_path / "full.csv"
    read_table("iris").head(12).to_csv(src, index=False)
    out = tmp_path / "filled.csv"
    result = tabdiff("impute", src, "--model", iris_run["ckpt"], "--out", out, "--seed", 0, "--steps", 5)
    assert_ok(result)
    text = " ".join(result.output.split())  # rich wraps long lines
    assert "nothing to impute" in text and "has no empty cells" in text
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(src))


@pytest.mark.parametrize("command", ["sample", "impute", "infer"])
def test_unknown_sampler_is_refused_before_any_output(iris_run, tmp_path, command):
    """Bug: `sample --sampler foo` drew its progress bar, then failed at the first batch."""
    holes = _write(tmp_path / "holes.csv", "sepal length (cm),sepal width (cm),petal length (cm),"
                   "petal width (cm),target\n5.1,,1.4,0.2,setosa\n")
    args = {"sample": ["--n", 20, "--out", tmp_path / "gen.csv"],
            "impute": [holes, "--out", tmp_path / "gen.csv"],
            "infer": ["--given", "target=setosa", "--query", "petal length (cm)"]}[command]
    result = tabdiff(command, "--model", iris_run["ckpt"], "--sampler", "foo", *args)
    assert_clear_error(result, "--sampler", "foo", "ancestral", absent=[tmp_path / "gen.csv"])
    assert result.stdout.strip() == ""


def test_a_fit_cut_short_by_its_time_budget_warns_that_it_is_undertrained(tmp_path):
    """A 30 s Shoppers fit on a busy machine ran 18 of 2,600 steps and only said 'stopped at the budget'."""
    model = tmp_path / "m.ckpt"
    result = tabdiff("fit", "iris", "--config", "configs/default.yaml", "--max-time", "0.001", "--seed", 0,
                     "--model", model)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "stopped training after 1 of 800 planned steps (0%)" in text
    assert "undertrained" in text and model.exists()


def test_sample_preview_of_a_wide_table_keeps_the_columns_that_fit():
    import pandas as pd

    from tabdiff_cli.cli.render import preview as _preview

    wide = pd.DataFrame({f"column_{i:02d}": ["x" * 5, "y"] for i in range(30)})  # 12 characters a column
    table = _preview(wide, width=80)
    assert [c.header for c in table.columns] == [f"column_{i:02d}" for i in range(6)]  # 1 + 6·12 ≤ 80 < 1 + 7·12
    assert "6 of 30 columns" in str(table.title)
    narrow = _preview(wide.iloc[:, :3], width=80)
    assert len(narrow.columns) == 3 and "columns" not in str(narrow.title)
    assert len(_preview(wide, width=5).columns) == 1  # always at least one column


def test_fit_says_when_it_calibrates_levels_and_reports_it(tmp_path):
    cfg = quick_config(steps=30, calibration_rows=300)
    path = tmp_path / "c.yaml"
    path.write_text(__import__("yaml").safe_dump(cfg.to_dict()))
    model = tmp_path / "m.ckpt"
    result = tabdiff("fit", "iris", "--config", path, "--seed", 0, "--model", model)
    assert_ok(result)
    text = " ".join(result.output.split())
    assert "calibrating level frequencies on 300 generated rows" in text
    import re

    assert re.search(r"level calibration\W+300 rows, \d", text) and re.search(r"spike levels\W+none", text)
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    assert DiffusionSynthesizer.load(model).objective.level_bias.abs().sum() > 0


def test_outputs_never_replace_the_command_inputs(iris_run, tmp_path):
    """Helper report: `impute x.csv --out x.csv` replaced the table with holes, and `infer --out model.ckpt`
    wrote JSON over the checkpoint it had just read."""
    holes = _write(tmp_path / "holes.csv", "sepal length (cm),sepal width (cm),petal length (cm),"
                   "petal width (cm),target\n5.1,,1.4,0.2,setosa\n")
    before = holes.read_bytes()
    result = tabdiff("impute", holes, "--model", iris_run["ckpt"], "--out", holes, "--steps", 5)
    assert_clear_error(result, "--out", "holes.csv", "input file")
    assert holes.read_bytes() == before
    ckpt = tmp_path / "m.ckpt"
    ckpt.write_bytes(iris_run["ckpt"].read_bytes())
    for out in (ckpt, tmp_path / "posterior.csv"):
        result = tabdiff("infer", "--model", ckpt, "--given", "target=setosa", "--query", "petal length (cm)",
                         "--n", 20, "--steps", 5, "--out", out)
        assert_clear_error(result, "--out", ".json", absent=[tmp_path / "posterior.csv"])
    assert ckpt.read_bytes() == iris_run["ckpt"].read_bytes()
    result = tabdiff("sample", "--model", ckpt, "--n", 5, "--out", ckpt.with_suffix(".csv"), "--steps", 5, "-q")
    assert_ok(result)  # another file is fine


def test_impute_refuses_text_in_a_numeric_cell(iris_run, tmp_path):
    """Helper report: 'abc' in a numeric column was read as empty and imputed, so an observed cell changed."""
    holes = _write(tmp_path / "text.csv", "sepal length (cm),sepal width (cm),petal length (cm),"
                   "petal width (cm),target\n5.1,abc,1.4,,setosa\n")
    result = tabdiff("impute", holes, "--model", iris_run["ckpt"], "--out", tmp_path / "o.csv", "--steps", 5)
    assert_clear_error(result, "text.csv:", "sepal width (cm)", "'abc'", "not a number", absent=[tmp_path / "o.csv"])


def test_impute_summary_counts_the_rows_with_holes_and_an_unseen_level_suggests_its_case(iris_run, tmp_path):
    """Helper report: the summary said 'in 6 rows' for 6 input rows of which 5 had holes; its spreads read
    0.196, 0.2135, 0.05742; a miscased 'Setosa' got no hint in impute (infer gave one) and its error
    followed a half-drawn progress bar."""
    import re

    header = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm),target\n"
    holes = _write(tmp_path / "holes.csv", header + "5.1,,1.4,,setosa\n6.3,2.9,,1.8,virginica\n"
                   "5.0,3.4,1.5,0.2,setosa\n")
    result = tabdiff("impute", holes, "--model", iris_run["ckpt"], "--out", tmp_path / "o.csv", "--steps", 5,
                     "--draws", 3, "--seed", 0)
    assert_ok(result)
    text = " ".join(result.output.split())
    assert "imputed 3 empty cells in 2 of 3 rows" in text
    spreads = re.findall(r"mean std ([0-9.,]+)", text)
    assert len(spreads) == 3  # the three columns with a hole
    assert all(len(v.replace(".", "").replace(",", "").lstrip("0")) <= 3 for v in spreads), spreads

    miscased = _write(tmp_path / "case.csv", header + "5.1,,1.4,0.2,Setosa\n")
    result = tabdiff("impute", miscased, "--model", iris_run["ckpt"], "--out", tmp_path / "c.csv", "--steps", 5)
    assert_clear_error(result, "case.csv:", "'target'", "'Setosa'", "did you mean 'setosa'",
                       absent=[tmp_path / "c.csv"])
    assert "draws" not in result.output


def test_impute_refuses_infinity_and_notes_observed_cells_beyond_the_training_range(iris_run, tmp_path):
    """Helper report: an observed inf was accepted silently (infer refuses it), and an observed 500 cm
    sepal, far past the trained 4.3-7.9, went by without a word; a trailing space in a level got no hint."""
    header = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm),target\n"
    inf = _write(tmp_path / "inf.csv", header + "inf,3.5,,0.2,setosa\n")
    result = tabdiff("impute", inf, "--model", iris_run["ckpt"], "--out", tmp_path / "o.csv", "--steps", 5)
    assert_clear_error(result, "inf.csv:", "'sepal length (cm)'", "'inf'", "not a finite number",
                       absent=[tmp_path / "o.csv"])
    big = _write(tmp_path / "big.csv", header + "500,3.5,,0.2,setosa\n")
    result = tabdiff("impute", big, "--model", iris_run["ckpt"], "--out", tmp_path / "b.csv", "--steps", 5,
                     "--seed", 0)
    assert_ok(result)
    text = " ".join(result.output.split())
    assert "imputed 1 empty cell in 1 of 1 row (1 draw" in text
    assert "outside the training range" in text and "'sepal length (cm)' 1 (e.g. 500; trained on 4.3–7.9)" in text
    assert pd.read_csv(tmp_path / "b.csv")["sepal length (cm)"].tolist() == [500.0]  # kept as given
    spaced = _write(tmp_path / "ws.csv", header + "5.1,3.5,,0.2,setosa \n")
    result = tabdiff("impute", spaced, "--model", iris_run["ckpt"], "--out", tmp_path / "w.csv", "--steps", 5)
    assert_clear_error(result, "'setosa '", "did you mean 'setosa'")


def test_numbers_far_beyond_the_training_range_condition_a_standardized_model(tmp_path, iris_df):
    """Helper report: with standardized numbers (data.numeric_transform standard), an observed 1e300 or inf
    in impute and a given 1e40 with --allow-extrapolation overflowed the scaler (a traceback); the network now sees them
    clipped, and the output keeps the cells as given. (An observed inf is now refused, as infer refuses it.)"""
    from tabdiff_cli.config import load_config
    from tabdiff_cli.errors import UserError
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    cfg = load_config(None)
    cfg.data.numeric_transform = "standard"
    cfg.training.steps, cfg.sampling.steps = 20, 5
    synth = DiffusionSynthesizer(cfg).fit(iris_df, seed=0)
    holes = iris_df.head(3).copy()
    holes.loc[0, "petal length (cm)"], holes.loc[1, "petal length (cm)"] = 1e300, -1e300
    holes.loc[:, "petal width (cm)"] = np.nan
    filled = synth.impute(holes, seed=0)
    assert filled["petal length (cm)"].tolist()[:2] == [1e300, -1e300]
    assert filled["petal width (cm)"].notna().all() and np.isfinite(filled["petal width (cm)"]).all()
    rows = synth.sample(4, seed=0, conditions=synth.parse_conditions(["petal length (cm)=1e40"],
                                                                     allow_extrapolation=True))
    assert (rows["petal length (cm)"] == 1e40).all() and rows["target"].notna().all()
    holes.loc[1, "petal length (cm)"] = np.inf
    with pytest.raises(UserError, match=r"'petal length \(cm\)': 'inf' \(row 2\) is not a finite number"):
        synth.impute(holes, seed=0)


def test_a_terminated_sample_leaves_no_partial_file(iris_run, tmp_path):
    """Helper report: `timeout 8 tabdiff sample --n 100000000` (SIGTERM) left its temporary .csv behind;
    Ctrl-C already cleaned up. SIGTERM now takes the same path: exit 143, nothing left in the folder."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "big.csv"
    proc = subprocess.Popen([sys.executable, "-m", "tabdiff_cli", "sample", "--model", str(iris_run["ckpt"]),
                             "--n", "100000000", "--steps", "5", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.iterdir()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)  # until the streaming writer has created its temporary file
    assert proc.poll() is None, proc.communicate()
    assert list(tmp_path.iterdir()), "no temporary file appeared"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated; nothing was written" in err
    assert list(tmp_path.iterdir()) == []


def test_infer_checks_its_plot_path_first_and_quiet_prints_nothing(iris_run, tmp_path):
    """Helper report: a bad --plot extension failed only after all the sampling; infer had no --quiet."""
    base = ["infer", "--model", iris_run["ckpt"], "--given", "target=setosa", "--query", "petal length (cm)",
            "--n", 20, "--steps", 5, "--seed", 0]
    result = tabdiff(*base, "--plot", tmp_path / "post.txt")
    assert_clear_error(result, "post.txt", ".png")
    assert result.stdout.strip() == ""  # refused before any table was printed
    result = tabdiff(*base, "--out", tmp_path / "post.json", "-q")
    assert_ok(result)
    assert result.output.strip() == ""
    assert json.loads((tmp_path / "post.json").read_text())["petal length (cm)"]["kind"] == "continuous"


def test_impute_reports_progress_per_draw(iris_synth, iris_df, monkeypatch):
    """Helper report: `impute --draws 100000000` showed nothing at all; the CLI now draws a bar from this,
    one update per sampling pass (draws of a small table share a pass of at most IMPUTE_PASS_ROWS rows)."""
    from tabdiff_cli import conditioning

    monkeypatch.setattr(conditioning, "IMPUTE_PASS_ROWS", 8)  # 2 draws of these 4 rows a pass
    holes = iris_df.head(4).copy()
    holes.loc[1, "sepal width (cm)"] = np.nan
    calls = []
    iris_synth.impute(holes, draws=5, seed=0, steps=5, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_infer_prints_a_row_of_numbers_with_one_number_of_decimals():
    """Helper report: infer's quantiles printed as 1.9, 2, 2.2 (format .4g drops trailing zeros)."""
    from tabdiff_cli.cli.render import same_decimals as _same_decimals

    assert _same_decimals([1.9, 2.0, 2.2, None]) == ["1.900", "2.000", "2.200", ""]
    assert _same_decimals([12345.6, 80.0]) == ["12346", "80"]
    assert _same_decimals([0.0123, 0.5]) == ["0.0123", "0.5000"]
    assert _same_decimals([0.0, None]) == ["0", ""]


def test_fit_honours_the_config_files_na_values_and_epochs(tmp_path):
    """Every config value on every path: `data.na_values` from a YAML file was ignored by fit unless
    --na-values was also passed, and `--epochs` was ignored under the default recipe's "auto" steps."""
    from tabdiff_cli.engine.checkpoint import load_checkpoint

    rng = np.random.default_rng(0)
    amount = rng.normal(size=60).round(2).astype(str)
    amount[:12] = "-"
    (tmp_path / "t.csv").write_text("amount,kind\n" + "\n".join(
        f"{a},{k}" for a, k in zip(amount, rng.choice(["x", "y"], 60), strict=True)) + "\n")
    (tmp_path / "c.yaml").write_text("data:\n  na_values: ['-']\ntraining:\n  steps: 4\n")
    assert_ok(tabdiff("fit", tmp_path / "t.csv", "--config", tmp_path / "c.yaml", "--seed", 0, "--quiet",
                      "--model", tmp_path / "m.ckpt"))
    _, header = load_checkpoint(tmp_path / "m.ckpt")
    spec = next(c for c in header["encoder"]["schema"]["columns"] if c["name"] == "amount")
    assert spec["kind"] == "continuous" and spec["missing_rate"] == pytest.approx(0.2)
    assert header["meta"]["steps"] == 4
    assert_ok(tabdiff("fit", tmp_path / "t.csv", "--config", tmp_path / "c.yaml", "--epochs", 3, "--seed", 0,
                      "--quiet", "--model", tmp_path / "e.ckpt"))
    assert load_checkpoint(tmp_path / "e.ckpt")[1]["meta"]["steps"] == 3  # 60 rows: one full batch an epoch


def test_calibration_command_reports_coverage_and_writes_json_and_a_figure(iris_run, tmp_path):
    held = tmp_path / "held.csv"
    read_table("iris").iloc[::10].to_csv(held, index=False)
    out, fig = tmp_path / "cal.json", tmp_path / "cal.png"
    result = tabdiff("calibration", held, "--model", iris_run["ckpt"], "--column", "target,petal width (cm)",
                     "--draws", 6, "--steps", 10, "--seed", 0, "--out", out, "--plot", fig)
    assert_ok(result)
    assert "90% covers" in result.stdout and "all" in result.stdout
    report = json.loads(out.read_text())
    assert report["hidden_cells"] == 30 and set(report["columns"]) == {"target", "petal width (cm)"}
    assert fig.stat().st_size > 1000
    bad = tabdiff("calibration", held, "--model", iris_run["ckpt"], "--column", "nope", "--draws", 3)
    assert_clear_error(bad, "nope")
    assert_clear_error(tabdiff("calibration", held, "--model", iris_run["ckpt"], "--draws", 3), "--column")


def test_zip_codes_come_back_as_the_same_strings_and_condition_as_text(tmp_path):
    """Issue 24: a zip column read as integers came back as 4-digit numbers ("1060"), and --given zip=02134
    conditioned on 2134."""
    rng = np.random.default_rng(0)
    zips = ["02134", "00501", "10001", "02139", "94105"]
    data = tmp_path / "zip.csv"
    pd.DataFrame({"zip": rng.choice(zips, 120), "rent": rng.normal(1000, 100, 120).round(0)}).to_csv(data, index=False)
    ckpt, out = tmp_path / "z.ckpt", tmp_path / "g.csv"
    assert_ok(tabdiff("fit", data, "--steps", 30, "--seed", 0, "--model", ckpt, "-q"))
    assert_ok(tabdiff("sample", "--model", ckpt, "--n", 200, "--seed", 1, "--out", out, "-q"))
    gen = pd.read_csv(out, dtype=str)
    assert set(gen["zip"]) <= set(zips) and gen["zip"].str.fullmatch(r"\d{5}").all()
    assert_ok(tabdiff("sample", "--model", ckpt, "--n", 20, "--given", "zip=02134", "--out", out, "-q"))
    assert (pd.read_csv(out, dtype=str)["zip"] == "02134").all()
    assert_ok(tabdiff("fit", data, "--steps", 30, "--categorical", "zip", "--model", ckpt, "-q"))
    assert_ok(tabdiff("sample", "--model", ckpt, "--n", 20, "--given", "zip=00501", "--out", out, "-q"))
    assert (pd.read_csv(out, dtype=str)["zip"] == "00501").all()


def test_amounts_as_text_and_a_yearly_series_are_data_and_an_identifier_guess_is_told(tmp_path):
    """Issue 24: "$1,688.68" and "11.336,05" came back as order_total-1, ...; one row per year was regenerated
    as 1, 2, ... and --given year=2008 was refused; an identifier guess must be visible, with its flag."""
    rng = np.random.default_rng(0)
    amount = rng.lognormal(7, 1, 120)
    data = tmp_path / "orders.csv"
    pd.DataFrame({"order_total": [f"${a:,.2f}" for a in amount],
                  "netto": [f"{a:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".") for a in amount / 1.19],
                  "row": rng.permutation(120) + 1}).to_csv(data, index=False)
    ckpt, out = tmp_path / "o.ckpt", tmp_path / "g.csv"
    fit = tabdiff("fit", data, "--steps", 30, "--seed", 0, "--model", ckpt, "-q")
    assert_ok(fit)
    told = " ".join(fit.stderr.split())
    assert "'row' is taken for an identifier" in told and "--integer row" in told
    assert_ok(tabdiff("sample", "--model", ckpt, "--n", 200, "--seed", 1, "--out", out, "-q"))
    gen = pd.read_csv(out, dtype=str)
    assert gen["order_total"].str.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d").all()
    assert gen["netto"].str.fullmatch(r"\d{1,3}(\.\d{3})*,\d\d").all()
    dollars = gen["order_total"].str.replace(r"[$,]", "", regex=True).astype(float)
    assert dollars.between(amount.min() - 0.01, amount.max() + 0.01).all() and dollars.nunique() > 100
    assert_ok(tabdiff("sample", "--model", ckpt, "--n", 20, "--given", "order_total>=$1,000", "--out", out, "-q"))
    given = pd.read_csv(out, dtype=str)["order_total"].str.replace(r"[$,]", "", regex=True).astype(float)
    assert (given >= 1000).all()

    year = np.arange(1948, 2024)
    series = tmp_path / "gdp.csv"
    pd.DataFrame({"year": year, "gdp": (np.exp((year - 1948) * 0.03) * 100).round(2)}).to_csv(series, index=False)
    fit = tabdiff("fit", series, "--steps", 30, "--seed", 0, "--model", ckpt, "-q")
    assert_ok(fit) and "identifier" not in fit.output
    assert_ok(tabdiff("sample", "--model", ckpt, "--n", 10, "--given", "year=2008", "--out", out, "-q"))
    assert (pd.read_csv(out)["year"] == 2008).all()


def test_conditions_no_training_row_holds_are_told_as_an_extrapolation(tmp_path):
    """Issue 24: --given on two levels never seen together returned rows, exit 0, no warning. The checkpoint's
    support sketch bounds the training rows behind the conditions; below 5 the user is warned."""
    import warnings

    from tabdiff_cli.errors import ExtrapolationWarning
    from tabdiff_cli.synthesizer import DiffusionSynthesizer
    from tabdiff_cli.table.support import condition_support

    rng = np.random.default_rng(0)
    n = 300
    region = rng.choice(["North", "South", "East"], n)
    tier = np.where(region == "North", rng.choice(["basic", "plus"], n), rng.choice(["basic", "plus", "premium"], n))
    price = np.select([tier == "premium", tier == "plus"], [100.0, 50.0], 20.0) + rng.normal(0, 3, n)
    df = pd.DataFrame({"region": region, "tier": tier, "price": price.round(2)})
    data, ckpt, out = tmp_path / "combo.csv", tmp_path / "c.ckpt", tmp_path / "g.csv"
    df.to_csv(data, index=False)
    assert_ok(tabdiff("fit", data, "--steps", 30, "--seed", 0, "--model", ckpt, "-q"))
    never = tabdiff("sample", "--model", ckpt, "--n", 10, "--given", "region=North", "--given", "tier=premium",
                    "--out", out, "-q")
    assert_ok(never)
    told = " ".join(never.stderr.split())
    assert "no training row holds region=North and tier=premium" in told and "extrapolation" in told
    seen = tabdiff("sample", "--model", ckpt, "--n", 10, "--given", "region=North", "--given", "tier=plus",
                   "--out", out, "-q")
    assert_ok(seen) and "warning" not in seen.stderr
    synth = DiffusionSynthesizer.load(ckpt)
    sketch = synth.meta["support"]
    both = synth.parse_conditions(["region=North", "tier=plus"])
    assert condition_support(sketch, both)[0] == int(((region == "North") & (tier == "plus")).sum())
    assert condition_support(sketch, synth.parse_conditions(["tier=premium", "price<50"]))[0] == 0
    with pytest.warns(ExtrapolationWarning, match="support 0 of 300"):
        synth.infer(["region=North", "tier=premium"], "price", num_samples=20, seed=0, steps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        synth.sample(5, seed=0, conditions=["region=South", "tier=premium"], steps=5)


def test_a_wide_fit_is_told_before_training_even_when_quiet(tmp_path, monkeypatch):
    """Issue 24 (a 45,000-level column): fit warns up front with the encoded width and the planned steps."""
    from tabdiff_cli.config import auto

    monkeypatch.setattr(auto, "LARGE_FIT_FEATURES", 100)
    rng = np.random.default_rng(0)
    data = tmp_path / "wide.csv"
    pd.DataFrame({"customer": [f"C{v}" for v in rng.integers(0, 150, 400)], "x": rng.normal(size=400)}).to_csv(
        data, index=False)
    fit = tabdiff("fit", data, "--steps", 5, "--model", tmp_path / "w.ckpt", "-q")
    assert_ok(fit)
    told = " ".join(fit.stderr.split())
    assert "a large fit: 400 rows ×" in told and "5 planned steps" in told and "'customer'" in told
    monkeypatch.setattr(auto, "MAX_FIT_BYTES", 1000)
    assert_clear_error(tabdiff("fit", data, "--steps", 5, "--model", tmp_path / "v.ckpt"), "cap", "'customer'",
                       absent=[tmp_path / "v.ckpt"])
