"""The packaged configs and the rules that size the default model to a table (config.resolve_auto)."""

from __future__ import annotations

import pytest

from tabdiff_cli.config import AUTO, Config, load_config, resolve_auto, resolve_spike_share
from tabdiff_cli.errors import UserError


@pytest.mark.parametrize("n_rows, n_features, hidden, steps, lr", [
    (150, 7, 64, 300, 5e-3),      # Iris: 30 steps per encoded feature, at least 300
    (178, 16, 64, 480, 5e-3),     # Wine
    (900, 40, 128, 500, 5e-3),    # capped at 500 for small tables
    (150, None, 64, 500, 5e-3),   # width unknown: the wide-table count
    (32_561, 125, 256, 6_400, 2e-3),  # Adult: 200 epochs of 1,024-row batches
    (2_000_000, 50, 256, 8_000, 2e-3),  # capped at 8,000 steps
])
def test_auto_sizes(n_rows, n_features, hidden, steps, lr):
    cfg = load_config(None)
    assert cfg.training.steps == AUTO and cfg.model.hidden_dim == AUTO
    out = resolve_auto(cfg, n_rows, n_features)
    assert out.model.hidden_dim == hidden
    assert out.training.steps == steps
    assert out.training.lr == lr
    assert out.training.batch_size == min(n_rows, 1024)
    assert out.sampling.steps == (50 if n_rows <= 1024 else 200)
    assert out.model.conditional is (n_rows > 1024)
    assert cfg.training.steps == AUTO  # the input config is not modified


@pytest.mark.parametrize("n_rows, numeric_share, expected", [
    (32_561, 5 / 15, "lognormal"),  # Adult: mostly categories
    (30_000, 14 / 24, "uniform"),   # Default of credit card clients: mostly numbers
    (30_000, 0.5, "lognormal"),     # the boundary counts as mostly categories
    (30_000, None, "uniform"),      # share unknown: the seed's draw
    (150, 0.0, "uniform"),          # a small table keeps the seed's draw whatever its columns
])
def test_auto_time_sampling(n_rows, numeric_share, expected):
    cfg = load_config(None)
    assert cfg.training.time_sampling == AUTO  # the default decides per table
    out = resolve_auto(cfg, n_rows, 100, numeric_share)
    assert out.training.time_sampling == expected
    assert resolve_auto(load_config("configs/iris.yaml"), n_rows, 7, numeric_share).training.time_sampling == "uniform"


@pytest.mark.parametrize("n_rows, spike_share, calibration_rows", [
    (32_561, 0.05, 8192),  # Adult: spike levels for 40 hours a week and a capital gain of 0; levels calibrated
    (1_025, 0.05, 8192),
    (1_024, 0.0, 0),       # small tables keep their numbers whole and skip the calibration
    (150, 0.0, 0),
])
def test_auto_spike_share_and_calibration_rows(n_rows, spike_share, calibration_rows):
    cfg = load_config(None)
    assert cfg.data.spike_share == AUTO and cfg.training.calibration_rows == AUTO
    assert resolve_spike_share(cfg.data.spike_share, n_rows) == spike_share
    assert resolve_auto(cfg, n_rows, 100, 0.3).training.calibration_rows == calibration_rows
    seed = load_config("configs/iris.yaml")  # the seed's recipe: neither
    assert resolve_spike_share(seed.data.spike_share, n_rows) == 0.0
    assert resolve_auto(seed, n_rows, 7).training.calibration_rows == 0
    eps = load_config(None)
    eps.model.prediction = "eps"  # no logits to calibrate
    assert resolve_auto(eps, n_rows, 100).training.calibration_rows == 0


@pytest.mark.parametrize("section, key, value", [("data", "spike_share", 1.5), ("data", "spike_share", "some"),
                                                 ("training", "calibration_rows", -1),
                                                 ("training", "calibration_rows", "many")])
def test_bad_spike_share_or_calibration_rows_is_a_user_error(section, key, value):
    cfg = load_config(None)
    setattr(getattr(cfg, section), key, value)
    with pytest.raises(UserError, match=key):
        resolve_spike_share(cfg.data.spike_share, 5000)
        resolve_auto(cfg, 5000, 100)


def test_explicit_values_are_kept():
    cfg = load_config(None)
    cfg.training.steps, cfg.model.hidden_dim = 77, 32
    out = resolve_auto(cfg, 150, 7)
    assert (out.training.steps, out.model.hidden_dim) == (77, 32)


def test_seed_config_is_the_blog_recipe():
    cfg = load_config("configs/iris.yaml")
    assert (cfg.training.epochs, cfg.training.lr, cfg.sampling.steps) == (5000, 3e-4, 1000)
    assert cfg.model.prediction == "eps" and cfg.data.numeric_transform == "standard"


def test_unknown_config_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_conditional_setting_is_checked():
    cfg = load_config(None)
    cfg.model.conditional = "sometimes"
    with pytest.raises(UserError, match="model.conditional must be true, false or auto"):
        resolve_auto(cfg, 150, 7)
    cfg.model.conditional = False
    assert resolve_auto(cfg, 50_000, 7).model.conditional is False  # an explicit choice is kept
    assert load_config("configs/iris.yaml").model.conditional is False  # the seed's network


