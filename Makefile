# The two commands a newcomer needs:   make repro   |   make test
# Everything installs into ./.venv, from the lock requirements/cpu.lock.txt: the exact versions, each
# checked against its sha256 (pip's hash-checking mode), with the CPU build of PyTorch
# (torch==2.13.0+cpu, the wheel pip finds on this machine's disk through its find-links), so no
# dependency can pull a multi-GB CUDA build.  On a GPU machine that already has PyTorch:
#   make setup VENV_FLAGS=--system-site-packages TORCH_SPEC=
# (TORCH_SPEC empty: the lock's torch line is left out and the machine's torch is kept; any other
# value installs the lock's torch, which `make lock` takes from requirements/cpu.in.)
# `make lock` refreshes the lock from pyproject.toml's ranges and requirements/cpu.in.
PYTHON      ?= python3
VENV        ?= .venv
VENV_FLAGS  ?=
TORCH_SPEC  ?= torch==2.13.0+cpu
LOCK        ?= requirements/cpu.lock.txt
JOBS        ?= 2
PY          := $(VENV)/bin/python
PIP         := $(PY) -m pip
STAMP       := $(VENV)/.installed
# --no-deps: the lock is the whole set (pip-compile's closure), so pip resolves nothing and can
# fetch nothing unlocked; `pip check` then verifies the set is consistent (skipped with VENV_FLAGS,
# where the machine's own site-packages, not ours, would be checked too).
# pip-tools (pip-compile) rather than uv: it resolves with pip itself, reading the same pip config
# (find-links, extra indexes) as `make setup`'s pip, so the lock pins exactly the files pip installs.
LOCK_VENV   ?= .venv-lock
PIP_TOOLS   ?= pip-tools==7.6.2
LOCK_FLAGS  ?=

.PHONY: setup lock repro check-results test lab clean-reports

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	if [ -n "$(TORCH_SPEC)" ]; then cp $(LOCK) $(VENV)/lock.txt; \
	else awk '/^[^ #]/ { skip = ($$0 ~ /^torch==/) } !skip' $(LOCK) > $(VENV)/lock.txt; fi
	$(PIP) install -qq --require-hashes --no-deps -r $(VENV)/lock.txt
	$(PIP) install -qq --no-deps --no-build-isolation -e .
	if [ -z "$(VENV_FLAGS)" ]; then $(PIP) check >/dev/null; fi
	$(PY) -m ipykernel install --sys-prefix --name nasa_lib --display-name "nasa_lib (Python 3)" >/dev/null
	touch $(STAMP)

setup: $(STAMP)

## Refresh the lock after a change to pyproject.toml's dependencies or requirements/cpu.in (and
## commit requirements/cpu.lock.txt).  Pins that still fit are kept; `make lock LOCK_FLAGS=--upgrade`
## moves every pin to the newest allowed version (`--upgrade-package NAME` one of them).  Needs the
## package registries; 1-3 minutes.  A .venv set up from an older lock: rm -rf .venv && make setup.
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || ($(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -qq "$(PIP_TOOLS)")
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	    --strip-extras --extra pipeline --extra dev --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS) \
	    --output-file $(LOCK) pyproject.toml requirements/cpu.in

## Set up, then run the whole DVC pipeline on the embedded default profile (params.yaml), JOBS stages
## at a time (nasa_lib/stages/repro.py: dvc repro's plan, status checks and dvc.lock, several
## commands at once; `dvc repro` gives the same bytes, one stage at a time).
## The bundled MNIST-5k is materialised byte for byte first (data.dvc pins those bytes), then
## params.yaml's data set is checked against its pinned checksums before DVC touches anything:
## dvc repro would otherwise re-save data.dvc from changed data before any stage runs.
repro: setup
	test -e data/mnist5k || $(PY) -m nasa_lib.data.materialize --dataset mnist5k --out data/mnist5k
	$(PY) -m nasa_lib.stages.data --check
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m nasa_lib.stages.repro --jobs $(JOBS)

## Fail, in one line naming the stage and what to run, when the committed results (dvc.lock and
## reports/) are not those of the working tree: a dependency, parameter or command differs from what
## dvc.lock recorded (nasa_lib/stages/stale.py: dvc status, seconds; nothing is rerun).  CI runs it first.
check-results: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m nasa_lib.stages.stale

## Set up, then run the test suite (CPU, offline; GPU tests skip without a GPU).
test: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q -n 2 --dist loadfile

## Open the notebooks in JupyterLab with the project's kernel.
lab: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/jupyter lab notebooks/
