# Set-up and the main jobs. Only Python 3.11 is needed: everything else goes in .venv.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test editor bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[gui,dev,distributed,onnx]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/haibal run examples/scce.json

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

editor: $(STAMP)
	$(VENV)/bin/haibal-editor

# Benchmarks. haibal-py runs in .venv; the peers (torch, tensorflow-cpu, onnxruntime: the
# `bench` extra) in .venv-bench, which every script with peers finds by itself
# (--peer-python / $$HAIBAL_BENCH_PEER_PYTHON name another interpreter).
bench: $(STAMP)
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet -e ".[bench]"
	$(PY) bench/scce.py
	$(PY) bench/catalog.py
	$(PY) bench/runtime.py
	$(PY) bench/layers.py
	$(PY) bench/optimizers.py
	$(PY) bench/train.py
	$(PY) bench/onnx.py
	$(PY) bench/scale.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/editor.py

clean:
	rm -rf $(VENV) .venv-bench build *.egg-info
