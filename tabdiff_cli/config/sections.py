"""The recipe of a run as a tree of dataclasses, with its type and range checks and its YAML reader.

The dataclass defaults ARE the packaged default recipe (`presets/default.yaml` says the same, and a test
holds the two equal): `Config()` is what `tabdiff fit my.csv` and `DiffusionSynthesizer()` train. A value
"auto" is decided per table by `config.auto`; docs/configuration.md lists every key.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from tabdiff_cli.errors import UserError

AUTO = "auto"
DEFAULT_NA_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "?")
NUMERIC_TRANSFORMS = ("quantile", "standard")
PREDICTIONS = ("eps", "mixed")
TIME_SAMPLING = ("uniform", "lognormal")
LR_SCHEDULES = ("constant", "cosine")
SAMPLER_NAMES = ("ancestral", "ddim", "dpmpp2m")  # diffusion.samplers.SAMPLERS has one class per name
TIME_GRIDS = ("uniform", "logsnr", "edm")  # diffusion.sampling.time_grid
SCHEDULES = ("sigmoid",)


@dataclass
class DataConfig:
    """How the table is read and encoded (table/encoder.py).

    numeric_transform: "quantile" (a quantile transform to a standard normal, as TabDDPM and TabSyn) or
        "standard" (mean and standard deviation over every encoded coordinate, one-hot included: the blog recipe).
    categorical_threshold: an integer column with at most this many distinct values is categorical; 0: off.
    max_categories: levels past the most frequent `max_categories` share one "rare" slot (decoded by drawing a
        rare level with its training frequency), so a column's width stays bounded.
    discrete_integers: integer columns with at most this many distinct values (and at least ten rows a value)
        are one-hot encoded and written back as integers; 0: off.
    spike_share: a number held by at least this share of a numeric column's rows gets a one-hot level of its
        own beside the column's coordinate, decoded exactly; 0: off; "auto": config.auto.spike_share.
    clusters: a numeric column whose values fall into ranges separated by wide gaps gets a one-hot cluster
        level beside its coordinate and is scaled within its cluster, so the gaps survive (table/encoder.py).
    columns: per-column kind overrides {name: kind}; ids: identifier columns (regenerated); drop: left out.
    na_values: cell texts read as missing.
    fit_max_rows: the numeric scalers are fitted on at most this many rows drawn at random (seeded); levels
        and frequencies still come from every row. None: all rows.
    """

    numeric_transform: str = "quantile"
    categorical_threshold: int = 0
    max_categories: int = 500
    discrete_integers: int = 16
    spike_share: float | str = AUTO
    clusters: bool = True
    columns: dict[str, str] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    na_values: list[str] = field(default_factory=lambda: list(DEFAULT_NA_VALUES))
    fit_max_rows: int | None = 1_000_000


@dataclass
class ScheduleConfig:
    """Continuous-time variance-preserving noise schedule (diffusion/schedule.py): alpha_bar(t) = 1 − beta_bar(t),
    beta_bar rescaled from sigmoid(gain·((2t − 1) + shift)) so that beta_bar(0) = 0 and beta_bar(1) = stop."""

    kind: str = "sigmoid"
    gain: float = 6.0
    shift: float = 0.5
    stop: float = 0.99996


@dataclass
class ModelConfig:
    """The denoiser MLP (diffusion/network.py) and what it predicts (diffusion/parameterization.py).

    prediction: "eps" (epsilon prediction on every coordinate) or "mixed" (eps for numbers, per-column softmax
        and cross-entropy for one-hot blocks).
    conditional: masked conditioning: the network also reads which coordinates are given clean and learns
        every conditional p(unknown | known); "auto": config.auto.
    hidden_dim, n_blocks: width (units) and residual blocks ("auto": by table size); time_dim: the sinusoidal
        time embedding's width (even).
    dropout: probability in [0, 1) of dropping a hidden unit in each residual block while training ("auto":
        config.auto.dropout, by table size).
    """

    prediction: str = "mixed"
    conditional: bool | str = AUTO
    hidden_dim: int | str = AUTO
    time_dim: int = 64
    n_blocks: int | str = AUTO
    dropout: float | str = AUTO


@dataclass
class TrainingConfig:
    """Optimisation (engine/training.py).

    steps: optimizer steps ("auto": by table size, unless epochs is set); epochs: passes over the table,
        used when steps is None or "auto". batch_size: rows per step; None: the whole table.
    lr, weight_decay: AdamW; lr_schedule "constant" or "cosine" (decay to lr·min_lr_ratio after warmup_steps).
    ema_decay: exponential moving average of the weights sampled with; None: off.
    noise_draws: independent (t, eps) draws per row and step.
    max_time: wall-clock budget in seconds (training and the level calibration); None: none.
    condition_share: with model.conditional, the share of training rows given a random known set.
    time_sampling: "uniform" t, or "lognormal" noise levels (EDM) for the unconditional rows.
    calibration_rows: rows generated after training to calibrate the categorical level frequencies; 0: off.
    threads: CPU threads for torch; None: config.auto.cpu_threads. seed: None draws one. device: auto|cpu|cuda.
    """

    steps: int | str | None = AUTO
    epochs: int | None = None
    batch_size: int | str | None = AUTO
    lr: float | str = AUTO
    weight_decay: float = 0.01
    lr_schedule: str = "cosine"
    warmup_steps: int = 20
    min_lr_ratio: float = 0.0
    ema_decay: float | None = 0.99
    noise_draws: int | str = AUTO
    max_time: float | None = None
    condition_share: float = 0.5
    time_sampling: str = AUTO
    calibration_rows: int | str = AUTO
    threads: int | None = None
    seed: int | None = None
    device: str = AUTO


@dataclass
class SamplingConfig:
    """The reverse process (diffusion/sampling.py): sampler name, steps, rows per network call.

    eta: DDIM's stochasticity. guidance: reconstruction-guidance weight when an inpainting model conditions.
    resample: RePaint re-noising rounds per step when an inpainting model conditions.
    grid: the times visited: "uniform" in t, "logsnr" (equal log-SNR steps) or "edm" (Karras et al.'s rho = 7).
    draw_levels: each step moves a categorical block towards a level drawn from its probabilities rather
        than towards their mean (mixed prediction; diffusion/samplers.py).
    """

    sampler: str = "ancestral"
    steps: int | str = AUTO
    eta: float = 0.0
    batch_size: int | str = AUTO
    guidance: float = 3.0
    resample: int = 2
    grid: str = "uniform"
    draw_levels: bool = False


SECTIONS = {"data": DataConfig, "schedule": ScheduleConfig, "model": ModelConfig, "training": TrainingConfig,
            "sampling": SamplingConfig}


@dataclass
class Config:
    """The whole recipe, stored (resolved, with no "auto" left) in every checkpoint."""

    data: DataConfig = field(default_factory=DataConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON/YAML-serialisable)."""
        return dataclasses.asdict(self)

    def copy(self) -> Config:
        """An independent copy (lists and dicts included)."""
        return copy.deepcopy(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None, source: str = "config") -> Config:
        """Build from a nested dict; missing keys take the defaults (the default recipe).

        Errors: UserError naming `source` and the key for an unknown section or key, a value of the wrong
        type, or a value out of range.
        """
        raw = dict(raw or {})
        unknown = set(raw) - set(SECTIONS)
        if unknown:
            raise UserError(f"{source}: unknown section(s) {sorted(unknown)}; known: {sorted(SECTIONS)}")
        kwargs = {}
        for name, section_cls in SECTIONS.items():
            values = raw.get(name) or {}
            if not isinstance(values, dict):
                raise UserError(f"{source}: section '{name}' must be a mapping")
            known = {f.name for f in dataclasses.fields(section_cls)}
            bad = set(values) - known
            if bad:
                raise UserError(f"{source}: unknown key(s) {sorted(bad)} in '{name}'; known: {sorted(known)}")
            section = section_cls(**copy.deepcopy(values))
            _check_types(section, f"{source}: {name}")
            kwargs[name] = section
        cfg = cls(**kwargs)
        _check_ranges(cfg, source)
        return cfg


# The defaults before the dataclass defaults became the default recipe. A checkpoint stores its whole resolved
# config, so a key it lacks was added after it was written; it takes the value that reproduces what that
# checkpoint's code did. A new key adds its legacy value here.
LEGACY_DEFAULTS: dict[str, dict[str, Any]] = {
    "data": {"discrete_integers": 0, "spike_share": 0.0, "clusters": False},
    "model": {"prediction": "eps", "conditional": False, "hidden_dim": 64, "n_blocks": 3, "dropout": 0.0},
    "training": {"epochs": 5000, "steps": None, "batch_size": None, "lr": 3e-4, "lr_schedule": "constant",
                 "warmup_steps": 0, "ema_decay": None, "noise_draws": 1, "time_sampling": "uniform",
                 "calibration_rows": 0},
    "sampling": {"steps": 1000, "resample": 2, "grid": "uniform", "draw_levels": False},
}


def config_from_checkpoint(raw: dict[str, Any], source: str) -> Config:
    """The Config a checkpoint's header holds; keys it lacks take LEGACY_DEFAULTS. Errors: UserError."""
    merged = {name: {**LEGACY_DEFAULTS.get(name, {}), **(raw.get(name) or {})} for name in SECTIONS}
    merged.update({k: v for k, v in raw.items() if k not in SECTIONS})  # unknown sections are refused
    return Config.from_dict(merged, source=source)


# (section, key) → the least value a count may take; None and "auto" (where the key takes them) pass
_MINIMUM = {("training", "epochs"): 1, ("training", "steps"): 1, ("training", "batch_size"): 1,
            ("training", "noise_draws"): 1, ("training", "warmup_steps"): 0, ("training", "calibration_rows"): 0,
            ("model", "hidden_dim"): 1, ("model", "n_blocks"): 1, ("model", "time_dim"): 4,
            ("sampling", "steps"): 1, ("sampling", "batch_size"): 1, ("sampling", "resample"): 0,
            ("data", "categorical_threshold"): 0, ("data", "discrete_integers"): 0, ("data", "max_categories"): 2,
            ("data", "fit_max_rows"): 2, ("training", "threads"): 1}
# (section, key) → (whether 1 itself is allowed) for a share or rate in [0, 1] or [0, 1)
_SHARE = {("training", "ema_decay"): False, ("training", "min_lr_ratio"): True,
          ("training", "condition_share"): True, ("model", "dropout"): False, ("data", "spike_share"): False}
# (section, key) → the names a string setting may take ("auto" too where the field's default is "auto")
_NAMES = {("data", "numeric_transform"): NUMERIC_TRANSFORMS, ("model", "prediction"): PREDICTIONS,
          ("training", "time_sampling"): TIME_SAMPLING, ("training", "lr_schedule"): LR_SCHEDULES,
          ("sampling", "sampler"): SAMPLER_NAMES, ("schedule", "kind"): SCHEDULES, ("sampling", "grid"): TIME_GRIDS}


def _check_ranges(cfg: Config, source: str) -> None:
    """UserError naming the setting for a value of the right type but out of range: a count below its minimum,
    a string other than "auto" where a number belongs, a share outside its interval, an odd time_dim, a name
    that is not one of the setting's names."""
    for section_name, section_cls in SECTIONS.items():
        section = getattr(cfg, section_name)
        hints = typing.get_type_hints(section_cls)
        for f in dataclasses.fields(section):
            value, where = getattr(section, f.name), f"{source}: {section_name}.{f.name}"
            names = _NAMES.get((section_name, f.name))
            if names is not None:
                allowed = (*names, AUTO) if f.default == AUTO else names
                if value not in allowed:
                    raise UserError(f"{where} must be one of {', '.join(allowed)}; got {value!r}")
                continue
            numeric = any(a in (int, float) for a in typing.get_args(hints[f.name]))
            if isinstance(value, str) and numeric and value != AUTO:
                raise UserError(f"{where} must be a number or 'auto'; got {value!r}")
            if value is None or isinstance(value, (str, bool)):
                continue
            least = _MINIMUM.get((section_name, f.name))
            if least is not None and value < least:
                raise UserError(f"{where} must be at least {least}; got {value!r}")
            one_allowed = _SHARE.get((section_name, f.name))
            if one_allowed is not None and not (0.0 <= value <= 1.0 if one_allowed else 0.0 <= value < 1.0):
                raise UserError(f"{where} must lie in [0, 1{']' if one_allowed else ')'}; got {value!r}")
    if cfg.model.time_dim % 2:
        raise UserError(f"{source}: model.time_dim must be even (sine and cosine pairs); got {cfg.model.time_dim}")
    if not 0.0 < cfg.schedule.stop < 1.0:
        raise UserError(f"{source}: schedule.stop must lie in (0, 1); got {cfg.schedule.stop}")
    t = cfg.training
    if t.lr != AUTO and not float(t.lr) > 0:
        raise UserError(f"{source}: training.lr must be positive; got {t.lr}")
    if float(t.weight_decay) < 0:
        raise UserError(f"{source}: training.weight_decay must not be negative; got {t.weight_decay}")
    if t.max_time is not None and not float(t.max_time) > 0:
        raise UserError(f"{source}: training.max_time must be positive seconds or null; got {t.max_time}")


def _check_types(section: Any, where: str) -> None:
    """UserError for a value whose type the field does not take (a string where a number belongs, …);
    an int is accepted where a float is, a bool never counts as a number."""
    hints = typing.get_type_hints(type(section))
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        hint = hints[f.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        allowed = tuple(typing.get_origin(a) or a for a in (typing.get_args(hint) if union else (hint,)))
        if value is None and type(None) in allowed:
            continue
        if isinstance(value, bool):
            ok = bool in allowed
        elif isinstance(value, (int, float)):
            ok = float in allowed or (int in allowed and isinstance(value, int))
        else:
            ok = isinstance(value, tuple(a for a in allowed if isinstance(a, type)))
        if not ok:
            numeric = int in allowed or float in allowed  # a string beside a number is only ever "auto"
            words = {float: "a number", int: "a whole number", bool: "true or false",
                     str: "'auto'" if numeric else "a name", dict: "a mapping", list: "a list", type(None): "null"}
            names = " or ".join(dict.fromkeys(words.get(a, str(a)) for a in allowed))
            got = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
            raise UserError(f"{where}.{f.name} must be {names}; got {got}")


PRESETS = ("default", "iris", "inverse")


def preset_path(name: str) -> Path:
    """Path of a config shipped with the package: default, iris (the blog recipe) or inverse."""
    return Path(str(resources.files("tabdiff_cli.config") / "presets" / f"{name}.yaml"))


class _ConfigLoader(yaml.SafeLoader):
    """yaml.SafeLoader that also reads 1e-3 and 2E5 as numbers: YAML 1.1, which PyYAML follows, wants a
    dot in a float, so `lr: 1e-3` came back as the string '1e-3' and was refused as "not a number"."""


_ConfigLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def load_config(path: str | Path | None) -> Config:
    """Read a YAML config; keys it omits take the defaults (the default recipe). None: the default recipe.
    A missing `configs/NAME.yaml` (run outside the repository) is read from the presets shipped in the package.

    Errors: UserError naming the file for a missing file, a folder, invalid YAML, unknown keys or bad values.
    """
    if path is None:
        return Config()
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{path} is a folder, not a config file")
    if not p.exists():
        shipped = preset_path(p.stem) if p.suffix in ("", ".yaml", ".yml") else None
        if shipped is not None and shipped.exists() and p.parent == Path("configs"):
            p = shipped
        else:
            raise UserError(f"config file not found: {path}")
    try:
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=_ConfigLoader)
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if raw is not None and not isinstance(raw, dict):
        raise UserError(f"{path}: a config must be a mapping of sections")
    return Config.from_dict(raw, source=str(path))


def with_overrides(cfg: Config, **flat: Any) -> Config:
    """A copy with `section__key=value` overrides applied (None values are ignored), checked like a file.
    Errors: UserError for a value of the wrong type or out of range."""
    raw = cfg.to_dict()
    for key, value in flat.items():
        if value is None:
            continue
        section, name = key.split("__", 1)
        raw[section][name] = value
    return Config.from_dict(raw, source="options")
