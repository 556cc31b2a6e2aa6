# Two commands for a new user: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/spine.tar.gz
# What the trained model depends on: a change to any of these retrains, nothing else does.
MODEL_INPUTS := config.yml domain.yml $(wildcard data/nlu/*.yml data/nlu/*/*.yml data/safety/*.yml) data/rules.yml \
                data/procedure_names.yml $(wildcard bot/components/*.py) bot/language.py bot/procedure_names.py bot/safety.py

.PHONY: run test test-conversations bench install browser train validate clean
# Staff test conversations to play (a file or folder), and a running assistant to play them against
# (empty: `test-conversations` starts one with the current model).
CONVERSATIONS ?= tests/conversations
RASA_URL ?=
# `make bench BENCH_ARGS=--compare-pipelines` also trains the rasa init pipeline and USE (an hour more).
BENCH_ARGS ?=

run: install $(MODEL)  ## set up, train if needed, start the assistant and the demo page (Ctrl-C stops them)
	scripts/serve.sh

test: install browser $(MODEL)  ## set up, train if needed, run every test
	$(PY) -m pytest

test-conversations: install $(MODEL)  ## play the staff's test conversations; report in reports/conversations/
	$(PY) -m bot.staff.conversation_tests $(CONVERSATIONS) $(if $(RASA_URL),--url $(RASA_URL))

bench: install $(MODEL)  ## measure accuracy, safety, latency, throughput, memory; writes reports/bench.md
	$(PY) -m bench.run $(BENCH_ARGS)

install: $(VENV)/.installed web/node_modules/.installed

# The widget's one npm dependency (socket.io-client), exactly as package-lock.json pins it.
web/node_modules/.installed: web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	touch $@

browser:  ## Debian's Chromium and the Thai/CJK fonts, for the browser tests
	scripts/install-browser.sh

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(PY) || "$$(scripts/find-python310.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==24.0"
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

train: install $(MODEL)

$(MODEL): $(MODEL_INPUTS)
	$(RASA) train --fixed-model-name spine --out models
	touch $@

validate: install
	$(RASA) data validate --fail-on-warnings

clean:
	rm -rf models .pytest_cache reports
