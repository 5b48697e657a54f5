# The two commands of README.md: `make repro` (set up, make the sample if data/ is absent, run the pipeline)
# and `make test` (set up, run the tests). Everything installs from this repo's own files into .venv/.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Stages call `python -m stages.<name>`: put the venv first on PATH so dvc runs them with it.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup repro tune test test-fast sample plots

setup: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

# The synthetic sample, only when data/ is absent (a real data set put there is never touched).
data: | $(STAMP)
	$(PY) -m stages.make_sample --out data

sample: data

# The main pipeline up to the scored submission. The tune stage is run on demand (`make tune`):
# it depends on the train block, so it would otherwise rerun with every training experiment.
repro: $(STAMP) data
	dvc repro evaluate

tune: $(STAMP) data
	dvc repro tune

# The benchmark suite (docs/benchmarks.md): prints a table, writes bench/results.json. QUICK=1 for a smoke run.
.PHONY: bench
bench: $(STAMP)
	$(PY) -m bench.run $(if $(QUICK),--quick) --out bench/results.json

# The plots of dvc.yaml as dvc_plots/index.html, viewable offline (vega scripts inlined, see docs/pipeline.md).
plots: $(STAMP)
	$(PY) -m src.reports.offline_plots
	dvc plots show --html-template .dvc/tmp/plots_offline.html

# System packages of the browser and SSH-remote tests (chromium, openssh-server): installed when root.
test: $(STAMP)
	bash tests/helpers/system_deps.sh
	$(PY) -m pytest -q --durations=15 tests

# The unit tier alone (tests/conftest.py): seconds per test, no stages run; for development, not CI.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m unit --durations=10 tests
