# The two commands a newcomer needs:   make repro   |   make test
# Everything installs into ./.venv.  CPU machines get the pinned on-disk torch CPU wheel first, so
# that no dependency pulls a multi-GB CUDA build.  On a GPU machine that already has PyTorch:
#   make setup VENV_FLAGS=--system-site-packages TORCH_SPEC=
PYTHON      ?= python3
VENV        ?= .venv
VENV_FLAGS  ?=
TORCH_SPEC  ?= torch==2.13.0
PY          := $(VENV)/bin/python
PIP         := $(PY) -m pip
STAMP       := $(VENV)/.installed

.PHONY: setup repro test lab clean-reports

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(PIP) install -qq --upgrade pip
	if [ -n "$(TORCH_SPEC)" ]; then $(PIP) install -qq "$(TORCH_SPEC)"; fi
	$(PIP) install -qq -e ".[pipeline,dev]"
	$(PY) -m ipykernel install --sys-prefix --name nasa_lib --display-name "nasa_lib (Python 3)" >/dev/null
	touch $(STAMP)

setup: $(STAMP)

## Set up, then run the whole DVC pipeline on the embedded default profile (params.yaml).
## The bundled MNIST-5k is materialised byte for byte first (data.dvc pins those bytes), then
## params.yaml's data set is checked against its pinned checksums before DVC touches anything:
## dvc repro would otherwise re-save data.dvc from changed data before any stage runs.
repro: setup
	test -e data/mnist5k || $(PY) -m nasa_lib.data.materialize --dataset mnist5k --out data/mnist5k
	$(PY) -m nasa_lib.stages.data --check
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dvc repro

## Set up, then run the test suite (CPU, offline; GPU tests skip without a GPU).
test: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q -n 2 --dist loadfile

## Open the notebooks in JupyterLab with the project's kernel.
lab: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/jupyter lab notebooks/
