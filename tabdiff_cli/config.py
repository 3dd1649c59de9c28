"""Settings for data handling, the noise schedule, the network, training and sampling.

A config is a tree of dataclasses, read from YAML (`load_config`) and overridden by CLI flags
(`with_overrides`). `configs/iris.yaml` holds the seed's exact recipe; `configs/default.yaml` the
fast default for general tables. Both ship inside the package so `tabdiff fit` works from any folder.
"""

from __future__ import annotations

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


@dataclass
class DataConfig:
    """How the table is read and encoded.

    numeric_transform: "quantile" (scikit-learn QuantileTransformer to a normal, as TabDDPM/TabSyn)
        or "standard" (StandardScaler over every encoded coordinate, one-hot included: the seed).
    categorical_threshold: an integer column with at most this many distinct values that look like
        codes (0/1, 1..k) is modelled as categorical; 0 turns the rule off.
    max_categories: levels beyond the most frequent `max_categories` share one "rare" slot, decoded by
        drawing a rare level with its training frequency, so memory stays bounded.
    discrete_integers: integer columns with at most this many distinct values (and at most one per ten
        rows) are one-hot encoded
        (learned like categories, written back as integers); 0 = off (the seed).
    spike_share: a number held by at least this share of a numeric column's rows (40 hours a week in
        Adult) gets a level of its own in a one-hot spike block beside the column's coordinate, learned by
        cross-entropy and decoded exactly (TableEncoder); 0 = off (the seed); "auto": `resolve_spike_share`.
    columns: per-column kind overrides, {name: kind}; ids / drop: identifier columns to regenerate / leave out.
    na_values: cell texts read as missing.
    fit_max_rows: the encoder's scalers (quantiles, means) are fitted on at most this many rows drawn at
        random (seeded); category levels, missing indicators and one-hot frequencies still come from every
        row. None = all rows.
    """

    numeric_transform: str = "quantile"
    categorical_threshold: int = 0
    max_categories: int = 500
    discrete_integers: int = 0
    spike_share: float | str = 0.0
    columns: dict[str, str] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    na_values: list[str] = field(default_factory=lambda: ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"])
    fit_max_rows: int | None = 1_000_000


@dataclass
class ScheduleConfig:
    """Continuous-time variance-preserving noise schedule (the seed's sigmoid by default).

    alpha_bar(t) = 1 − beta_bar(t), beta_bar rescaled from sigmoid(gain·((2t − 1) + shift)) so that
    beta_bar(0) = 0 and beta_bar(1) = stop.
    """

    kind: str = "sigmoid"
    gain: float = 6.0
    shift: float = 0.5
    stop: float = 0.99996


@dataclass
class ModelConfig:
    """Denoiser MLP (the seed's network): widths in units, n_blocks residual blocks.

    prediction: "eps" (the seed: epsilon prediction on every coordinate) or "mixed" (eps for numbers,
    softmax/cross-entropy for one-hot blocks; diffusion/parameterization.py).
    conditional: masked conditioning (parameterization.py): the network also reads which coordinates are
        given clean, and is trained on random known subsets, so conditioning and imputation feed the given
        values directly instead of inpainting them (False: the seed; "auto": resolve_auto).
    dropout: probability in [0, 1) of dropping a hidden unit in each residual block while training
        (network.ResBlock; 0: the seed). A small table's network memorizes its rows without it: Wine's
        imputation RMSE with configs/inverse.yaml fell from 0.73/0.71 to 0.68/0.67 at 0.2 (seeds 0/1).
    """

    prediction: str = "eps"
    conditional: bool | str = False
    hidden_dim: int | str = 64
    time_dim: int = 64
    n_blocks: int | str = 3
    dropout: float = 0.0


@dataclass
class TrainingConfig:
    """Optimisation settings ("auto" values are resolved per table by `resolve_auto`).

    epochs: passes over the table (the seed: 5000, full batch). steps, when set, overrides epochs with a
    count of optimizer steps. batch_size: rows per step; None = the whole table (the seed).
    lr_schedule: "constant" (the seed) or "cosine" (decay to lr·min_lr_ratio after warmup_steps).
    ema_decay: exponential moving average of the weights used for sampling; None = off (the seed).
    noise_draws: independent (t, eps) draws per row per step (more signal per step on tiny tables).
    max_time: wall-clock budget in seconds; training stops at whichever comes first.
    condition_share: with model.conditional, the share of training rows that get a random set of known
        coordinates (the rest train unconditional generation).
    time_sampling: how training draws the diffusion time of each row: "uniform" (the seed), "lognormal"
        (EDM's log-normal noise levels, parameterization.draw_noise; rows given a known set keep uniform t,
        parameterization.keep_uniform_when_conditioned) or "auto" (resolve_auto).
    calibration_rows: after training, rows generated to calibrate the categorical levels' frequencies
        (diffusion/calibration.py); under max_time it takes at most half the budget (fewer rows, none below
        1,024); 0 = off (the seed); "auto" (resolve_auto).
    threads: CPU threads for torch; None = 1 for small networks and batches (per-step overhead dominates
        and a second thread only adds contention, measured in benchmarks/), else torch's default.
    """

    epochs: int = 5000
    steps: int | str | None = None
    batch_size: int | str | None = None
    lr: float | str = 3e-4
    weight_decay: float = 0.01
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    ema_decay: float | None = None
    noise_draws: int | str = 1
    max_time: float | None = None
    condition_share: float = 0.5
    time_sampling: str = "uniform"
    calibration_rows: int | str = 0
    threads: int | None = None
    seed: int | None = None
    device: str = "auto"


@dataclass
class SamplingConfig:
    """Reverse-process settings: sampler name, number of steps, rows per network call ("auto":
    synthesizer.sample_batch_rows)."""

    sampler: str = "ancestral"
    steps: int | str = 1000
    eta: float = 0.0
    batch_size: int | str = "auto"
    guidance: float = 3.0


@dataclass
class Config:
    """The whole recipe, stored in every checkpoint."""

    data: DataConfig = field(default_factory=DataConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON/YAML-serialisable)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None, source: str = "config") -> Config:
        """Build from a nested dict; unknown sections or keys raise UserError naming them."""
        raw = dict(raw or {})
        sections = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = set(raw) - set(sections)
        if unknown:
            raise UserError(f"{source}: unknown section(s) {sorted(unknown)}; known: {sorted(sections)}")
        kwargs = {}
        for f in dataclasses.fields(cls):
            sub_cls = f.default_factory  # type: ignore[misc]
            values = raw.get(f.name) or {}
            if not isinstance(values, dict):
                raise UserError(f"{source}: section '{f.name}' must be a mapping")
            known = {sf.name for sf in dataclasses.fields(sub_cls)}
            bad = set(values) - known
            if bad:
                raise UserError(f"{source}: unknown key(s) {sorted(bad)} in '{f.name}'; known: {sorted(known)}")
            section = sub_cls(**values)
            _check_types(section, f"{source}: {f.name}")
            kwargs[f.name] = section
        cfg = cls(**kwargs)
        _check_ranges(cfg, source)
        return cfg


