# campwatch: the two commands of the README's quick start, and a few helpers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo test sample bench clean

$(BIN)/campwatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

## demo: set up, then compare each consecutive pair of the Camp 25 sample
demo: $(BIN)/campwatch
	@set -e; prev=""; for img in data/sample/camp25/camp25_*.tif; do \
	  if [ -n "$$prev" ]; then \
	    a=$$(basename $$prev .tif | sed 's/.*_//'); b=$$(basename $$img .tif | sed 's/.*_//'); \
	    $(BIN)/campwatch detect $$prev $$img --aoi aois/camp25.geojson --out $(OUT)/camp25/$${a}_$${b} -q; \
	  fi; prev=$$img; done
	@echo; echo "Outputs (report.geojson, change_mask.tif, change_map.png) in:"; ls -d $(OUT)/camp25/*/

## test: set up, then lint, type-check and run the test suite
test: $(BIN)/campwatch
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src/campwatch
	$(BIN)/python -m pytest -q

## sample: write the synthetic sample series again (deterministic)
sample: $(BIN)/campwatch
	rm -rf data/sample.new && $(BIN)/campwatch sample data/sample.new && rm -rf data/sample && mv data/sample.new data/sample

## bench: accuracy against the targets (REALDATA=../shared/realdata adds real labelled pairs)
bench: $(BIN)/campwatch
	$(BIN)/python benchmarks/accuracy.py --sample data/sample $(if $(REALDATA),--realdata $(REALDATA))

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
