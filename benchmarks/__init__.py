"""tabdiff's benchmarks, run from the repository root as modules: `python -m benchmarks.bench_<name> --help`.

README.md here lists each one: the question it answers, its make target, its runtime and its output files.
"""
