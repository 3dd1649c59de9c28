"""The recipe's dataclasses, the packaged presets, and the rules behind "auto" (config/auto.py)."""

from __future__ import annotations

import pytest

from tabdiff_cli.config import AUTO, Config, load_config
from tabdiff_cli.config.auto import for_layout as resolve_auto
from tabdiff_cli.config.auto import spike_share as resolve_spike_share
from tabdiff_cli.errors import UserError


@pytest.mark.parametrize("n_rows, hidden, steps, lr, dropout", [
    (150, 64, 800, 5e-3, 0.2),      # Iris: a small table's conditional network, with dropout
    (178, 64, 800, 5e-3, 0.2),      # Wine
    (900, 128, 800, 5e-3, 0.2),
    (32_561, 256, 6_400, 2e-3, 0.0),  # Adult: 200 epochs of 1,024-row batches
    (2_000_000, 256, 8_000, 2e-3, 0.0),  # capped at 8,000 steps
])
def test_auto_sizes(n_rows, hidden, steps, lr, dropout):
    cfg = load_config(None)
    assert cfg.training.steps == AUTO and cfg.model.hidden_dim == AUTO
    out = resolve_auto(cfg, n_rows)
    assert out.model.hidden_dim == hidden
    assert out.training.steps == steps
    assert out.training.lr == lr
    assert out.training.batch_size == min(n_rows, 1024)
    assert out.sampling.steps == (50 if n_rows <= 1024 else 200)
    assert out.model.conditional is True  # one network for every conditional, at every size
    assert out.model.dropout == dropout
    assert cfg.training.steps == AUTO  # the input config is not modified


@pytest.mark.parametrize("n_rows, numeric_share, expected", [
    (32_561, 5 / 15, "lognormal"),  # Adult: mostly categories
    (30_000, 14 / 24, "uniform"),   # Default of credit card clients: mostly numbers
    (30_000, 0.5, "lognormal"),     # the boundary counts as mostly categories
    (30_000, None, "uniform"),      # share unknown: the blog recipe's draw
    (150, 0.0, "uniform"),          # a small table keeps the blog recipe's draw whatever its columns
])
def test_auto_time_sampling(n_rows, numeric_share, expected):
    cfg = load_config(None)
    assert cfg.training.time_sampling == AUTO  # the default decides per table
    out = resolve_auto(cfg, n_rows, numeric_share=numeric_share)
    assert out.training.time_sampling == expected
    blog = resolve_auto(load_config("configs/iris.yaml"), n_rows, numeric_share=numeric_share)
    assert blog.training.time_sampling == "uniform"


@pytest.mark.parametrize("n_rows, spike_share, calibration_rows", [
    (32_561, 0.05, 8192),  # Adult: spike levels for 40 hours a week and a capital gain of 0; levels calibrated
    (1_025, 0.05, 7168),   # 1,000 training steps: the calibration capped at half their network evaluations
    (1_024, 0.0, 0),       # small tables keep their numbers whole and skip the calibration
    (150, 0.0, 0),
])
def test_auto_spike_share_and_calibration_rows(n_rows, spike_share, calibration_rows):
    cfg = load_config(None)
    assert cfg.data.spike_share == AUTO and cfg.training.calibration_rows == AUTO
    assert resolve_spike_share(cfg.data.spike_share, n_rows) == spike_share
    assert resolve_auto(cfg, n_rows, numeric_share=0.3).training.calibration_rows == calibration_rows
    blog = load_config("configs/iris.yaml")  # the blog recipe: neither
    assert resolve_spike_share(blog.data.spike_share, n_rows) == 0.0
    assert resolve_auto(blog, n_rows).training.calibration_rows == 0
    eps = load_config(None)
    eps.model.prediction = "eps"  # no logits to calibrate
    assert resolve_auto(eps, n_rows).training.calibration_rows == 0


@pytest.mark.parametrize("section, key, value", [("data", "spike_share", 1.5), ("data", "spike_share", "some"),
                                                 ("training", "calibration_rows", -1),
                                                 ("training", "calibration_rows", "many")])
