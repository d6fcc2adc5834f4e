# Two commands on a fresh machine with Python 3.11 and make:
#   make demo   set up, then build and run the example spec
#   make test   set up (Graphviz too, when root), then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
GRAPHDSL := TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m graphdsl

.PHONY: demo test bench tables clean graphviz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(GRAPHDSL) check specs/linear.gcomp
	$(GRAPHDSL) plan specs/linear.gcomp
	$(GRAPHDSL) build specs/linear.gcomp -o out/linear
	$(GRAPHDSL) run out/linear --fetch train --fetch W --fetch b --repeat 201

# The suite runs on TEST_WORKERS processes (pytest-xdist; "auto" for one per core, 0 for none);
# --dist loadfile runs each test file's tests on one worker, one after the other, so that a
# module-scoped fixture (every spec built, a model saved) is made once, not once per worker.
TEST_WORKERS ?= 2

test: $(STAMP) graphviz
	$(PY) -m ruff check graphdsl tests benchmarks specs
	$(PY) -m mypy
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# `graphdsl graph -o FILE.svg` and its tests need Graphviz's dot. Installed from Debian's packages
# when missing; without root (or apt) the SVG/PNG tests are skipped and say why.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing Graphviz (dot) with apt-get"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; } \
	  || echo "warning: could not install Graphviz (apt-get install graphviz needs root): the SVG/PNG tests will be skipped"; }

# After an edit of grammar/*.lark: regenerate the LALR tables every start of graphdsl reads
# (grammar/graphdsl.*.json; tests/test_grammar_tables.py fails while they are stale).
tables: $(STAMP)
	$(PY) -m graphdsl.lang.lalr_tables

bench: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) benchmarks/bench_copy.py

clean:
	rm -rf $(VENV) build dist *.egg-info
