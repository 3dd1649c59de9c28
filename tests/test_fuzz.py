"""Issue 24, fuzzing: random small tables through read → fit → sample → plot → evaluate, and random
corruptions of a checkpoint.

Every command either succeeds with valid output or ends with a clear error (exit code 2, at most two lines on
stderr, no traceback); after a fit that succeeded, sampling must succeed. A corrupted checkpoint is always a
CheckpointError, unless the corruption left its content the same (a space of the header's padding turned
into a tab). Deterministic (derandomize: the same examples every run) and small, so that the file runs in
well under 3 minutes on a 2-core machine.
"""

from __future__ import annotations

import csv
import io
import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tabdiff_cli.config import preset_path
from tabdiff_cli.errors import CheckpointError
from tabdiff_cli.synthesizer import DiffusionSynthesizer
from tests.cli.test_cli import assert_ok, tabdiff

PIPELINE_EXAMPLES = 30
CHECKPOINT_EXAMPLES = 60
# no shrinking: a failure is reported as found (shrinking a fit-and-sample example took over five minutes)
FUZZ = settings(derandomize=True, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# cell makers: (kind name, strategy of one non-empty cell as text)
_WORDS = st.sampled_from(["a", "b", "c", "Zürich", "東京", "naïve", "x,y", 'say "hi"', " pad ", "NA?", "0", "-"])
CELLS = {
    "float": st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.3f}"),
    "tiny": st.floats(1e-12, 1e-9).map(repr),
    "huge": st.floats(1e20, 1e30).map(repr),
    "int": st.integers(-10**6, 10**6).map(str),
    "text": _WORDS,
    "code": st.sampled_from(["02134", "00501", "10001"]),
    "money": st.floats(0, 1e5, allow_nan=False).map(lambda v: f"${v:,.2f}"),
    "bool": st.sampled_from(["true", "false", "TRUE", "False"]),
    "date": st.dates().map(lambda d: d.isoformat()),
}
_HEADER = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=6),
    st.sampled_from(["a", "a", " ", "x,y", 'q"t', "line\nbreak", "Unnamed: 0", "ü"]),
)


@st.composite
def csv_tables(draw) -> str:
    """CSV text of a random small table: 1-12 rows, 1-4 columns of mixed kinds, empty cells, odd headers
    (duplicates, spaces, quotes, line breaks, unicode), all-empty columns."""
    n_rows = draw(st.integers(1, 12))
    n_cols = draw(st.integers(1, 4))
    headers = draw(st.lists(_HEADER, min_size=n_cols, max_size=n_cols))
    columns = []
    for _ in range(n_cols):
        kind = draw(st.sampled_from([*CELLS, "empty"]))
        cells = ["" if kind == "empty" else draw(CELLS[kind]) for _ in range(n_rows)]
        holes = draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows))
        columns.append(["" if h and draw(st.booleans()) else c for c, h in zip(cells, holes, strict=True)])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(zip(*columns, strict=True))
    return out.getvalue()


def assert_ok_or_clear(result, step: str) -> bool:
    """True for exit 0; False for a clear error (exit 2, 1-2 lines on stderr, no traceback); fails otherwise."""
    if result.exit_code == 0:
        return True
    assert result.exit_code == 2, f"{step}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    assert isinstance(result.exception, SystemExit), f"{step}: {result.exception!r}"
    message = result.stderr.strip()
    assert message and len(message.splitlines()) <= 2 and "Traceback" not in result.output, f"{step}: {message}"
    return False


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory) -> Path:
    """The default recipe at its smallest: a 16-wide network, 2 training and 2 sampling steps."""
    cfg = yaml.safe_load(preset_path("default").read_text(encoding="utf-8"))
    cfg["model"].update(hidden_dim=16, n_blocks=1)
    cfg["training"]["steps"] = 2
    cfg["sampling"]["steps"] = 2
    path = tmp_path_factory.mktemp("fuzz") / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