def test_bad_spike_share_or_calibration_rows_is_a_user_error(section, key, value):
    raw = {section: {key: value}}
    with pytest.raises(UserError, match=key):
        Config.from_dict(raw)


def test_explicit_values_are_kept():
    cfg = load_config(None)
    cfg.training.steps, cfg.model.hidden_dim = 77, 32
    out = resolve_auto(cfg, 150)
    assert (out.training.steps, out.model.hidden_dim) == (77, 32)


def test_iris_preset_is_the_blog_recipe():
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
        resolve_auto(cfg, 150)
    cfg.model.conditional = False
    assert resolve_auto(cfg, 50_000).model.conditional is False  # an explicit choice is kept
    assert load_config("configs/iris.yaml").model.conditional is False  # the blog recipe's network


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
    ({"model": {"prediction": "x0"}}, r"model.prediction must be one of eps, mixed"),
    ({"training": {"time_sampling": "beta"}}, r"training.time_sampling must be one of uniform, lognormal, auto"),
    ({"sampling": {"resample": -1}}, r"sampling.resample must be at least 0"),
    ({"sampling": {"steps": 0}}, r"sampling.steps must be at least 1"),
])
def test_out_of_range_settings_are_refused_when_the_config_is_read(raw, match):
    """Bugs: these were accepted (steps 0 trained 5,000 epochs; a bogus sampler failed only at sample time)
    or raised a traceback in the middle of fit (noise_draws 'abc', hidden_dim -4, time_dim 0)."""
    with pytest.raises(UserError, match=match):
        Config.from_dict(raw, source="x.yaml")
    for name in ("default", "iris"):  # the packaged configs pass
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


def test_the_dataclass_defaults_are_the_default_recipe():
    """One default: DiffusionSynthesizer() trains Config(), which is configs/default.yaml, key for key."""
    from tabdiff_cli.synthesizer import DiffusionSynthesizer

    assert Config() == load_config("configs/default.yaml") == load_config(None)
    assert DiffusionSynthesizer().config == load_config("configs/default.yaml")


def test_the_blog_recipe_is_spelled_out_whole():
    """configs/iris.yaml names every setting that differs from the default recipe: reading it does not
    depend on what the defaults happen to be."""
    import yaml

    from tabdiff_cli.config import preset_path

    raw = yaml.safe_load(preset_path("iris").read_text())
    default = Config().to_dict()
    blog = load_config("configs/iris.yaml").to_dict()
    differing = {(s, k) for s in default for k in default[s] if default[s][k] != blog[s][k]}
    assert differing <= {(s, k) for s in raw for k in raw[s]}
    assert blog["training"]["epochs"] == 5000 and blog["training"]["steps"] is None


def test_yaml_epochs_are_honoured_over_auto_steps():
    """A config that sets epochs and leaves steps "auto" trains for those epochs (the auto rule applies only
    when neither is set); an explicit steps count still wins."""
    cfg = Config.from_dict({"training": {"epochs": 3}})
    assert resolve_auto(cfg, 5000).training.steps is None
    from tabdiff_cli.config.auto import total_steps

    t = resolve_auto(cfg, 5000).training
    assert total_steps(5000, t.steps, t.epochs, t.batch_size) == (3 * 5, 1024)
    both = Config.from_dict({"training": {"epochs": 3, "steps": 7}})
    assert resolve_auto(both, 5000).training.steps == 7


def test_a_checkpoint_config_without_a_newer_key_takes_its_legacy_value():
    from tabdiff_cli.config import config_from_checkpoint

    old = Config().to_dict()
    del old["sampling"]["resample"], old["model"]["dropout"]
    cfg = config_from_checkpoint(old, "old.ckpt")
    assert cfg.sampling.resample == 2 and cfg.model.dropout == 0.0
    assert config_from_checkpoint(Config().to_dict(), "new.ckpt") == Config()


def test_loading_a_config_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from tabdiff_cli.config import load_config; load_config('configs/iris.yaml'); "
            "from tabdiff_cli.config import auto; auto.for_layout(load_config(None), 150); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
