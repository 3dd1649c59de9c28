"""Issue 24, crash safety: a `sample` or `fit` killed with SIGKILL mid-write, or writing to a full disk,
leaves the previous output intact and no partial file under the output name; the next run writing the same
output removes the temporary file the killed one left behind."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tabdiff_cli.table.io import remove_stale_temporaries
from tests.cli.test_cli import assert_clear_error, assert_ok, tabdiff

CLI = [sys.executable, "-m", "tabdiff_cli"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    """Iris fitted for a few steps: fast to sample from, a real checkpoint."""
    ckpt = tmp_path_factory.mktemp("model") / "iris.ckpt"
    assert_ok(tabdiff("fit", "iris", "--steps", 5, "--seed", 0, "--model", ckpt, "-q"))
    return ckpt


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".tmp" in p.name]


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 600.0) -> None:
    """SIGKILL `proc` as soon as ready() holds (polled); fails when the process ends first. The timeout is
    generous: on a machine shared by several test runs the child may get little CPU (no timing is asserted)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"the process ended (exit {proc.returncode}) before it could be killed"
        assert time.monotonic() < deadline, "the process never reached the point to kill it at"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_a_killed_sample_keeps_the_previous_output_and_the_next_run_removes_its_temporary(small_model, tmp_path):
    out = tmp_path / "big.csv"
    out.write_text("previous,output\n1,2\n", encoding="utf-8")
    proc = subprocess.Popen([*CLI, "sample", "--model", str(small_model), "--n", "1000000", "--steps", "2",
                             "--seed", "0", "--out", str(out), "-q"], env=ENV, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def mid_write() -> bool:  # the temporary file holds rows already
        return any(p.stat().st_size > 50_000 for p in _temporaries(tmp_path))

    _kill_when(proc, mid_write)
    assert proc.returncode == -signal.SIGKILL
    assert out.read_text(encoding="utf-8") == "previous,output\n1,2\n"  # untouched, never partly replaced
    (left,) = _temporaries(tmp_path)  # what SIGKILL leaves: a named, partial temporary file …
    assert left.name.startswith(f".big.csv.{proc.pid}.")
    assert_ok(tabdiff("sample", "--model", small_model, "--n", 10, "--seed", 1, "--out", out, "-q"))
    # … that the next run writing the same output removes: only the output remains
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]
    assert len(pd.read_csv(out)) == 10


def test_a_killed_fit_keeps_the_previous_checkpoint(small_model, tmp_path):
    """SIGKILL while the checkpoint is being written (held mid-write in a child process), then a fit to the
    same path: the previous checkpoint was intact, and no temporary file stays."""
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(small_model.read_bytes())
    flag = tmp_path / "half-written"
    child = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "import tabdiff_cli.engine.checkpoint as c\n"
        "flag = Path(sys.argv[2])\n"
        "def half(tensors, path, metadata=None):\n"
        "    Path(path).write_bytes(b'\\0' * 4096)\n"
        "    flag.touch()\n"
        "    time.sleep(600)\n"
        "c.save_file = half\n"
        "from tabdiff_cli.cli import app\n"
        "sys.argv = ['tabdiff', 'fit', 'iris', '--steps', '3', '--model', sys.argv[1], '-q']\n"
        "app()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", child, str(ckpt), str(flag)], env=ENV, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, flag.exists)
    flag.unlink()
    assert ckpt.read_bytes() == small_model.read_bytes()
    assert len(_temporaries(tmp_path)) == 1
    assert_ok(tabdiff("fit", "iris", "--steps", 3, "--seed", 1, "--model", ckpt, "-q"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt"]
    assert ckpt.read_bytes() != small_model.read_bytes()


def test_stale_temporaries_of_live_writers_and_other_outputs_are_kept(tmp_path):
    out = tmp_path / "gen.csv"
    mine = tmp_path / f".gen.csv.{os.getpid()}.abc123.tmp.csv"  # a live writer: this process
    dead = tmp_path / ".gen.csv.999999999.abc123.tmp.csv"  # no such process
    other = tmp_path / ".other.csv.999999999.abc123.tmp.csv"  # another output's
    old = tmp_path / ".gen.csv.k2j3h4.tmp.csv"  # the naming before process ids, untouched for two hours
    fresh = tmp_path / ".gen.csv.q9w8e7.tmp.csv"
    for p in (mine, dead, other, old, fresh):
        p.write_text("x", encoding="utf-8")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert sorted(remove_stale_temporaries(out)) == sorted([dead, old])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (mine, other, fresh))


@contextlib.contextmanager
def _full_disk(folder: Path, size_kib: int, monkeypatch, mount: bool):
    """A folder on a tmpfs of `size_kib` KiB (`mount`, root, and mount allowed), else a folder where every
    table and checkpoint write fails with ENOSPC after writing part of the file (simulated). Yields (folder,
    whether it is a real tmpfs)."""
    folder.mkdir()
    mounted = mount and os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)], capture_output=True).returncode == 0
    if not mounted:
        import tabdiff_cli.engine.checkpoint as checkpoint

        def full(path, *args, **kwargs):
            with open(path, "wb") as f:
                f.write(b"\0" * 1024)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

        monkeypatch.setattr(pd.DataFrame, "to_csv", lambda self, path, *a, **k: full(path))
        monkeypatch.setattr(checkpoint, "save_file", lambda tensors, path, metadata=None: full(path))
    try:
        yield folder, mounted
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(folder)], check=True)  # a still-mapped checkpoint keeps it busy


@pytest.mark.parametrize("mount", [True, False], ids=["tmpfs", "simulated"])
def test_a_full_disk_keeps_the_previous_output_and_leaves_no_partial_file(small_model, tmp_path, monkeypatch, mount):
    size = small_model.stat().st_size
    with _full_disk(tmp_path / "disk", size // 1024 + 24, monkeypatch, mount) as (disk, _):
        out, ckpt = disk / "gen.csv", disk / "model.ckpt"
        out.write_text("previous,output\n1,2\n", encoding="utf-8")
        ckpt.write_bytes(small_model.read_bytes())  # the disk now has less room than one more checkpoint
        result = tabdiff("sample", "--model", ckpt, "--n", 200000, "--steps", 2, "--seed", 0, "--out", out, "-q")
        message = assert_clear_error(result, "gen.csv")
        assert "No space left on device" in message
        assert out.read_text(encoding="utf-8") == "previous,output\n1,2\n"
        assert_clear_error(tabdiff("fit", "iris", "--steps", 3, "--seed", 2, "--model", ckpt, "-q"), "model.ckpt",
                           "No space left")
        assert ckpt.read_bytes() == small_model.read_bytes()
        assert sorted(p.name for p in disk.iterdir()) == ["gen.csv", "model.ckpt"]
