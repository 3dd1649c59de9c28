"""io: reading (delimiters, encodings, missing-cell markers), atomic writing, streaming writer."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from tabdiff_cli.errors import UserError
from tabdiff_cli.table.io import (
    StreamingTableWriter,
    atomic_write,
    check_writable,
    read_table,
    shard_path,
    table_format,
    write_table,
)

ROWS = [("José", "1.5", "3"), ("Zoë", "2.25", "4"), ("Ångström", "-0.5", "5"), ("plain", "10", "6")]


def _text(sep: str) -> str:
    lines = [sep.join(("name", "value", "count"))] + [sep.join(r) for r in ROWS]
    return "\n".join(lines) + "\n"


def _check_rows(df: pd.DataFrame) -> None:
    assert list(df.columns) == ["name", "value", "count"]
    assert df["name"].tolist() == [r[0] for r in ROWS]
    assert df["value"].tolist() == [1.5, 2.25, -0.5, 10.0]
    assert df["count"].tolist() == [3, 4, 5, 6]
    assert df["count"].dtype.kind == "i" and df["value"].dtype.kind == "f"


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, sep):
    path = tmp_path / "t.csv"
    path.write_text(_text(sep), encoding="utf-8")
    _check_rows(read_table(path))


def test_tsv_extension_means_tab_even_when_cells_hold_commas(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\nx,y,z\t1\nu,v,w\t2\n", encoding="utf-8")
    df = read_table(path)
    assert list(df.columns) == ["a", "b"]
    assert df["a"].tolist() == ["x,y,z", "u,v,w"]


def test_semicolon_with_decimal_commas_in_quotes(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('city;note\n"Paris";"a, b"\n"Lyon";"c, d"\n"Nice";"e"\n', encoding="utf-8")
    df = read_table(path)
    assert list(df.columns) == ["city", "note"]
    assert df["note"].tolist() == ["a, b", "c, d", "e"]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_decimal_commas_are_numbers(tmp_path, sep):
    path = tmp_path / "euro.csv"
    path.write_text(sep.join(["k", "price", "code"]) + "\n" + "\n".join(
        sep.join(r) for r in [("a", "9,74", "x1"), ("b", "", "x2"), ("a", "-10,5", "1,2,3"), ("b", "3", "x4")]
    ) + "\n", encoding="utf-8")
    df = read_table(path)
    assert df["price"].dtype == np.float64
    np.testing.assert_array_equal(df["price"].to_numpy(), [9.74, np.nan, -10.5, 3.0])
    assert df["code"].tolist() == ["x1", "x2", "1,2,3", "x4"]  # text stays text


def test_commas_in_a_comma_file_are_not_decimals(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b\n"1,5",x\n"2,5",y\n', encoding="utf-8")
    assert read_table(path)["a"].tolist() == ["1,5", "2,5"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1"])
def test_encodings(tmp_path, encoding):
    path = tmp_path / "t.csv"
    path.write_bytes(_text(",").encode(encoding))
    df = read_table(path)
    _check_rows(df)  # the BOM of utf-8-sig does not end up in the first column name


def test_cp1252_only_characters(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("word,n\n€uro,1\n“quoted”,2\n".encode("cp1252"))
    assert read_table(path)["word"].tolist() == ["€uro", "“quoted”"]


def test_na_markers_are_remembered_per_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,d\n1,?,x,5\n,2,NA,6\n3,?,y,7\n4,3,NA,8\n", encoding="utf-8")
    df = read_table(path)
    assert df.attrs["na_markers"] == {"a": "", "b": "?", "c": "NA"}
    assert df["a"].isna().tolist() == [False, True, False, False]
    assert df["b"].isna().sum() == 2 and df["b"].dtype.kind == "f"
    assert df["c"].isna().sum() == 2
    assert df["d"].notna().all()


def test_custom_na_values(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,-999\n2,5\n3,-999\n", encoding="utf-8")
    df = read_table(path, na_values=["-999"])
    assert df["b"].isna().sum() == 2
    assert df.attrs["na_markers"] == {"b": "-999"}


def test_write_table_restores_markers(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,?\n,2\n3,4\n", encoding="utf-8")
    df = read_table(src)
    assert df.attrs["integer_text"] == ["a", "b"]  # floats only because of the empty cells
    out = write_table(df, tmp_path / "out.csv", df.attrs["na_markers"], df.attrs["integer_text"])
    assert out.read_text(encoding="utf-8") == src.read_text(encoding="utf-8")


def test_whole_numbers_written_with_decimals_stay_floats(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1.0,\n2.0,2.5\n,3\n", encoding="utf-8")
    df = read_table(src)
    assert df.attrs["integer_text"] == []  # '1.0' says float; b has a fraction
    out = write_table(df, tmp_path / "out.csv", df.attrs["na_markers"], df.attrs["integer_text"])
    assert out.read_text(encoding="utf-8").splitlines() == ["a,b", "1.0,", "2.0,2.5", ",3.0"]


@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("  \n\n", ["empty"]),
    ("a,b,c\n", ["header", "no data rows"]),
    ("a,a,b\n1,2,3\n", ["duplicate", "a"]),
])
def test_bad_files_are_user_errors(tmp_path, text, words):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_table(path)
    message = str(err.value)
    assert "bad.csv" in message and "\n" not in message
    for w in words:
        assert w in message


def test_row_longer_than_header_is_an_error_not_an_index(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2,3\n4,5\n6,7\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"ragged.csv: malformed CSV \(line 2 has 3 fields, the header 2\)"):
        read_table(path)
    path.write_text("a,b\n1,2\n4,5,6\n6,7\n", encoding="utf-8")
    with pytest.raises(UserError, match="ragged.csv: malformed CSV"):
        read_table(path)


def test_binary_file_is_not_a_table(tmp_path):
    path = tmp_path / "model.ckpt"
    path.write_bytes(b"\x08\x01\x00\x00\x00\x00\x00\x00{\"__metadata__\": {}}" + bytes(range(256)))
    with pytest.raises(UserError) as err:
        read_table(path)
    assert str(err.value) == f"{path}: not a text table (binary content); give a CSV, TSV or Parquet file"


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(_text("\t").encode("utf-16"))
    _check_rows(read_table(path))


def test_many_duplicate_names_give_a_short_message(tmp_path):
    path = tmp_path / "dups.csv"
    header = ",".join(f"c{i % 10}" for i in range(40))
    path.write_text(header + "\n" + ",".join(["1"] * 40) + "\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_table(path)
    assert str(err.value) == f"{path}: duplicate column name(s): c0, c1, c2, c3, c4 and 5 more"


def test_missing_file_folder_and_unknown_builtin(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(UserError, match="folder"):
        read_table(tmp_path)
    with pytest.raises(UserError, match="irs.*known: iris"):
        read_table("sklearn:irs")


def test_builtin_iris():
    df = read_table("iris")
    assert df.shape == (150, 5)
    assert sorted(df["target"].unique()) == ["setosa", "versicolor", "virginica"]
    assert df.attrs["na_markers"] == {}


def test_parquet_read_and_damaged_parquet(tmp_path):
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    df.to_parquet(tmp_path / "t.parquet", index=False)
    back = read_table(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(back, df)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(UserError, match="bad.parquet"):
        read_table(tmp_path / "bad.parquet")


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_table_is_atomic_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("old content\n", encoding="utf-8")

    def broken_to_csv(self, path, *args, **kwargs):
        with open(path, "w") as fh:
            fh.write("half a tab")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken_to_csv)
    with pytest.raises(UserError, match="cannot write .*out.csv: No space left on device"):  # names the output
        write_table(pd.DataFrame({"a": [1, 2]}), target)
    assert target.read_text(encoding="utf-8") == "old content\n"
    assert _leftovers(tmp_path) == []


def test_write_table_formats_roundtrip(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", None], "c": [0.5, np.nan]})
    write_table(df, tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text(encoding="utf-8") == "a,b,c\n1,x,0.5\n2,,\n"
    write_table(df, tmp_path / "o.tsv")
    assert (tmp_path / "o.tsv").read_text(encoding="utf-8") == "a\tb\tc\n1\tx\t0.5\n2\t\t\n"
    write_table(df, tmp_path / "o.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o.parquet"), df)
    with pytest.raises(UserError, match="xlsx"):
        write_table(df, tmp_path / "o.xlsx")
    assert not (tmp_path / "o.xlsx").exists()
    assert _leftovers(tmp_path) == []


def test_atomic_write_into_a_file_or_folder_is_a_user_error(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(UserError, match="file.txt is a file, not a folder"):
        atomic_write(blocker / "sub" / "out.csv", lambda p: p.write_text("y"))
    with pytest.raises(UserError, match="is a folder"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path)
    with pytest.raises(UserError, match="file.txt"):
        check_writable(blocker / "m.ckpt")
    check_writable(tmp_path / "new" / "m.ckpt")  # creates the folder, leaves no file
    assert list((tmp_path / "new").iterdir()) == []


def _chunks():
    rng = np.random.default_rng(0)
    for k in range(3):
        yield pd.DataFrame({
            "i": np.arange(k * 4, k * 4 + 4, dtype=np.int64),
            "x": np.round(rng.normal(size=4), 3),
            "s": pd.Series(["a", None, "c", "d"], dtype=object),
        })


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_streaming_writer_roundtrip(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    with StreamingTableWriter(path, {"s": "?"}) as writer:
        for chunk in _chunks():
            writer.write(chunk)
            assert not path.exists()  # nothing at the target until the file is complete
    assert writer.rows == 12
    expected = pd.concat(list(_chunks()), ignore_index=True)
    if suffix == ".parquet":
        back = pd.read_parquet(path)
        pd.testing.assert_frame_equal(back[["i", "x"]], expected[["i", "x"]])
        assert back["s"].isna().tolist() == expected["s"].isna().tolist()  # missing stays missing, not '?'
        assert back["s"].dropna().tolist() == ["a", "c", "d"] * 3
    else:
        sep = "\t" if suffix == ".tsv" else ","
        text = path.read_text(encoding="utf-8").splitlines()
        assert text[0] == sep.join(["i", "x", "s"]) and len(text) == 13  # one header
        back = read_table(path)
        assert back["i"].tolist() == list(range(12))
        np.testing.assert_allclose(back["x"].to_numpy(), expected["x"].to_numpy())
        assert back["s"].isna().sum() == 3
        assert back.attrs["na_markers"] == {"s": "?"}
    assert _leftovers(tmp_path) == []


def test_streaming_writer_aborts_on_error_and_keeps_old_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with StreamingTableWriter(path) as writer:
            for chunk in _chunks():
                writer.write(chunk)
                raise RuntimeError("interrupted")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert _leftovers(tmp_path) == []


def test_table_format_and_shard_path(tmp_path):
    assert [table_format(n) for n in ("a.CSV", "a.tsv", "a.pq", "a.txt")] == ["csv", "tsv", "parquet", "csv"]
    assert shard_path(tmp_path / "gen.parquet", "1/4") == tmp_path / "gen-part-00001-of-00004.parquet"
    assert os.fspath(shard_path("d/gen.csv", "0/2")) == os.path.join("d", "gen-part-00000-of-00002.csv")


def test_written_files_get_the_usual_permissions(tmp_path):
    """Bug: files written through a temporary file came out -rw------- (mkstemp's mode) whatever the umask."""
    import stat

    old = os.umask(0o022)
    try:
        out = write_table(pd.DataFrame({"a": [1, 2]}), tmp_path / "o.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_checkpoints_get_the_usual_permissions_too(tmp_path):
    """Bug: checkpoints came out -rw------- beside -rw-r--r-- tables: safetensors' writer replaces the temporary
    file that atomic_write had opened up, so the mode is set again after writing."""
    import stat

    import torch

    from tabdiff_cli.engine.checkpoint import save_checkpoint

    old = os.umask(0o022)
    try:
        out = save_checkpoint(tmp_path / "m.ckpt", {"net.w": torch.zeros(2)}, {"format": "tabdiff-checkpoint"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


@pytest.mark.parametrize("pad", ["", " "])  # " ": a file the C engine reads (skipinitialspace), not pyarrow
def test_digit_codes_with_leading_zeros_stay_text(tmp_path, pad):
    """Issue 24: zip codes "02134", "00501" were read as the integers 2134 and 501; codes with a leading zero
    are text and are read as written (a missing cell stays missing)."""
    path = tmp_path / "z.csv"
    path.write_text(f"zip,n\n{pad}02134,1\n{pad}00501,2\n{pad}10001,3\n,4\n", encoding="utf-8")
    df = read_table(path)
    assert df["zip"].tolist()[:3] == ["02134", "00501", "10001"] and pd.isna(df["zip"].iloc[3])
    assert df["n"].dtype.kind == "i"  # numbers without leading zeros stay numbers
