"""Tests for tabdiff_cli.plot: the seed's side-by-side pairplot, marginals, correlation difference."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402

from tabdiff_cli.evaluation import plots as plot  # noqa: E402
from tabdiff_cli.evaluation.plots import PlotError  # noqa: E402

SPECIES = ["setosa", "versicolor", "virginica"]


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    data = load_iris(as_frame=True)
    df = data.frame.copy()
    df["target"] = np.asarray(data.target_names)[data.target.to_numpy()]
    return df


@pytest.fixture(scope="module")
def noisy(iris) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    gen = iris.copy()
    for col in iris.columns[:4]:
        gen[col] = gen[col] + rng.normal(0.0, 0.3, len(gen))
    gen.loc[0, "petal length (cm)"] = 9.5  # outside the real range: the limits must cover it in both grids
    return gen


@pytest.fixture
def mixed() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "const": 3.0,
            "empty": np.nan,
            "cat": rng.choice(["a", "b", "c"], size=n),
            "when": pd.date_range("2021-01-01", periods=n, freq="D"),
        }
    )
    df.loc[: n // 10 - 1, "y"] = np.nan  # exactly 10 % empty
    df.loc[::4, "cat"] = None
    return df


@pytest.fixture(autouse=True)
def _no_open_figures():
    yield
    assert plt.get_fignums() == [], "a figure was left open"


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------------------------------------
# pairplot
# ---------------------------------------------------------------------------------------------------------


def test_pairplot_png_side_by_side(iris, noisy, tmp_path):
    out = tmp_path / "pair.png"
    got = plot.pairplot_side_by_side(iris, noisy, out, hue="target")
    assert got == out
    assert out.stat().st_size > 10_000
    img = mpimg.imread(out)
    assert img.ndim == 3 and img.shape[2] in (3, 4)  # a 2-D RGB(A) image
    height, width = img.shape[:2]
    assert width > 1.5 * height  # two square grids next to each other
    assert _files(tmp_path) == ["pair.png"]  # no temp file left behind


def test_pairplot_grids_share_limits_hue_order_and_legend(iris, noisy):
    pp = plot._build_pairplot(iris, noisy, hue="target")
    try:
        assert pp.columns == list(iris.columns[:4])
        assert pp.hue_order == SPECIES
        real_grid, gen_grid = pp.grids
        assert real_grid.shape == gen_grid.shape == (4, 4)
        for i in range(4):
            for j in range(4):
                assert real_grid[i, j].get_xlim() == gen_grid[i, j].get_xlim()
                assert real_grid[i, j].get_ylim() == gen_grid[i, j].get_ylim()
        # the generated outlier (9.5) widens petal length's limits for both grids
        lo, hi = real_grid[3, 2].get_xlim()
        assert hi > 9.5 > iris["petal length (cm)"].max()
        assert real_grid[2, 0].get_ylim() == (lo, hi)
        # one legend for the figure, one entry per species
        assert len(pp.fig.legends) == 1
        assert [t.get_text() for t in pp.fig.legends[0].get_texts()] == SPECIES
        # same palette: each point of the off-diagonal panels has its species' colour in both grids
        for grid, df in ((real_grid, iris), (gen_grid, noisy)):
            colors = grid[0, 1].collections[0].get_facecolors()[:, :3]
            palette = plot._palette(SPECIES)
            expected = np.array([palette[s] for s in df["target"]])
            np.testing.assert_allclose(colors, expected, atol=1e-6)
    finally:
        plt.close(pp.fig)


def test_shared_limits_cover_union_and_degenerate_columns():
    real = pd.DataFrame({"a": [0.0, 1.0], "c": [2.0, 2.0], "e": [np.nan, np.nan], "s": ["u", "v"]})
    synth = pd.DataFrame(
        {"a": [-1.0, 3.0, np.inf], "c": [2.0, 2.0, 2.0], "e": [np.nan] * 3, "s": list("uvw")}
    )
    lim = plot._shared_limits(real, synth, ["a", "c", "e"])
    assert lim["a"] == pytest.approx((-1.2, 3.2))  # union [-1, 3] +- 5 % of 4; inf ignored
    assert lim["c"] == pytest.approx((1.5, 2.5))  # constant: +- 0.5
    assert lim["e"] == (0.0, 1.0)


def test_hue_order_puts_generated_only_levels_last(iris, noisy):
    gen = noisy.copy()
    gen.loc[:2, "target"] = ["zebra", "aardvark", "zebra"]
    pp = plot._build_pairplot(iris, gen, hue="target")
    plt.close(pp.fig)
    assert pp.hue_order == SPECIES + ["aardvark", "zebra"]


def test_pairplot_caps_columns_subsamples_and_survives_constant_and_empty(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    real = pd.DataFrame(rng.normal(size=(n, 10)), columns=[f"c{i}" for i in range(10)])
    real["c1"] = 5.0  # constant: no KDE, must not crash
    real["c2"] = np.nan  # all-NaN: dropped with a note
    real["flag"] = rng.random(n) < 0.5
    synth = real.iloc[:100].copy()
    pp = plot._build_pairplot(real, synth, hue="flag", max_rows=120, seed=3)
    plt.close(pp.fig)
    assert pp.columns == ["c0", "c1", "c3", "c4", "c5", "c6", "c7", "c8"]
    notes = "\n".join(pp.notes)
    assert "all-empty columns dropped: c2" in notes
    assert "first 8 of 9 numeric columns" in notes and "c9" in notes
    assert "Real: subsampled to 120 of 300 rows" in notes
    assert "Generated" not in notes  # 100 rows <= 120: not subsampled
    assert pp.hue_order == ["False", "True"]
    shown = pp.grids[0][0, 2].collections[0].get_offsets()
    assert len(shown) == 120
    # subsampling is seeded: same seed, same rows
    sub = plot._subsample(real, 120, 3, "Real", [])
    np.testing.assert_array_equal(np.asarray(shown), sub[["c3", "c0"]].to_numpy())
    assert not sub.index.equals(plot._subsample(real, 120, 4, "Real", []).index)


def test_pairplot_without_numeric_columns_raises(tmp_path):
    df = pd.DataFrame({"a": list("xyzxyz"), "b": [True, False] * 3})
    with pytest.raises(PlotError, match="numeric column"):
        plot.pairplot_side_by_side(df, df, tmp_path / "p.png")
    assert _files(tmp_path) == []


def test_plot_of_a_table_without_numbers_shows_level_shares_and_pairs(tmp_path):
    """Issue 24: a table of categorical columns only (blood types) exited 2, "pairplot needs at least 1 numeric
    column"; plot shows the level shares side by side, and the joint shares of two categorical columns."""
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"blood_type": rng.choice(["A+", "O+", "B+", "AB-"], 200)})
    gen = pd.DataFrame({"blood_type": rng.choice(["A+", "O+", "B+", "AB-"], 150)})
    (one,) = plot.plot_tables(real, gen, tmp_path / "blood.png")
    assert one == tmp_path / "blood.png" and one.stat().st_size > 5_000
    fig = plot._build_category_view(real, gen)
    bars = [p.get_height() for p in fig.axes[0].patches]
    assert len(bars) == 8 and sum(bars) == pytest.approx(2.0)  # 4 levels x (real, generated), shares
    plt.close(fig)
    two = real.assign(rh=rng.choice(["pos", "neg"], 200, p=[0.8, 0.2]))
    fig = plot._build_category_view(two, two)
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(images) == 2  # real and generated contingency heatmaps
    expected = pd.crosstab(two["blood_type"], two["rh"]).to_numpy() / 200
    np.testing.assert_allclose(images[0], expected)
    plt.close(fig)
    paths = plot.plot_tables(two, two, tmp_path / "all.png", kind="all")
    assert [p.name for p in paths] == ["all_categories.png", "all_marginals.png"]


