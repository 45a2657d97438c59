# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv if it is missing and installs dhtea into it first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test reports hunt-gapowner bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

# The main job: hunt bugs in the seed's `classic` protocol with a fixed seed.
# dhtea exits 1 when it finds bugs, which is what this demo expects.
demo: $(STAMP)
	@$(BIN)/dhtea hunt --protocol classic --seed 1 --examples 300 --workers 2 --out reports/demo; \
	  status=$$?; \
	  echo; echo "(dhtea is installed in $(VENV): use $(BIN)/dhtea, or 'source $(BIN)/activate' first)"; \
	  test $$status -eq 1

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The committed HTML reports, regenerated from scratch: a hunt in `classic` (its
# bugs, each shrunk, under reports/classic/), and `gapowner` passing both a hunt
# and the scenario of every classic bug (under reports/gapowner/). Every picture
# in reports/*.html is drawn from the trace files and hunt.json next to it.
# Reproducible: running it twice leaves `git status` clean. Hunts are seeded,
# --no-timings keeps wall-clock time out of hunt.json, and every path given is
# relative to this folder, so the pages name the same files on any machine.
reports: $(STAMP)
	rm -rf reports/classic reports/gapowner
	$(BIN)/dhtea hunt --protocol classic --seed 1 --examples 300 --out reports/classic --quiet --no-color --no-timings --no-database --workers 1; \
	  test $$? -eq 1  # classic has bugs: exit 1 is the expected outcome
	$(BIN)/dhtea hunt --protocol gapowner --seed 1 --examples 2000 --out reports/gapowner --quiet --no-color --no-timings --no-database --workers 1
	for trace in reports/classic/*.trace.json; do \
	  $(BIN)/dhtea replay $$trace --protocol gapowner --quiet --no-color \
	    --save reports/gapowner/gapowner-on-$$(basename $$trace) || exit 1; \
	done
	$(BIN)/dhtea report reports/classic -o reports/classic.html \
	  --title "dhtea report: the bugs of classic"
	$(BIN)/dhtea report reports/gapowner reports/gapowner/gapowner-on-*.trace.json -o reports/gapowner.html \
	  --title "dhtea report: gapowner passes"

# The long hunt: 10,000 scenarios per gate test against the corrected protocol.
# On every core: pytest-xdist runs the gate tests side by side (-n auto). Each
# test has its own key in Hypothesis's example database, so the workers never
# write the same entries.
hunt-gapowner: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist worksteal tests/search/test_gate.py --hypothesis-profile=dhtea-hunt

bench: $(STAMP)
	$(BIN)/python benchmarks/sim_speed.py

clean:
	rm -rf $(VENV) reports/demo reports/failures .hypothesis .dhtea