@pytest.mark.parametrize("raw, match", [
    ({"training": {"condition_share": "half"}}, "training.condition_share must be a number; got 'half'"),
    ({"training": {"condition_share": None}}, "training.condition_share must be a number; got null"),  # YAML's word
    ({"schedule": {"gain": "x"}}, "schedule.gain must be a number"),
    ({"training": {"epochs": 1.5}}, "training.epochs must be a whole number"),
    ({"training": {"lr": True}}, "training.lr must be a number or 'auto'; got true"),
    ({"data": {"columns": ["a"]}}, "data.columns must be a mapping"),
])
def test_config_values_of_the_wrong_type_are_clear_errors(raw, match):
    with pytest.raises(UserError, match=match.replace("(", r"\(").replace(")", r"\)")):
        Config.from_dict(raw, source="my.yaml")


def test_config_accepts_ints_for_floats_and_null_where_allowed():
    cfg = Config.from_dict({"training": {"lr": 1, "max_time": None, "batch_size": 64}, "model": {"hidden_dim": 32}})
    assert (cfg.training.lr, cfg.training.max_time, cfg.model.hidden_dim) == (1, None, 32)


def test_fit_resolves_time_sampling_from_the_tables_columns():
    """The synthesizer passes the encoder's numeric share: 1 number of 3 units → log-normal, 2 of 3 → uniform."""
    import numpy as np
    import pandas as pd

    from tabdiff_cli.config import with_overrides
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    rng = np.random.default_rng(0)
    n = 1_100
    cats = pd.DataFrame({"a": rng.choice(["p", "q", "r"], n), "b": rng.choice(["u", "v"], n),
                         "x": rng.normal(size=n)})
    nums = cats.assign(b=rng.normal(size=n))
    cfg = with_overrides(load_config(None), training__steps=2, training__batch_size=64)
    assert DiffusionSynthesizer(cfg).fit(cats, seed=0).config.training.time_sampling == "lognormal"
    assert DiffusionSynthesizer(cfg).fit(nums, seed=0).config.training.time_sampling == "uniform"


@pytest.mark.parametrize("raw, match", [
    ({"training": {"noise_draws": "abc"}}, r"training.noise_draws must be a number or 'auto'; got 'abc'"),
    ({"training": {"steps": 0}}, r"training.steps must be at least 1; got 0"),  # fell back to 5,000 epochs
    ({"training": {"noise_draws": -3}}, r"training.noise_draws must be at least 1"),
    ({"training": {"batch_size": 0}}, r"training.batch_size must be at least 1"),
    ({"training": {"warmup_steps": -5}}, r"training.warmup_steps must be at least 0"),
    ({"training": {"ema_decay": 5}}, r"training.ema_decay must lie in \[0, 1\)"),
    ({"model": {"hidden_dim": -4}}, r"model.hidden_dim must be at least 1"),
    ({"model": {"time_dim": 0}}, r"model.time_dim must be at least 4"),
    ({"model": {"time_dim": 7}}, r"model.time_dim must be even"),
    ({"model": {"dropout": 1.0}}, r"model.dropout must lie in \[0, 1\)"),  # would zero every hidden unit
    ({"model": {"dropout": -0.1}}, r"model.dropout must lie in \[0, 1\)"),
    ({"sampling": {"sampler": "bogus"}}, r"sampling.sampler must be one of ancestral, ddim, dpmpp2m"),
    ({"sampling": {"steps": 0}}, r"sampling.steps must be at least 1"),
])
def test_out_of_range_settings_are_refused_when_the_config_is_read(raw, match):
    """Bugs: these were accepted (steps 0 trained 5,000 epochs; a bogus sampler failed only at sample time)
    or raised a traceback in the middle of fit (noise_draws 'abc', hidden_dim -4, time_dim 0)."""
    with pytest.raises(UserError, match=match):
        Config.from_dict(raw, source="x.yaml")
    for name in ("default", "iris", "inverse"):  # the packaged configs pass
        load_config(f"configs/{name}.yaml")


def test_exponent_numbers_without_a_dot_are_numbers_and_a_folder_is_no_config(tmp_path):
    """Helper report: YAML 1.1 needs a dot in a float, so `lr: 1e-3` was read as the string '1e-3' and
    refused as "not a number"; a folder given as the config raised IsADirectoryError (a traceback)."""
    path = tmp_path / "exp.yaml"
    path.write_text("training:\n  lr: 1e-3\n  steps: 20\nmodel:\n  dropout: 2E-1\nschedule:\n  gain: -6e+0\n")
    cfg = load_config(path)
    assert (cfg.training.lr, cfg.model.dropout, cfg.schedule.gain) == (0.001, 0.2, -6.0)
    assert cfg.training.steps == 20
    import yaml

    assert yaml.safe_load("a: 1e-3") == {"a": "1e-3"}  # PyYAML's own loader is left as it is
    with pytest.raises(UserError, match="is a folder, not a config file"):
        load_config(tmp_path)
