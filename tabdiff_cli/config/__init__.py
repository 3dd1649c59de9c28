"""What a run is: the recipe as dataclasses (`sections`), the rules behind "auto" (`auto`), and the packaged
presets (`presets/`: default, iris = the blog recipe, inverse). Pure data and rules: no torch, no pandas."""

from tabdiff_cli.config.sections import (
    AUTO,
    DEFAULT_NA_VALUES,
    PRESETS,
    SAMPLER_NAMES,
    Config,
    DataConfig,
    ModelConfig,
    SamplingConfig,
    ScheduleConfig,
    TrainingConfig,
    config_from_checkpoint,
    load_config,
    preset_path,
    with_overrides,
)

__all__ = ["AUTO", "DEFAULT_NA_VALUES", "PRESETS", "SAMPLER_NAMES", "Config", "DataConfig", "ModelConfig",
           "SamplingConfig", "ScheduleConfig", "TrainingConfig", "config_from_checkpoint", "load_config",
           "preset_path", "with_overrides"]
