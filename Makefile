# campwatch: the two commands of the README's quick start, and a few helpers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo demo-loop test test-fast sample bench docs clean

$(BIN)/campwatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

## demo: set up, then run the Camp 25 sample series: every pair compared, figures, report.html
demo: $(BIN)/campwatch
	rm -rf $(OUT)/camp25
	$(BIN)/campwatch series aois/camp25.geojson data/sample/camp25 --out $(OUT)/camp25
	@echo; echo "Open $(OUT)/camp25/report.html in a browser; pairs in $(OUT)/camp25/pairs/, figures in $(OUT)/camp25/figures/"

## demo-loop: the review loop on the sample: check, review (from the sample's truth), teach, check again with the model
LOOP := $(OUT)/loop
demo-loop: $(BIN)/campwatch
	rm -rf $(LOOP) && mkdir -p $(LOOP)/images
	cp data/sample/camp25/camp25_2015-04-18.tif data/sample/camp25/camp25_2015-09-26.tif data/sample/camp25/camp25_2016-05-14.tif $(LOOP)/images/
	$(BIN)/campwatch -q check aois/camp25.geojson $(LOOP)/images --out $(LOOP)/checks
	$(BIN)/campwatch -q review $(LOOP)/checks/history.gpkg --from-truth data/sample/camp25/truth.geojson --out $(LOOP)/labels.geojson
	$(BIN)/campwatch -q teach --history $(LOOP)/checks/history.gpkg --images $(LOOP)/images --out $(LOOP)/models/camp25.onnx
	cp data/sample/camp25/camp25_2016-10-02.tif $(LOOP)/images/
	$(BIN)/campwatch -q check aois/camp25.geojson $(LOOP)/images --out $(LOOP)/checks --model $(LOOP)/models/camp25.onnx
	$(BIN)/campwatch -q review $(LOOP)/checks/history.gpkg
	@echo; echo "Open $(LOOP)/checks/history.gpkg in QGIS to review; the model and its card are in $(LOOP)/models/"

## test: set up, then lint, type-check and run the whole test suite
test: $(BIN)/campwatch
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src/campwatch
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

## test-fast: the quick lane for your own loop (about 3 minutes on 2 cores): every test not marked slow
test-fast: $(BIN)/campwatch
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow"

## docs: write docs/config.md again from DetectConfig (a test checks it is current)
docs: $(BIN)/campwatch
	$(BIN)/python -c "from campwatch.config import config_reference; print(config_reference(), end='')" > docs/config.md

## sample: write the synthetic sample series again (deterministic)
sample: $(BIN)/campwatch
	rm -rf data/sample.new && $(BIN)/campwatch sample data/sample.new && rm -rf data/sample && mv data/sample.new data/sample

## bench: accuracy against the targets (REALDATA=../shared/realdata adds real labelled pairs)
bench: $(BIN)/campwatch
	$(BIN)/python benchmarks/accuracy.py --sample data/sample $(if $(REALDATA),--realdata $(REALDATA)) $(if $(MODEL),--model $(MODEL))

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