AUTO = "auto"
SMALL_TABLE_ROWS = 1024  # up to here: full-batch training, inpainting, 50 sampling steps, and CPU under "auto"
LOGNORMAL_MAX_NUMERIC_SHARE = 0.5  # "auto" time sampling: log-normal up to this share of numeric units
AUTO_SPIKE_SHARE = 0.05  # "auto" data.spike_share above SMALL_TABLE_ROWS
AUTO_CALIBRATION_ROWS = 8192  # "auto" training.calibration_rows above SMALL_TABLE_ROWS


def resolve_spike_share(value: float | str, n_rows: int) -> float:
    """data.spike_share for a table of n_rows rows: "auto" is 0.05 above 1,024 rows, else 0 (off).

    Adult (150 s fits, seed 0): hours_per_week's 40 / 50 / 45 and the capital columns' 0 as spike levels
    gave shape/trend/C2ST LR 1.25/2.53/0.952 against 1.33/2.76/0.965 without; a 0.02 share (16 ages
    as levels too) 1.41/2.78/0.930. Small tables keep their numbers whole: Iris's 0.1 cm grid would turn
    every column into levels."""
    if value == AUTO:
        return AUTO_SPIKE_SHARE if n_rows > SMALL_TABLE_ROWS else 0.0
    if isinstance(value, str) or not 0.0 <= float(value) < 1.0:
        raise UserError(f"data.spike_share must be a share in [0, 1) or auto, got {value!r}")
    return float(value)


