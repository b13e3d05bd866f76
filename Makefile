# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS ?= dev,log,lang,dist,robotics,offline
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

# The main job: SAC on gym/Pendulum-v1, 12k env steps (a few minutes on 2 cores): the evaluation
# return climbs from about -1300 to about -200; ends with the summary line and data/make-run/curve.png.
RUN_FLAGS := --env gym/Pendulum-v1 --epochs 11 --exp-name make-run \
	--set algorithm_kwargs/min_num_steps_before_training=1000 --set policy_kwargs/hidden_sizes=[128,128] \
	--set qf_kwargs/hidden_sizes=[128,128] --set trainer_kwargs/policy_lr=1e-3 --set trainer_kwargs/qf_lr=1e-3
run: install
	$(PY) run_scripts/sac.py $(RUN_FLAGS)
	$(PY) scripts/plot.py "$$(ls -td data/make-run/*/ | head -1)" --y "evaluation/Average Returns" --x "Env Steps Total" --out data/make-run/curve.png

# Fast suite (slow learning tests are marked `slow` and run by `make test-all` / benchmarks), one
# worker per core (each test process uses one thread: tests/conftest.py).
test: install
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider -n 2 tests

test-all: install
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) data .pytest_cache
