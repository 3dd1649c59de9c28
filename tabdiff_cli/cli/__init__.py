"""The `tabdiff` command line (Typer): each command parses, makes one library call, and renders.

app.py holds the app and its error handling, options.py the shared options, commands.py the commands,
render.py the drawing, launch.py the torchrun relaunch of `fit --nproc N`.
"""

from __future__ import annotations

from tabdiff_cli.cli import commands  # noqa: F401  (registers the commands on the app)
from tabdiff_cli.cli.app import app, on_sigterm

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: SIGTERM cleans up like Ctrl-C, then the app runs."""
    import signal

    signal.signal(signal.SIGTERM, on_sigterm)
    app()
