# tabdiff: set-up, demo, tests, benchmarks.
# TORCH_SPEC is installed first so that a CPU-only machine does not pull a multi-GB CUDA build;
# override it (e.g. `make install TORCH_SPEC=torch`) to keep your own CUDA build.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
PY := $(BIN)/python
OUT ?= outputs

.PHONY: install demo test lint bench bench-speed clean

$(BIN)/tabdiff: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test]"
	touch $(BIN)/tabdiff

install: $(BIN)/tabdiff

demo: install
	mkdir -p $(OUT)
	$(BIN)/tabdiff fit iris --config configs/iris.yaml --model $(OUT)/iris.ckpt --seed 0
	$(BIN)/tabdiff sample --model $(OUT)/iris.ckpt --n 150 --seed 0 --out $(OUT)/iris_generated.csv
	$(BIN)/tabdiff plot iris $(OUT)/iris_generated.csv --out $(OUT)/iris_pairplot.png
	@echo "demo outputs in $(OUT)/: iris.ckpt, iris_generated.csv, iris_pairplot.png"

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check tabdiff_cli tests benchmarks

bench: install
	$(PY) benchmarks/run_benchmarks.py

bench-speed: install
	$(PY) benchmarks/bench_speed.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache build *.egg-info
