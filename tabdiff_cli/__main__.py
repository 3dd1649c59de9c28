"""`python -m tabdiff_cli …` (and `torchrun -m tabdiff_cli …`) runs the CLI."""

from tabdiff_cli.cli import main

if __name__ == "__main__":
    main()