@settings(FUZZ, max_examples=PIPELINE_EXAMPLES)
@given(text=csv_tables())
def test_random_tables_fit_sample_plot_evaluate_or_fail_clearly(text, tiny_config, tmp_path_factory):
    folder = tmp_path_factory.mktemp("t")
    real, ckpt, gen = folder / "real.csv", folder / "m.ckpt", folder / "gen.csv"
    real.write_text(text, encoding="utf-8")
    if not assert_ok_or_clear(tabdiff("fit", real, "--config", tiny_config, "--model", ckpt, "--seed", 0, "-q"), "fit"):
        assert not ckpt.exists()
        return
    sample = tabdiff("sample", "--model", ckpt, "--n", 7, "--seed", 1, "--out", gen, "-q")
    assert_ok(sample)  # a model that was fitted must generate
    written = pd.read_csv(gen, dtype=str, keep_default_na=False)
    header = next(csv.reader(io.StringIO(text)))
    assert len(written) == 7 and written.shape[1] <= len(header)
    assert_ok_or_clear(tabdiff("plot", real, gen, "--out", folder / "p.png"), "plot")
    assert_ok_or_clear(tabdiff("evaluate", real, gen, "--max-rows", 50), "evaluate")
    assert sorted(p.name for p in folder.iterdir() if ".tmp" in p.name) == []


# ---------------------------------------------------------------- checkpoint corruption


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory) -> Path:
    """A small real checkpoint (a path: hypothesis prints the arguments of a failing example)."""
    path = tmp_path_factory.mktemp("ckpt") / "iris.ckpt"
    assert_ok(tabdiff("fit", "iris", "--steps", 2, "--seed", 0, "--model", path, "-q"))
    return path


def _header(data: bytes) -> tuple[int, dict]:
    (n,) = struct.unpack("<Q", data[:8])
    return n, json.loads(data[8:8 + n])


def _with_header(data: bytes, header: dict) -> bytes:
    """The file with its safetensors header replaced (padded to 8 bytes as safetensors writes it)."""
    n, _ = _header(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data[8 + n:]


@st.composite
def corruptions(draw, size: int):
    kind = draw(st.sampled_from(["truncate", "flip", "shape", "shape-unchecked", "meta"]))
    if kind == "truncate":
        return kind, draw(st.integers(0, size - 1))
    if kind == "flip":
        return kind, draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(1, 255)), min_size=1, max_size=3))
    return kind, draw(st.integers(0, 10**6))


def _corrupt(data: bytes, kind: str, arg) -> bytes:
    if kind == "truncate":
        return data[:arg]
    if kind == "flip":
        out = bytearray(data)
        for offset, mask in arg:
            out[offset] ^= mask
        return bytes(out)
    _, header = _header(data)
    names = sorted(k for k in header if k != "__metadata__")
    name = names[arg % len(names)]
    if kind in ("shape", "shape-unchecked"):  # the same bytes read as another shape: a header that lies
        shape = header[name]["shape"]
        header[name]["shape"] = shape[::-1] if len(shape) > 1 and shape[0] != shape[-1] else [*shape, 1]
        if kind == "shape-unchecked":  # as a checkpoint from before the checksum would be
            header["__metadata__"].pop("tabdiff_sha256", None)
        return _with_header(data, header)
    body = json.loads(header["__metadata__"]["tabdiff"])  # the tabdiff header lies about the width
    body["encoder"]["schema"]["columns"] = body["encoder"]["schema"]["columns"][: 1 + arg % 3]
    header["__metadata__"]["tabdiff"] = json.dumps(body)
    header["__metadata__"].pop("tabdiff_sha256", None)
    return _with_header(data, header)


@settings(FUZZ, max_examples=CHECKPOINT_EXAMPLES)
@given(data=st.data())
def test_a_corrupted_checkpoint_is_a_checkpoint_error(data, checkpoint_file, tmp_path_factory):
    checkpoint = checkpoint_file.read_bytes()
    kind, arg = data.draw(corruptions(len(checkpoint)))
    damaged = _corrupt(checkpoint, kind, arg)
    path = tmp_path_factory.mktemp("c") / "bad.ckpt"
    path.write_bytes(damaged)
    try:
        synth = DiffusionSynthesizer.load(path)
    except CheckpointError as exc:
        assert str(exc).startswith(str(path)) or str(path) in str(exc)
        assert "\n" not in str(exc)
        return
    # loaded: only a corruption that left the content as it was (JSON whitespace in the header's padding)
    good = DiffusionSynthesizer.load(checkpoint_file)
    assert kind == "flip"
    pd.testing.assert_frame_equal(synth.sample(20, seed=0, steps=3), good.sample(20, seed=0, steps=3))
    np.testing.assert_equal(synth.meta, good.meta)
