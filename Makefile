# tabdiff: set-up, demo, tests, benchmarks.
# TORCH_SPEC is installed first so that a CPU-only machine does not pull a multi-GB CUDA build;
# override it (e.g. `make install TORCH_SPEC=torch`) to keep your own CUDA build.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
PY := $(BIN)/python
OUT ?= outputs

.PHONY: install demo test lint report-screenshot bench-judges bench-published bench bench-speed bench-tables bench-ddp bench-cuda bench-conditioning bench-conditioning-small bench-small bench-levels bench-calibration bench-posterior sbi-venv clean

$(BIN)/tabdiff: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test]"
	touch $(BIN)/tabdiff

install: $(BIN)/tabdiff

demo: install
	mkdir -p $(OUT)
	$(BIN)/tabdiff fit iris --model $(OUT)/iris.ckpt --seed 0
	$(BIN)/tabdiff sample --model $(OUT)/iris.ckpt --n 150 --seed 0 --out $(OUT)/iris_generated.csv
	$(BIN)/tabdiff plot iris $(OUT)/iris_generated.csv --out $(OUT)/iris_pairplot.png
	@echo "demo outputs in $(OUT)/: iris.ckpt, iris_generated.csv, iris_pairplot.png"

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check tabdiff_cli tests benchmarks

# Benchmarks run from the repository root as modules (`python -m benchmarks.<script> --help`); each writes
# benchmarks/RESULTS_<name>[_<variant>].md, and benchmarks/README.md lists them with their runtimes.
# The peers (SDV, ForestDiffusion, mostlyai-engine) get a venv of their own with tabdiff installed editable: they
# pin pandas/torch ranges that tabdiff does not need. The CPU torch goes in first so that pip does not pull a
# multi-GB CUDA build; mostlyai-engine's dependencies then bring torchvision/torchaudio builds that break
# `import mostlyai.engine` (operator torchvision::nms does not exist) and that it never uses: removed.
# Extra flags: make bench BENCH_ARGS="--quick" (see python -m benchmarks.bench_peers --help).
BENCH_VENV ?= .venv-bench
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_ARGS ?=

$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install -q --upgrade pip
	$(BENCH_PY) -m pip install -q "$(TORCH_SPEC)"
	$(BENCH_PY) -m pip install -q -e ".[bench]"
	$(BENCH_PY) -m pip uninstall -y -q torchvision torchaudio
	touch $@

# tabdiff against SDV, ForestDiffusion and mostlyai-engine on Iris, Wine and Adult → RESULTS_peers.md, ~54 min
bench: $(BENCH_VENV)/.installed
	$(BENCH_PY) -m benchmarks.bench_peers $(BENCH_ARGS)

# the fast default against the blog recipe on Iris, the samplers, 1,000,000 Adult rows → RESULTS_speed.md, ~16 min
bench-speed: install
	$(PY) -m benchmarks.bench_speed

# every table of ../shared/data with the default config, uncapped → RESULTS_tables.md, ~40 min
bench-tables: install
	$(PY) -m benchmarks.bench_tables

# fit with 1 and 2 processes (DDP through tabdiff fit --nproc) on Adult: speed and agreement → RESULTS_ddp.md, ~3 min
bench-ddp: install
	$(PY) -m benchmarks.bench_ddp

# correctness and speed on a CUDA GPU (needs one) → RESULTS_cuda.md, ~3 min on an H200
bench-cuda: install
	$(PY) -m benchmarks.bench_cuda

# conditional sampling, imputation and inverse queries, default config → RESULTS_conditioning.md, ~22 min
bench-conditioning: install
	$(PY) -m benchmarks.bench_conditioning

# the same questions on the small tables only, 3 seeds → RESULTS_conditioning_small.md, ~8 min
bench-conditioning-small: install
	$(PY) -m benchmarks.bench_conditioning --tables iris,wine --seeds 0,1,2 \
		--out benchmarks/RESULTS_conditioning_small.md

# small-table recipes side by side: fidelity, Iris inverse answers, held-out coverage → RESULTS_small_tables.md
bench-small: install
	$(PY) -m benchmarks.bench_small_tables

# a 50,000-row table with a 45,000-level column: fit --epochs 2 and sample, seconds and peak memory, ~3 min
bench-levels: install
	$(PY) -m benchmarks.bench_levels

# coverage of the credible intervals on held-out rows of five tables → RESULTS_calibration.md, ~25 min
bench-calibration: install
	$(PY) -m benchmarks.bench_calibration

# Posteriors against exact answers (issue #21): tabdiff, sbi's NPE and a nearest-neighbour rejection baseline on
# four simulated tasks (benchmarks/posterior_tasks.py) → RESULTS_posterior.md, results/posterior/. sbi is a
# benchmark-only dependency in a venv of its own, with the CPU torch first and tabdiff installed editable: the
# whole benchmark runs from it. Extra flags: make bench-posterior POSTERIOR_ARGS="--rows 1000 --quick".
SBI_VENV ?= .venv-sbi
SBI_PY := $(SBI_VENV)/bin/python
POSTERIOR_ARGS ?=

$(SBI_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(SBI_VENV)
	$(SBI_PY) -m pip install -q --upgrade pip
	$(SBI_PY) -m pip install -q "$(TORCH_SPEC)"
	$(SBI_PY) -m pip install -q sbi
	$(SBI_PY) -m pip install -q -e ".[test]"
	touch $@

sbi-venv: $(SBI_VENV)/.installed

# 4 tasks × N = 10,000 and 1,000, seed 0 → RESULTS_posterior.md: ~2 h in one process on 2 cores shared by 4 jobs
# (the 2026-12-06 run split N = 10,000 over two processes, ~70 min; see the script's time plan)
bench-posterior: $(SBI_VENV)/.installed
	OMP_NUM_THREADS=1 $(SBI_PY) -m benchmarks.bench_posterior $(POSTERIOR_ARGS)

# The quality report of built-in Iris, rendered by headless Chromium (Debian: apt-get install chromium) into
# docs/report_screenshot.png: what a person sees when they open `tabdiff report`'s page.
CHROMIUM ?= chromium
report-screenshot: install
	@command -v $(CHROMIUM) >/dev/null || { echo "needs $(CHROMIUM) (apt-get install chromium)"; exit 1; }
	mkdir -p $(OUT)
	$(BIN)/tabdiff fit iris --model $(OUT)/iris.ckpt --seed 0 -q
	$(BIN)/tabdiff sample -m $(OUT)/iris.ckpt --n 150 --seed 0 --out $(OUT)/iris_generated.csv -q
	$(BIN)/tabdiff report iris $(OUT)/iris_generated.csv --model $(OUT)/iris.ckpt --out $(OUT)/iris_report.html
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
		--disable-sync --no-first-run --hide-scrollbars --user-data-dir=$$(mktemp -d) \
		--screenshot=docs/report_screenshot.png --window-size=1280,2400 file://$(abspath $(OUT))/iris_report.html

# tabdiff's default recipe, 3 seeds, on TabDiff's five benchmark tables (TabPC's splits and metrics) beside
# TabPC's published TabPC / TabDiff / TabSyn numbers → RESULTS_published.md, ~2 h (--seeds 0: ~40 min)
bench-published: install
	OMP_NUM_THREADS=1 $(PY) -m benchmarks.bench_published $(BENCH_ARGS)

# what the detection judges cost on Adult (docs/evaluation.md)
bench-judges: install
	$(PY) -m benchmarks.bench_judges

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache build *.egg-info
