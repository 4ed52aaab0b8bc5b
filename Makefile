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
# AWS CLI v1 from PyPI runs the handoff bundle's change-set blocks in the tests, as a platform
# team would; it pins its own botocore, so it gets its own venv too.
AWSCLI_VENV := .venv-awscli
AWSCLI := $(AWSCLI_VENV)/bin/aws
AWSCLI_VERSION := awscli~=1.40
# Mermaid's own bundle renders HANDOFF.md's diagrams in headless Chromium in the tests
# (tests/support/mermaid_browser.py); npm installs it into a folder of its own, git-ignored.
MERMAID_DIR := .mermaid
MERMAID := $(MERMAID_DIR)/node_modules/mermaid/package.json
MERMAID_VERSION := mermaid@11
# aws-cdk-lib, in a venv of its own: make bench's peer (a CDK v2 app of the same stack, benchmarks/cdk_app/),
# and make test synthesises the bundle's CfnInclude apps with it (tests/handoff/test_pipelines_cdk.py).
CDK_VENV := .venv-cdk
CDK_INSTALLED := $(CDK_VENV)/.installed
BUILD := build
ENV ?= staging
PORT ?= 3000
SANDBOX_PORT ?= 4566
# Extra flags for diff/deploy/outputs/destroy: make deploy ENV=pr-7 ARGS="--based-on dev --tags PullRequest=7"
ARGS ?=
# make exits 2 whenever a recipe fails, whatever the CLI's code was (make prints it as "Error N").
# EXIT_CODE_FILE=path makes the stack targets write the CLI's own code (0-4, 130: README "Exit codes") there too.
EXIT_CODE_FILE ?=
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: help template test test-quick test-runtimes lint static bench deploy diff outputs destroy integration serve sandbox clean

help:
	@echo "make template          render build/ (template, parameter files, handoff bundle)"
	@echo "make test              lint + unit, deploy and end-to-end tests (moto, no AWS account)"
	@echo "make test-quick        the fast loop: the tests not marked slow (no moto server, AWS CLI, checkov, processes)"
	@echo "make test-runtimes     the handler's tests on every other Python runtime the template allows"
	@echo "make lint              ruff, mypy --strict, then cfn-lint and checkov on the rendered templates"
	@echo "make bench             print render, lint, handler and load figures, render vs a CDK app"
	@echo "make diff ENV=staging  show the change set a deploy would execute"
	@echo "make deploy ENV=staging"
	@echo "make integration ENV=staging  old integration checks against a real deployed stack"
	@echo "make serve [PORT=3000] run the handler locally behind http://127.0.0.1:PORT/webhook"
	@echo "make sandbox [SANDBOX_PORT=4566]  emulated AWS (moto) on 127.0.0.1 to try diff/deploy/outputs/destroy"
	@echo "  stack targets take ARGS=\"--flags\" and EXIT_CODE_FILE=path (the CLI's exit code; make's is 2)"
	@echo "make clean"

$(INSTALLED): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) --editable '.[test,serve,lint]'
	@touch $@

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install $(PIP_FLAGS) '$(CHECKOV_VERSION)'

