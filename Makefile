# Two entry points for a fresh machine (see README.md):
#   make train   set up .venv, then train the default network on MNIST and report
#   make test    set up .venv and the system packages the tests use, then run every check
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= $(abspath ../shared/datasets)
ifneq ($(wildcard $(DATA)/mnist),)
export BARENET_DATA ?= $(DATA)
endif

.PHONY: setup train test lint bench draw-model

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned to the CPU build (the reference of the tests and benchmarks).
	$(PY) -m pip install --quiet -e ".[test,reference]"
	touch $@

setup: $(VENV)/.installed

train: setup
	$(VENV)/bin/barenet train $(ARGS)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks examples

test: setup
	bash scripts/install-system-deps.sh
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/compare_torch.py

# The drawing model shipped in the package (README, "Drawing mode"): train it, then copy it in.
draw-model: setup
	$(VENV)/bin/barenet train --preset draw --seed 0 --out runs/draw
	cp runs/draw/model.safetensors src/barenet/app/draw.safetensors
	sha256sum src/barenet/app/draw.safetensors
