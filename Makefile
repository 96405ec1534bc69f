# Each target creates .venv and installs the project on first use, so on a fresh
# machine `make demo` or `make test` is the only command needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO_OUT ?= reports/demo
APP_PORT ?= 8501
# runs are recorded beside the outputs: `make demo` writes them to reports/mlflow.db
MLFLOW_STORE ?= $(dir $(DEMO_OUT))mlflow.db
MLFLOW_PORT ?= 5000

.PHONY: install demo app mlflow notebooks test test-fast bench lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,spark,uplift]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/bayes demo --out $(DEMO_OUT)

# the Streamlit app on http://localhost:$(APP_PORT) (demo data generated on first use)
app: $(STAMP)
	$(VENV)/bin/bayes app --port $(APP_PORT)

# MLflow's UI on the runs recorded by `make demo` (MLFLOW_STORE=path/mlflow.db for others)
mlflow: $(STAMP)
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(abspath $(MLFLOW_STORE)) \
		--host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1

# execute every notebook at full size and store it with its outputs (NB=notebooks/05_ltv.ipynb
# for one; QUICK=1 for the tests' small sizes)
NB ?= notebooks/*.ipynb
notebooks: $(STAMP)
	$(PY) -m bayes.notebooks $(if $(QUICK),--quick) $(NB)

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup --no-loadscope-reorder -m "not study"

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup --no-loadscope-reorder -m "not slow and not study"

# the statistical studies whose figures the docs quote (minutes each; not part of `make test`)
study: $(STAMP)
	$(PY) -m pytest -m study -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench,nutpie]"
	$(PY) -m tests.benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) reports .pytest_cache