@pytest.mark.parametrize("scale", [1e200, 1e24, 1e-10, 1e-170])
def test_pairplot_of_extreme_magnitudes_draws_in_powers_of_ten(scale, tmp_path):
    """Issue 24: a column around 1e200 ended in "array must not contain infs or NaNs" (the KDE's covariance
    overflowed); columns are drawn in units of a power of ten, named in a note."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"v": rng.normal(1.0, 0.01, 100) * scale, "w": rng.normal(size=100)})
    pp = plot._build_pairplot(df, df)
    exponent = int(np.floor(np.log10(df["v"].abs().max())))
    assert f"v ×1e{exponent}" in " ".join(pp.notes)
    lo, hi = pp.limits["v"]
    assert 0.9 < lo < 1.0 < hi < 1.1  # limits in the drawn unit
    plt.close(pp.fig)
    assert plot.plot_tables(df, df, tmp_path / "p.png")[0].stat().st_size > 5_000


def test_tables_without_a_common_column_say_so(iris, tmp_path):
    """Bug: plotting Iris against a generated Abalone table blamed the lack of numeric columns."""
    other = pd.DataFrame({"Rings": [1, 2, 3], "Sex": list("MFI")})
    with pytest.raises(PlotError, match=r"share no column .*Rings"):
        plot.pairplot_side_by_side(iris, other, tmp_path / "p.png")
    assert _files(tmp_path) == []


def test_unknown_hue_names_the_column(iris, noisy, tmp_path):
    out = tmp_path / "p.png"
    with pytest.raises(PlotError, match=r"--hue column 'specie' is not in the table; columns: .*target"):
        plot.pairplot_side_by_side(iris, noisy, out, hue="specie")
    with pytest.raises(PlotError, match="'specie'"):
        plot.plot_tables(iris, noisy, out, kind="all", hue="specie")
    assert _files(tmp_path) == []


# ---------------------------------------------------------------------------------------------------------
# default hue, formats, atomic writes
# ---------------------------------------------------------------------------------------------------------


def test_default_hue(iris, mixed):
    assert plot.default_hue(iris) == "target"
    two = pd.DataFrame({"a": list("xyxy"), "b": pd.Categorical(list("ppqq")), "n": [1.0, 2.0, 3.0, 4.0]})
    assert plot.default_hue(two) is None
    assert plot.default_hue(iris.drop(columns="target")) is None
    ids = pd.DataFrame({"id": [f"r{i}" for i in range(50)], "ok": [True, False] * 25})
    assert plot.default_hue(ids) == "ok"  # 50 levels is no hue; the bool column is the only candidate
    assert plot.default_hue(mixed) == "cat"


def test_svg_and_pdf_output(iris, noisy, tmp_path):
    svg = plot.pairplot_side_by_side(iris, noisy, tmp_path / "p.svg", hue="target")
    head = svg.read_bytes()[:2000]
    assert head.startswith(b"<?xml") or b"<svg" in head
    assert b"<image" not in svg.read_bytes()  # 150 rows: the scatter marks stay vector
    pdf = plot.correlation_difference(iris, noisy, tmp_path / "c.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert _files(tmp_path) == ["c.pdf", "p.svg"]


@pytest.mark.parametrize("func", ["pairplot_side_by_side", "marginals", "correlation_difference"])
def test_unsupported_extension_leaves_no_file(iris, noisy, tmp_path, func):
    with pytest.raises(PlotError, match=r"unsupported extension '\.txt'"):
        getattr(plot, func)(iris, noisy, tmp_path / "out.txt")
    with pytest.raises(PlotError, match=r"\.txt"):
        plot.plot_tables(iris, noisy, tmp_path / "out.txt", kind="all")
    assert _files(tmp_path) == []


def test_failed_save_keeps_old_file_and_leaves_no_temp(iris, noisy, tmp_path, monkeypatch):
    out = tmp_path / "m.png"
    out.write_bytes(b"old figure")

    def broken_savefig(self, fname, **kwargs):
        with open(fname, "wb") as fh:
            fh.write(b"half a png")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        plot.marginals(iris, noisy, out)
    assert out.read_bytes() == b"old figure"
    assert _files(tmp_path) == ["m.png"]


# ---------------------------------------------------------------------------------------------------------
# marginals and correlation
# ---------------------------------------------------------------------------------------------------------


def test_marginals_and_correlation_on_mixed_table(mixed, tmp_path):
    gen = mixed.sample(frac=1.0, random_state=0).reset_index(drop=True)
    gen["x"] = gen["x"] * 1.5
    m = plot.marginals(mixed, gen, tmp_path / "m.png")
    c = plot.correlation_difference(mixed, gen, tmp_path / "c.png")
    for path in (m, c):
        img = mpimg.imread(path)
        assert img.shape[0] > 100 and img.shape[1] > 100
    assert _files(tmp_path) == ["c.png", "m.png"]


def test_marginal_titles_give_empty_shares(mixed):
    gen = mixed.copy()
    gen.loc[:, "y"] = np.nan
    gen = gen.drop(columns="when")
    fig = plot._build_marginals(mixed, gen)
    try:
        titles = {ax.get_title().split("\n")[0]: ax.get_title() for ax in fig.axes if ax.get_visible()}
        assert list(titles) == ["x", "y", "const", "empty", "cat", "when"]
        assert titles["y"].endswith("empty: 10.0% / 100.0%")
        assert titles["x"].endswith("empty: 0.0% / 0.0%")
        assert titles["empty"].endswith("empty: 100.0% / 100.0%")
        assert titles["cat"].endswith("empty: 25.0% / 25.0%")
        assert "(not in generated)" in titles["when"]
    finally:
        plt.close(fig)


def test_marginals_categorical_groups_rare_levels_as_other(tmp_path):
    real = pd.DataFrame({"k": [f"v{i:02d}" for i in range(30)] * 2})
    fig = plot._build_marginals(real, real)
    try:
        labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        assert len(labels) == 21 and labels[-1] == "other (10)"
    finally:
        plt.close(fig)


def test_correlation_title_reports_mean_absolute_difference():
    a = np.linspace(0.0, 1.0, 50)
    real = pd.DataFrame({"a": a, "b": a, "c": np.sin(7 * a)})
    synth = pd.DataFrame({"a": a, "b": -a, "c": np.sin(7 * a)})
    expected = np.mean(
        np.abs(
            [
                1.0 - (-1.0),  # a-b
                real.corr().loc["a", "c"] - synth.corr().loc["a", "c"],  # 0
                real.corr().loc["b", "c"] - synth.corr().loc["b", "c"],
            ]
        )
    )
    fig = plot._build_correlation(real, synth)
    try:
        title = fig.axes[0].get_title()
        assert f"mean |\u0394| = {expected:.3f} over 3 pairs" in title
        mesh = fig.axes[0].collections[0]
        assert mesh.norm.vmin == -1 and mesh.norm.vmax == 1
        annotations = [t.get_text() for t in fig.axes[0].texts]
        assert "2.00" in annotations  # cells annotated (3 <= 15 columns)
    finally:
        plt.close(fig)


def test_correlation_with_one_numeric_column_draws_a_notice(tmp_path):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": list("abc")})
    out = plot.correlation_difference(df, df, tmp_path / "c.png")
    assert out.stat().st_size > 0
    fig = plot._build_correlation(df, df)
    try:
        assert any("at least 2 numeric columns" in t.get_text() for t in fig.axes[0].texts)
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------------------------------------------
# plot_tables
# ---------------------------------------------------------------------------------------------------------


def test_plot_tables_all_writes_three_suffixed_files(iris, noisy, tmp_path):
    paths = plot.plot_tables(iris, noisy, tmp_path / "cmp.png", kind="all")
    assert [p.name for p in paths] == ["cmp_pairplot.png", "cmp_marginals.png", "cmp_correlation.png"]
    assert _files(tmp_path) == sorted(p.name for p in paths)  # `out` itself is not written
    for p in paths:
        assert mpimg.imread(p).shape[0] > 100


def test_plot_tables_single_kind_writes_out_itself(iris, noisy, tmp_path):
    out = tmp_path / "only.png"
    assert plot.plot_tables(iris, noisy, out, kind="marginals") == [out]
    assert _files(tmp_path) == ["only.png"]
    with pytest.raises(PlotError, match="unknown plot kind 'heatmap'"):
        plot.plot_tables(iris, noisy, out, kind="heatmap")


def test_plot_tables_picks_default_hue(iris, noisy, tmp_path, monkeypatch):
    seen = {}

    def spy(real, synth, out, hue=None, **kw):
        seen["hue"] = hue
        return out

    monkeypatch.setattr(plot, "pairplot_side_by_side", spy)
    plot.plot_tables(iris, noisy, tmp_path / "a.png")
    assert seen["hue"] == "target"
    plot.plot_tables(iris, noisy, tmp_path / "b.png", hue="none")
    assert seen["hue"] is None


def test_marginals_have_no_figure_title_unless_asked(iris):
    """Bug: the last panel's title leaked into the figure title (a shadowed variable)."""
    import matplotlib.pyplot as plt

    fig = plot._build_marginals(iris, iris)
    try:
        assert fig._suptitle is None
    finally:
        plt.close(fig)
    fig = plot._build_marginals(iris, iris, title="posterior")
    try:
        assert fig._suptitle.get_text() == "posterior"
    finally:
        plt.close(fig)


def test_a_titled_marginals_figure_keeps_its_legend_off_the_title(iris):
    """Bug (tabdiff infer --plot): the legend, placed outside at the top, was drawn over the figure title."""
    import matplotlib.pyplot as plt

    fig = plot._build_marginals(iris[["petal length (cm)"]], iris[["petal length (cm)"]], title="given target=setosa",
                                labels=("model, unconditional", "model, given the condition"))
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legend = fig.legends[0].get_window_extent(renderer)
        title = fig._suptitle.get_window_extent(renderer)
        assert not legend.overlaps(title)
    finally:
        plt.close(fig)
