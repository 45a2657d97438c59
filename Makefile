# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv if it is missing and installs dhtea into it first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test hunt-gapowner bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

# The main job: hunt bugs in the seed's `classic` protocol with a fixed seed.
# dhtea exits 1 when it finds bugs, which is what this demo expects.
demo: $(STAMP)
	@$(BIN)/dhtea hunt --protocol classic --seed 1 --examples 300 --out reports/demo; \
	  status=$$?; \
	  echo; echo "(dhtea is installed in $(VENV): use $(BIN)/dhtea, or 'source $(BIN)/activate' first)"; \
	  test $$status -eq 1

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The long hunt: 10,000 scenarios per gate test against the corrected protocol.
hunt-gapowner: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_gate.py --hypothesis-profile=dhtea-hunt

bench: $(STAMP)
	$(BIN)/python benchmarks/sim_speed.py

clean:
	rm -rf $(VENV) reports/demo reports/failures .hypothesis
