"""The contract every registered algorithm keeps, run over the whole registry: each algorithm
module's CONTRACT_CASES (variant overrides on top of its QUICK sizes) get

- a quick run with one progress row per epoch, a snapshot and a summary;
- same seed, same progress.csv (byte for byte);
- resumed from a mid-run snapshot equals uninterrupted (byte for byte, evaluation columns included);
- a non-finite loss stops the run (exit code 1 from the launcher) and keeps the last good snapshot;
- offline evaluation of its snapshot (an algorithm with POLICY = False has none);
- a bad value rejected before anything is written (one line, exit code 2, no run dir).

A new algorithm gets all of it by registering with its CONTRACT_CASES."""
import copy
import os
import shutil

import numpy as np
import pytest

from conftest import run_cli
from experiment_configs import registry
from experiment_configs.base_experiment import experiment
from experiment_configs.evaluation import load_policies
from experiment_utils.launcher import launch
from lifelong_rl.core.evaluation import evaluate
from lifelong_rl.core.logger import load_snapshot
from lifelong_rl.core.protocols import BatchSource, Buffer, Collector, RolloutStore, Trainer
from lifelong_rl.variants import Param, merge_variant, set_path

CASES = [(name, case) for name in registry.names() for case in registry.get(name).CONTRACT_CASES]

def run_script(name):
    return f"run_scripts/{name}.py"


def quick(name, case):
    v = registry.default_variant(name)
    for k, val in registry.quick_overrides(name).items():
        set_path(v, k, copy.deepcopy(val))
    v = merge_variant(v, registry.get(name).CONTRACT_CASES[case])
    v["logging"].update(progress_bar=False, snapshot_mode="all")
    return registry.validate(v)


def phases(loop):
    """The TrainingLoops of a run in order: an offline phase's, then an online one's."""
    return getattr(loop, "phases", [loop])


def progress(d, phase=None):
    """One phase's progress table, or (None) every phase's in order."""
    names = [f"{phase}progress.csv"] if phase is not None else ["offline_progress.csv", "progress.csv"]
    out = b""
    for name in names:
        if os.path.isfile(os.path.join(d, name)):
            with open(os.path.join(d, name), "rb") as f:
                out += f.read()
    return out


@pytest.mark.parametrize("name,case", CASES)
def test_contract(tmp_path, monkeypatch, name, case):
    v = quick(name, case)
    a, b = (str(tmp_path / x) for x in "ab")
    loop = experiment(v, a)
    assert isinstance(loop.trainer, Trainer) and isinstance(loop.schedule.buffer, (Buffer, RolloutStore, BatchSource))
    assert all(isinstance(c, Collector) for c in getattr(loop.schedule, "collectors", []))
    for phase in phases(loop):
        n, p = phase.num_epochs, phase.phase
        assert progress(a, p).count(b"\n") == n + 1 and load_snapshot(os.path.join(a, f"{p}params.pt"))["epoch"] == n - 1
    assert loop.summary and all(isinstance(k, str) for k in loop.summary)

    experiment(v, b)
    assert progress(b) == progress(a), "same seed, different progress.csv"

    # Resume from a snapshot in the middle of the run (mid-task and mid-episode in the quick sizes; an
    # offline-then-online run: in each phase); later snapshots are lost, as when a run is killed.
    snaps = [f"{phase.phase}itr_{e}.pt" for phase in phases(loop) for e in range(phase.num_epochs)]
    n = len(snaps)
    points = [0, phases(loop)[0].num_epochs] if len(phases(loop)) > 1 else [n // 2 - 1 if n <= 2 else n // 2]
    for k in points:
        c = str(tmp_path / f"resumed_{k}")
        shutil.copytree(a, c)
        for name in snaps[k + 1:] + [f"{phase.phase}params.pt" for phase in phases(loop)]:
            os.remove(os.path.join(c, name))
        resume = os.path.join(c, snaps[k])
        experiment(load_snapshot(resume)["variant"], c, resume_from=resume)
        assert progress(c) == progress(a), f"resumed after {snaps[k]} differs from the uninterrupted run"

    if not getattr(registry.get(v["algorithm"]), "POLICY", True):  # a representation (the collective's transformer)
        return
    entries = load_policies(os.path.join(a, f"{phases(loop)[-1].phase}params.pt"))[1]
    assert len(entries) >= 1
    for _, env, policy in entries:
        res = evaluate(env, policy, 1)
        assert np.isfinite(res["mean_return"]) and res["success_rate"] in (None, 0.0, 1.0)

    # A non-finite loss in the second epoch: exit code 1, the snapshot of the first epoch stays.
    build = registry.build
    first = phases(loop)[0].phase

    def poisoned(variant, log_dir):
        loop, close = build(variant, log_dir)
        calls = iter([True] + [False] * n)
        loop.trainer.losses_finite = lambda: next(calls)
        return loop, close

    monkeypatch.setattr(registry, "build", poisoned)
    d = str(tmp_path / "nan")
    assert launch([(v, d, None)], "local") == 1
    assert load_snapshot(os.path.join(d, f"{first}params.pt"))["epoch"] == 0
    assert progress(d, first).count(b"\n") == 2


def _a_float_key(schema, path=""):
    for k, p in schema.items():
        key = f"{path}/{k}" if path else k
        if isinstance(p, Param) and p.type == "float" and p.low is not None:
            return key, p
        if isinstance(p, dict):
            found = _a_float_key(p, key)
            if found:
                return found
    return None


@pytest.mark.parametrize("name", registry.names())
def test_bad_values_are_rejected_before_anything_is_written(tmp_path, name):
    key, p = _a_float_key(registry.schema(name))
    for value, needle in (("foo", f"bad value 'foo' for '{key}'"), (str(p.low - 1), f"for '{key}': expected a float >= ")):
        r = run_cli(run_script(name), "--quick", "--log-dir", str(tmp_path), "--set", f"{key}={value}")
        err = r.stderr.strip()
        assert r.returncode == 2 and needle in err and len(err.splitlines()) == 1, err
        assert not any(tmp_path.iterdir())


def test_every_algorithm_has_a_run_script_and_contract_cases():
    from conftest import ROOT

    for name in registry.names():
        assert os.path.isfile(os.path.join(ROOT, run_script(name))), name
        module = registry.get(name)
        assert module.CONTRACT_CASES and module.NAME == name and module.__doc__
