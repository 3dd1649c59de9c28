"""The Typer app and how errors reach the user: one line on stderr, exit code 2, never a traceback."""

from __future__ import annotations

import functools

import typer
from rich.console import Console

from tabdiff_cli.errors import UserError

app = typer.Typer(
    name="tabdiff",
    help="Learn one table with a diffusion model, then generate, condition, impute and evaluate rows.\n\n"
    "Everyday use:\n\n"
    "  tabdiff fit iris.csv            # learn the table, writes model.ckpt\n\n"
    "  tabdiff sample --n 150          # 150 new rows to generated.csv\n\n"
    "  tabdiff plot iris.csv generated.csv   # pairplots side by side\n\n"
    "  tabdiff report iris.csv generated.csv --model model.ckpt   # quality report, one HTML page",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False)
err_console = Console(stderr=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, timeout, a job scheduler) raised as an interrupt, so that the same clean-up runs as for
    Ctrl-C: a half-written output's temporary file is removed."""


def on_sigterm(signum: int, frame: object) -> None:
    """The SIGTERM handler: raise Terminated."""
    raise Terminated()


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error on stderr; return the Exit to raise."""
    from rich.markup import escape

    # escape: a message quoting user text like "[min, max]" or a column "[x]" must print as is
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func):
    """Turn UserError (and OS errors on the user's paths) into a one-line message and exit code 2; an
    interrupt into exit code 130 (143 for SIGTERM) after the outputs' temporary files are gone."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            raise fail(str(exc)) from None
        except PermissionError as exc:
            raise fail(f"permission denied: {exc.filename}") from None
        except IsADirectoryError as exc:
            raise fail(f"{exc.filename} is a folder") from None
        except OSError as exc:  # disk full, read-only file system, …: the user's environment, not a bug
            raise fail(f"{exc.filename or 'output'}: {exc.strerror or type(exc).__name__}") from None
        except Terminated:
            raise fail("terminated; nothing was written", code=143) from None
        except KeyboardInterrupt:
            raise fail("interrupted; nothing was written", code=130) from None

    return wrapper
