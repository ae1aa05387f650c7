# The two commands of the README are `make book` and `make test`; each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The scoring server's own environment: Azure ML runs a deployment in its environment, not ours.
INFERENCE := .venv-inference
INFERENCE_STAMP := $(INFERENCE)/.installed
NODE_STAMP := node_modules/.installed
# The infrastructure scan's own environment: checkov pins libraries older than the notebooks use.
CHECKOV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV)/.installed
INFRA_ENVIRONMENTS ?= dev test prod

export MLFLOW_DISABLE_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup book notebooks html chromium test lint refresh benchmark clean checkov infra-check infra-fmt infra-scan infra-validate

## setup: the virtual environments, when missing or older than their requirements
setup: $(STAMP) $(INFERENCE_STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(INFERENCE_STAMP): requirements-inference.txt
	test -x $(INFERENCE)/bin/python || $(PYTHON) -m venv $(INFERENCE)
	$(INFERENCE)/bin/python -m pip install --quiet --upgrade pip
	$(INFERENCE)/bin/python -m pip install --quiet -r requirements-inference.txt
	touch $(INFERENCE_STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV)/bin/python || $(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

## checkov: the scanner's virtual environment, when missing or older than requirements-checkov.txt
checkov: $(CHECKOV_STAMP)

## node_modules: Azurite (the Azure Storage emulator) for the tests, and mermaid for the book's diagrams
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## book: execute every notebook in order on the local backend into a copy of the book's sources
## (_build/source), then build the HTML book from it: the checkout is left as it was
book: setup $(NODE_STAMP)
	$(BIN)/python tools/notebooks.py --stage _build/source
	$(BIN)/jupyter-book build _build/source --path-output . --warningiserror --nitpick --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

notebooks: setup
	$(BIN)/python tools/notebooks.py

## html: build the HTML book from the committed notebooks, without executing them
html: setup $(NODE_STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

## chromium: Debian's browser, for the book's browser test (tests/test_book_browser.py)
chromium:
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

## test: lint; then two streams side by side (a notebook run mostly waits on its job processes, so
## it leaves a core free): the book's chain, nbval (the first run on a fresh store against the
## committed outputs) then the in-order test running every notebook again on the store nbval left
## (conftest.py); and the unit, notebook, infrastructure and browser tests. The chain's log is
## printed after the other stream's, and make test fails if either failed.
NBVAL_STORE := $(CURDIR)/_build/nbval-store
BOOK_CHAIN_LOG := $(CURDIR)/_build/test-book-chain.log
IN_ORDER := tests/notebooks/test_run_in_order.py
test: setup $(NODE_STAMP) $(CHECKOV_STAMP) chromium lint
	mkdir -p _build
	( ACCELERATOR_NBVAL_STORE=$(NBVAL_STORE) $(BIN)/python -m pytest -p no:xdist -p no:cacheprovider \
		--nbval --nbval-current-env --sanitize-with tests/nbval_sanitize.cfg notebooks \
	  && ACCELERATOR_NBVAL_STORE=$(NBVAL_STORE) $(BIN)/python -m pytest -p no:xdist -p no:cacheprovider \
		--durations=5 $(IN_ORDER) ) > $(BOOK_CHAIN_LOG) 2>&1 & chain=$$!; trap 'kill $$chain 2>/dev/null' INT TERM; \
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=25 --ignore=$(IN_ORDER) tests; rest=$$?; \
	wait $$chain; chained=$$?; \
	echo "== the book's chain: nbval, then $(IN_ORDER) =="; cat $(BOOK_CHAIN_LOG); \
	rm -rf $(NBVAL_STORE); \
	test $$rest -eq 0 && test $$chained -eq 0

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## infra-check: terraform fmt and the checkov scan of each environment, offline (make test runs both too)
infra-check: infra-fmt infra-scan

infra-fmt:
	terraform fmt -check -recursive infra

## infra-scan: checkov on infra/ with each environment's variables and its accepted checks (infra/checkov/)
infra-scan: $(CHECKOV_STAMP)
	for env in $(INFRA_ENVIRONMENTS); do \
		echo "checkov: $$env"; \
		BC_SKIP_MAPPING=TRUE $(CHECKOV)/bin/checkov -d infra --framework terraform --skip-download \
			--quiet --compact --var-file infra/environments/$$env.tfvars.json \
			--config-file infra/checkov/$$env.yaml || exit 1; \
	done

## infra-validate: terraform validate, and the provider lock file infra/.terraform.lock.hcl (commit it),
## where the azurerm provider can be downloaded (registry.terraform.io)
infra-validate:
	terraform -chdir=infra init -backend=false -input=false
	terraform -chdir=infra validate
	terraform -chdir=infra providers lock -platform=linux_amd64 -platform=darwin_amd64 \
		-platform=darwin_arm64 -platform=windows_amd64

## refresh: re-execute the notebooks in place, for committing their outputs (two in a row change nothing)
refresh: notebooks

## benchmark: time each notebook, the data generator, the job runner, the training pipeline, an endpoint,
## a model monitor run at 1M rows
benchmark: setup
	$(BIN)/python tools/benchmark.py
	$(BIN)/python tools/benchmark_training.py
	$(BIN)/python tools/benchmark_endpoints.py
	$(BIN)/python tools/benchmark_batch.py
	$(BIN)/python tools/benchmark_monitoring.py

clean:
	rm -rf _build .accelerator
