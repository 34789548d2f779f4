# outlet: every command sets itself up on a fresh machine (a venv from requirements*.txt).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAGE ?= dev
VALIDATE_REGION ?= us-east-1
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: run operator test lint typecheck unit package validate deploy bench load clean
.PHONY: demo browser screenshots train-sentiment

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==26.2.1  # chalice 1.34 wants pip<26.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

run: $(STAMP)  ## the whole service locally on an embedded moto server; FRESH=1 starts with no data
	@OUTLET_FRESH='$(FRESH)' exec $(BIN)/python -m localcloud.run  # exec: make waits on the server itself

demo: $(STAMP)  ## make run, seeded with a realistic month through the real routes (localcloud/demo.py)
	$(BIN)/python -m localcloud.demo

browser: $(STAMP)  ## only the browser tests (headless chromium against a seeded local server)
	$(BIN)/pytest -m browser

screenshots: $(STAMP)  ## docs/console-*.png: the demo's console in headless chromium
	$(BIN)/python -m tests.browser.screenshots

operator: $(STAMP)  ## a console operator on a running `make run` (ADMIN_TOKEN; OPERATOR_EMAIL, OPERATOR_NAME, OPERATOR_PASSWORD optional)
	$(BIN)/python -m localcloud.operators

test: lint typecheck unit  ## ruff, mypy, pytest: what CI runs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

package: $(STAMP)  ## SAM template + deployment.zip in build/
	rm -rf build/$(STAGE)
	$(BIN)/chalice package --stage $(STAGE) --merge-template infra/template.json build/$(STAGE)
	$(BIN)/python -m infra.slim build/$(STAGE)/deployment.zip  # drops what never loads (infra/slim.py)
	@ls -l build/$(STAGE)

validate: package  ## offline infra checks: cfn-lint on SAM and its translation, moto smoke deploy
	$(BIN)/python -m infra.validate build/$(STAGE) --stage $(STAGE) --region $(VALIDATE_REGION)

deploy: $(STAMP)  ## validate, then aws cloudformation package/deploy (needs real AWS credentials)
	@STAGE=$(STAGE) BIN=$(BIN) infra/deploy.sh

bench: $(STAMP)  ## figures beside their floors (bench/)
	$(BIN)/python -m bench

train-sentiment: $(STAMP)  ## chalicelib/sentiment/model.bin.gz from ../shared/data/sentiment (SENTIMENT_DATA); prints val figures
	$(BIN)/python -m training.train_sentiment

load: $(STAMP)  ## only the load figure: `make run` under 8 concurrent senders (LOAD_SENDERS, LOAD_X_DELIVERIES, LOAD_ORDERS)
	$(BIN)/python -m bench.load

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
