"""tabdiff: learn one table with a diffusion model; generate, condition, impute and evaluate rows."""

__version__ = "0.1.0"

__all__ = ["DiffusionSynthesizer", "Config", "load_config", "__version__"]


def __getattr__(name):
    # Lazy so that `tabdiff --help` does not pay for importing torch.
    if name == "DiffusionSynthesizer":
        from tabdiff_cli.synthesizer import DiffusionSynthesizer

        return DiffusionSynthesizer
    if name in ("Config", "load_config"):
        from tabdiff_cli import config

        return getattr(config, name)
    raise AttributeError(name)