$(AWSCLI):
	$(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/pip install $(PIP_FLAGS) '$(AWSCLI_VERSION)'

$(MERMAID):
	npm install --prefix $(MERMAID_DIR) --no-audit --no-fund --loglevel=error '$(MERMAID_VERSION)'

# pip byte-compiles an installed package, but an editable one is compiled on every start under
# PYTHONDONTWRITEBYTECODE (set on this project's CI machines): ~60 ms of each render, and of each
# CLI process the tests start. handler/app.py too: the handler tests import it afresh for every
# test (a cold container), on every runtime.
COMPILE := $(BIN)/python -m compileall -q src/webhook_templates handler

template: $(INSTALLED)
	@$(COMPILE)
	$(BIN)/webhook-templates render --out $(BUILD)

# The code's own checks: ruff on everything, mypy strict on the package (config in pyproject.toml).
static: $(INSTALLED)
	$(BIN)/ruff check src tests benchmarks handler
	$(BIN)/mypy src/webhook_templates

lint: static template $(CHECKOV)
	CHECKOV=$(CHECKOV) $(BIN)/webhook-templates lint --out $(BUILD)

# The tests lint the rendered templates themselves (tests/stack/test_render_and_lint.py).
# -n auto: one worker per core halves the run; every test owns its ports and folders.
test: static $(CHECKOV) $(AWSCLI) $(MERMAID) $(CDK_INSTALLED) test-runtimes
	@$(COMPILE)
	CHECKOV=$(CHECKOV) AWS_CLI=$(AWSCLI) $(BIN)/python -m pytest -n auto

# The fast loop while editing: the template, the handler and the deploy flow's logic, without
# what is marked slow (moto's server, AWS CLI runs, checkov/cfn-lint, child processes, property
# tests; setup.cfg's markers) or needs a deployed stack. make test runs those too.
test-quick: $(INSTALLED)
	@$(COMPILE)
	$(BIN)/python -m pytest -n auto -m "not slow and not integration"

# The handler's own tests on every runtime config.RUNTIMES allows other than .venv's (which runs
# them with everything else), each in a small virtualenv of its own (.venv-pyX.Y, made on first
# use from tests/handler/requirements-runtimes.txt: no cfn-lint or checkov). The interpreter is
# pyenv's X.Y.* or pythonX.Y on PATH; one that is absent is skipped with a line saying so.
RUNTIME_REQUIREMENTS := tests/handler/requirements-runtimes.txt
test-runtimes: $(INSTALLED)
	@own=$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	versions=$$($(BIN)/python -c 'from webhook_templates.config import RUNTIMES; print(*(r.removeprefix("python") for r in RUNTIMES))'); \
	for v in $$versions; do \
	  if [ "$$v" = "$$own" ]; then echo "test-runtimes: python$$v: the main run (.venv) tests it"; continue; fi; \
	  py=$$(ls -d $$HOME/.pyenv/versions/$$v.*/bin/python 2>/dev/null | tail -n 1); \
	  [ -n "$$py" ] || py=$$(python$$v -c 'import sys; print(sys.executable)' 2>/dev/null); \
	  if [ -z "$$py" ]; then echo "test-runtimes: SKIPPED python$$v: no such interpreter on this machine"; continue; fi; \
	  $(MAKE) --no-print-directory .venv-py$$v/.installed RUNTIME_PYTHON=$$py || exit 1; \
	  echo "test-runtimes: python$$v ($$py): the handler suite"; \
	  .venv-py$$v/bin/python -m compileall -q src/webhook_templates handler || exit 1; \
	  PYTHONPATH=src .venv-py$$v/bin/python -m pytest tests/handler -q -n auto -p no:cacheprovider || exit 1; \
	done

.venv-py%/.installed: $(RUNTIME_REQUIREMENTS)
	$(RUNTIME_PYTHON) -m venv .venv-py$*
	.venv-py$*/bin/pip install $(PIP_FLAGS) --requirement $(RUNTIME_REQUIREMENTS)
	@touch $@

# Installing aws-cdk-lib may fail (offline, no Node.js): bench then prints a skip line for its CDK
# peer, and the CfnInclude test skips with one.
$(CDK_INSTALLED):
	@($(PYTHON) -m venv $(CDK_VENV) && $(CDK_VENV)/bin/pip install $(PIP_FLAGS) 'aws-cdk-lib>=2,<3' constructs \
	  && touch $@) || (rm -rf $(CDK_VENV); echo "warning: could not install aws-cdk-lib into $(CDK_VENV):" \
	  "the CDK peer (make bench) and the CfnInclude test (make test) are skipped")

bench: template $(CDK_INSTALLED)
	$(BIN)/python benchmarks/run.py

# Run webhook-templates with $(1); keep its exit code in $(EXIT_CODE_FILE) when set, and exit with it.
cli = echo "$(BIN)/webhook-templates $(1) $(ARGS)"; $(BIN)/webhook-templates $(1) $(ARGS); status=$$?; \
	if [ -n "$(EXIT_CODE_FILE)" ]; then echo $$status > "$(EXIT_CODE_FILE)"; fi; exit $$status

diff: template
	@$(call cli,diff --env $(ENV))

deploy: template
	@$(call cli,deploy --env $(ENV))

outputs: $(INSTALLED)
	@$(call cli,outputs --env $(ENV))

destroy: $(INSTALLED)
	@$(call cli,destroy --env $(ENV))

# Refresh cfn-outputs/ from the real stack first: the checks start from its outputs.
integration: $(INSTALLED)
	$(BIN)/webhook-templates outputs --env $(ENV)
	WEBHOOK_INTEGRATION_ENV=$(ENV) $(BIN)/python -m pytest -m integration tests/deploy/test_integration.py

serve: template
	$(BIN)/webhook-templates serve --port $(PORT)

# The patched moto server the deploy tests use (tests/support/sandbox.py), until Ctrl-C.
sandbox: $(INSTALLED)
	PYTHONPATH=tests $(BIN)/python -m support.sandbox --port $(SANDBOX_PORT)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(AWSCLI_VENV) $(CDK_VENV) $(MERMAID_DIR) .venv-py3.* $(BUILD)/* cfn-outputs .pytest_cache .hypothesis .mypy_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
