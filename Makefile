# webhook-templates: `make template` renders the stack, `make test` checks everything.
# Both create the virtualenvs on first use; later runs reuse them.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# checkov pins library versions (boto3 among them) that would fight ours: own venv.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_VERSION := checkov~=3.3.30
BUILD := build
ENV ?= staging
PORT ?= 3000
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: help template test lint bench deploy diff outputs destroy integration serve clean

help:
	@echo "make template          render build/ (template, parameter files, handoff bundle)"
	@echo "make test              lint + unit, deploy and end-to-end tests (moto, no AWS account)"
	@echo "make lint              cfn-lint and checkov on the rendered templates"
	@echo "make bench             print render, lint, handler and load figures"
	@echo "make diff ENV=staging  show the change set a deploy would execute"
	@echo "make deploy ENV=staging"
	@echo "make integration ENV=staging  old integration checks against a real deployed stack"
	@echo "make serve [PORT=3000] run the handler locally behind http://127.0.0.1:PORT/webhook"
	@echo "make clean"

$(INSTALLED): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) --editable '.[test,serve]'
	@touch $@

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install $(PIP_FLAGS) '$(CHECKOV_VERSION)'

template: $(INSTALLED)
	$(BIN)/webhook-templates render --out $(BUILD)

lint: template $(CHECKOV)
	CHECKOV=$(CHECKOV) $(BIN)/webhook-templates lint --out $(BUILD)

# -n auto: one worker per core halves the run; every test owns its ports and folders.
test: $(INSTALLED) $(CHECKOV)
	CHECKOV=$(CHECKOV) $(BIN)/python -m pytest -n auto

bench: template
	$(BIN)/python benchmarks/run.py

diff: template
	$(BIN)/webhook-templates deploy --env $(ENV) --dry-run

deploy: template
	$(BIN)/webhook-templates deploy --env $(ENV)

outputs: $(INSTALLED)
	$(BIN)/webhook-templates outputs --env $(ENV)

destroy: $(INSTALLED)
	$(BIN)/webhook-templates destroy --env $(ENV)

# Refresh cfn-outputs/ from the real stack first: the checks start from its outputs.
integration: $(INSTALLED)
	$(BIN)/webhook-templates outputs --env $(ENV)
	WEBHOOK_INTEGRATION_ENV=$(ENV) $(BIN)/python -m pytest -m integration tests/deploy/test_integration.py

serve: template
	$(BIN)/webhook-templates serve --port $(PORT)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(BUILD)/* cfn-outputs .pytest_cache .hypothesis src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
