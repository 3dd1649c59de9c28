"""The release of tabdiff (recorded in every checkpoint it writes)."""

__version__ = "0.1.0"