# (section, key) → the least value a count may take; None and "auto" (where the key takes them) pass
_MINIMUM = {("training", "epochs"): 1, ("training", "steps"): 1, ("training", "batch_size"): 1,
            ("training", "noise_draws"): 1, ("training", "warmup_steps"): 0, ("model", "hidden_dim"): 1,
            ("model", "n_blocks"): 1, ("model", "time_dim"): 4, ("sampling", "steps"): 1,
            ("sampling", "batch_size"): 1}
# (section, key) → (whether 1 itself is allowed) for a share or rate in [0, 1] or [0, 1)
_SHARE = {("training", "ema_decay"): False, ("training", "min_lr_ratio"): True,
          ("training", "condition_share"): True, ("model", "dropout"): False}


def _check_ranges(cfg: Config, source: str) -> None:
    """UserError naming the setting for a value of the right type but out of range: a count below its
    minimum (training.steps: 0 would otherwise fall back to the epochs), a string other than "auto"
    where a number belongs, a share outside its interval, an odd time_dim, an unknown sampler."""
    from tabdiff_cli.diffusion.sampler import SAMPLERS

    for section_name in ("data", "schedule", "model", "training", "sampling"):
        section = getattr(cfg, section_name)
        hints = typing.get_type_hints(type(section))
        for f in dataclasses.fields(section):
            value, where = getattr(section, f.name), f"{source}: {section_name}.{f.name}"
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
    if cfg.sampling.sampler not in SAMPLERS:
        raise UserError(f"{source}: sampling.sampler must be one of {', '.join(SAMPLERS)}; "
                        f"got {cfg.sampling.sampler!r}")


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


