"""Errors that reach the user as one line and exit code 2 (bad input, not a bug)."""


class UserError(ValueError):
    """Bad input from the user: a file, column, value or option. The CLI prints `str(err)` and exits 2."""


class CheckpointError(UserError):
    """A file that is not a tabdiff checkpoint, is truncated, or is of an unsupported version."""


class ExtrapolationWarning(UserWarning):
    """Conditions that (almost) no training row satisfies: the generated rows are the model's extrapolation."""


class LargeFitWarning(UserWarning):
    """A fit whose encoded table or length is large (config.auto.fit_size_check), told before training."""
