"""tabdiff: learn one table with a diffusion model; generate, condition, impute and evaluate rows.

The public API, imported lazily (so that `tabdiff --help` does not pay for torch):
DiffusionSynthesizer, Config, load_config, read_table, evaluate_tables, plot_tables, build_report (the HTML
quality report; pass ``training=synth.meta`` for the training curve), independent_marginals (a baseline).
"""

from tabdiff_cli._version import __version__

__all__ = ["DiffusionSynthesizer", "Config", "load_config", "read_table", "evaluate_tables", "plot_tables",
           "build_report", "independent_marginals", "__version__"]

_WHERE = {"DiffusionSynthesizer": "tabdiff_cli.synthesizer", "Config": "tabdiff_cli.config",
          "load_config": "tabdiff_cli.config", "read_table": "tabdiff_cli.table.io",
          "evaluate_tables": "tabdiff_cli.evaluation.metrics", "plot_tables": "tabdiff_cli.evaluation.plots",
          "build_report": "tabdiff_cli.evaluation.report", "independent_marginals": "tabdiff_cli.evaluation.baselines"}


def __getattr__(name):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