def resolve_auto(cfg: Config, n_rows: int, n_features: int | None = None,
                 numeric_share: float | None = None) -> Config:
    """Replace every "auto" setting by a concrete value for a table of n_rows rows (returns a copy).

    The rules (measured on this project's benchmarks, 2-core CPU; see benchmarks/RESULTS.md):
    - model.hidden_dim: 64 below 500 rows, 128 below 5,000, else 256; model.n_blocks: 3 below 5,000 rows
      (the seed's), else 4;
    - training.batch_size: the whole table up to 1,024 rows, else 1,024;
    - training.noise_draws: ceil(600 / n_rows) up to 8, so a tiny table still sees ~600 noisy rows a step;
    - training.steps: up to 1,024 rows, 30 per encoded feature within [300, 500] (Iris, 7 features: 300
      steps reach the quality of 500 in 60 % of the time; Wine, 16 features, needs ~500 for its 91 pairs);
      else 200 epochs, at least 1,000 and at most 8,000 steps (Adult, 6,400 steps: the '?' cells of
      workclass/occupation come out at 4.9 % against 5.6 % real, where 3,200 steps give 4.6 %, and
      income '>50K' at 23.3 % against 24.1 %: shorter training under-generates minority levels);
    - training.lr: 5e-3 up to 1,024 rows, else 2e-3;
    - model.conditional: masked conditioning above 1,024 rows (Adult, 6,400 steps: imputation RMSE 0.91
      against 0.97 by inpainting, income=>50K shape error 1.7x the unconditional one, and unconditional
      shape/trend 1.36/2.27 % against 1.46/2.38 %); up to 1,024 rows inpainting with reconstruction
      guidance, which met more of Iris's class-conditional checks than a conditional network trained for
      the same 300 steps (setosa petal-length std 1.7x against 6x the real one);
    - training.calibration_rows: 8,192 above 1,024 rows with model.prediction mixed, else 0 (Adult, a
      150 s fit, 16,000 rows sampled: shape/trend/C2ST LR/C2ST GBT 0.86/2.31/0.969/0.884 with the levels
      calibrated on 8,192 rows, 1.17/2.56/0.946/0.873 without; diffusion/calibration.py);
    - sampling.steps: 50 up to 1,024 rows (Iris, 3 seeds: ancestral 50 steps scored shape/trend 3.9/5.4 %
      against 4.5/5.9 % at 1,000 steps), else 200 (Adult, conditional model of 6,400 steps, 16,384 rows, 2
      sampling seeds: shape/trend/C2ST LR 1.36/2.42/0.928 at 100 steps, 1.18/2.23/0.944 at 200, and
      1.17/2.20/0.951 at 400 for seed 0; an H200 run of the default fit gave 1.43/2.32/0.926 against
      1.13/2.04/0.948. Sampling time grows linearly with the steps).
    - training.time_sampling: EDM's log-normal noise levels for a table above 1,024 rows whose modelled units
      (TableEncoder.blocks) are at most half numbers, so mostly categories learned by cross-entropy (Adult,
      5 numbers of 15 units, 150 s fits, seed 0: shape/trend/C2ST LR 1.09/2.54/0.957 against 1.57/3.07/0.948
      with the seed's uniform t); else uniform: numbers, learned by eps prediction, came out worse with it
      (Default, 14 of 24, 60 s: 3.73/5.56/0.818 against 1.53/1.66/0.942; Iris, 6 seeds, 300 steps: shape
      error 32.6 % against 5.1 %). Under masked conditioning the rows with a known set keep uniform t
      (parameterization.keep_uniform_when_conditioned): with log-normal times on every row, Adult's rows
      conditioned on income=>50K scored 3.1x the unconditional shape error (1.5x with the split).
    n_features: the encoded width (TableEncoder.n_features); None counts as wide (500 steps).
    numeric_share: the share of modelled units that are numeric coordinates; None counts as numeric.
    Steps rather than a time budget keep `fit --seed` reproducible; `--max-time` caps them.
    """
    out = Config.from_dict(cfg.to_dict())
    m, t = out.model, out.training
    small = n_rows <= SMALL_TABLE_ROWS
    if m.hidden_dim == AUTO:
        m.hidden_dim = 64 if n_rows < 500 else 128 if n_rows < 5000 else 256
    if m.n_blocks == AUTO:
        m.n_blocks = 3 if n_rows < 5000 else 4
    if t.batch_size == AUTO:
        t.batch_size = n_rows if small else 1024
    if t.noise_draws == AUTO:
        t.noise_draws = min(8, max(1, -(-600 // n_rows)))
    if t.steps == AUTO:
        if small:
            t.steps = 500 if n_features is None else int(min(500, max(300, 30 * n_features)))
        else:
            t.steps = int(min(8000, max(1000, 200 * -(-n_rows // int(t.batch_size)))))
    if t.lr == AUTO:
        t.lr = 5e-3 if small else 2e-3
    if m.conditional == AUTO:
        m.conditional = not small
    if not isinstance(m.conditional, bool):
        raise UserError(f"model.conditional must be true, false or auto, got {m.conditional!r}")
    if t.time_sampling == AUTO:
        mostly_categories = numeric_share is not None and numeric_share <= LOGNORMAL_MAX_NUMERIC_SHARE
        t.time_sampling = "lognormal" if mostly_categories and not small else "uniform"
    if out.sampling.steps == AUTO:
        out.sampling.steps = 50 if small else 200
    if t.calibration_rows == AUTO:
        t.calibration_rows = 0 if small or m.prediction != "mixed" else AUTO_CALIBRATION_ROWS
    if isinstance(t.calibration_rows, str) or int(t.calibration_rows) < 0:
        raise UserError(f"training.calibration_rows must be a whole number >= 0 or auto, got {t.calibration_rows!r}")
    return out


def builtin_config_path(name: str) -> Path:
    """Path of a config shipped with the package (`iris`, `default`)."""
    return Path(str(resources.files("tabdiff_cli") / "configs" / f"{name}.yaml"))


class _ConfigLoader(yaml.SafeLoader):
    """yaml.SafeLoader that also reads 1e-3 and 2E5 as numbers: YAML 1.1, which PyYAML follows, wants a
    dot in a float, so `lr: 1e-3` came back as the string '1e-3' and was refused as "not a number"."""


_ConfigLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def load_config(path: str | Path | None) -> Config:
    """Read a YAML config; None gives the packaged default.

    Errors: UserError for a missing file, invalid YAML or unknown keys (message names the file).
    """
    if path is None:
        path = builtin_config_path("default")
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{path} is a folder, not a config file")
    if not p.exists():
        shipped = builtin_config_path(p.stem) if p.suffix in ("", ".yaml", ".yml") else None
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
    """Return a copy with `section__key=value` overrides applied (None values are ignored)."""
    out = Config.from_dict(cfg.to_dict())
    for key, value in flat.items():
        if value is None:
            continue
        section, name = key.split("__", 1)
        setattr(getattr(out, section), name, value)
    return out
