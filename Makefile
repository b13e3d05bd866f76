# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS ?= dev,log,lang
STAMP := $(VENV)/.installed-$(shell cat setup.py | cksum | cut -d' ' -f1)

.PHONY: install run test test-all bench clean

install: $(STAMP)

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The main job: a short SAC run on metaworld/reach-v3 (a few minutes on 2 cores), writing data/.
run: install
	$(PY) run_scripts/sac.py --env metaworld/reach-v3 --epochs 8 --set algorithm_kwargs/min_num_steps_before_training=2000 --exp-name make-run

# Fast suite (slow learning tests are marked `slow` and run by `make test-all` / benchmarks).
test: install
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider tests

test-all: install
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) data .pytest_cache
