# kwsgen developer entry points. `make demo` and `make test` set everything up first.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kwsgen-setup

.PHONY: setup demo test lint format bench bench-training clean

setup: $(STAMP)

$(STAMP): pyproject.toml host_tools/scripts/setup.sh
	bash host_tools/scripts/setup.sh $(VENV)
	touch $@

# The main job on the shipped example project: features, training, int8 C checked against TFLite Micro.
demo: setup
	rm -rf build/demo
	$(BIN)/kwsgen features kwsgen/data/yes.flac --check --out build/demo/yes_mfcc.npy
	$(BIN)/kwsgen init build/demo/project --example
	$(BIN)/kwsgen train -p build/demo/project
	$(BIN)/kwsgen export-c build/demo/project/models/model/model.tflite --out build/demo/model_c --board nano33 --check 16

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

# Minutes: the front end, compiled inference, auto-labelling and studio figures.
bench: setup
	$(BIN)/python bench/frontend.py
	$(BIN)/python bench/inference.py
	$(BIN)/python bench/realtime.py
	$(BIN)/python bench/autolabel.py
	$(BIN)/python bench/studio.py

# About an hour on 2 cores: transfer learning (3 seeds, 2 datasets), detection (false alarms per hour, misses, DET)
# of the trained projects and of the shipped bases' own heads.
bench-training: setup
	$(BIN)/python bench/transfer.py
	$(BIN)/python bench/detection.py
	$(BIN)/python bench/base_detection.py kws25k kws10k kws50k kws10k+kws25k kws10k+kws50k kws25k+kws50k kws10k+kws25k+kws50k

clean:
	rm -rf build .pytest_cache .ruff_cache
