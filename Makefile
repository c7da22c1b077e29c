# Two commands do everything on a fresh machine:
#   make demo   bring the local stack up and run the demo
#   make test   the whole test suite, against real components
# Both install what they need first (idempotently): the virtualenv with the
# project and its test extras, and the pinned control-plane binaries, built
# once through the Go module proxy into ~/.cache/tushare-rollout/.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: demo test venv controlplane clean help

help:
	@echo "make demo   - bring the local stack up and run the demo"
	@echo "make test   - run the whole suite against the real components"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

controlplane:
	scripts/build-controlplane

test: venv controlplane
	$(BIN)/pytest $(PYTEST_ARGS)

demo: venv controlplane
	$(BIN)/tushare-rollout demo

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info
