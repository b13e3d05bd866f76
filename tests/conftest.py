import copy
import os
import subprocess
import sys

import pytest
import torch

from experiment_configs.registry import default_variant

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Under pytest-xdist (`make test`: one worker per core) every test process, and every run script a
# test starts, uses one thread: two workers with two threads each would oversubscribe the cores.
WORKER_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} if os.environ.get("PYTEST_XDIST_WORKER") else {}
if WORKER_THREADS:
    torch.set_num_threads(1)


def tiny_variant(env="gym/Pendulum-v1", epochs=2, **algo):
    """A SAC variant small enough to run in a couple of seconds."""
    v = default_variant("sac")
    v["env"] = env
    v["policy_kwargs"]["hidden_sizes"] = [32, 32]
    v["qf_kwargs"]["hidden_sizes"] = [32, 32]
    v["replay_buffer_size"] = 5000
    v["algorithm_kwargs"].update(num_epochs=epochs, batch_size=32, max_path_length=50, num_eval_steps_per_epoch=50,
                                 num_expl_steps_per_train_loop=100, num_trains_per_train_loop=20,
                                 min_num_steps_before_training=100)
    v["algorithm_kwargs"].update(algo)
    v["logging"].update(progress_bar=False, snapshot_mode="all", snapshot_gap=1)
    return copy.deepcopy(v)


def reset_goals(env, n):
    """The goals (a MetaWorld observation's last 3 entries) shown by n resets of `env`, in order."""
    return [tuple(round(float(x), 5) for x in env.reset()[0][-3:]) for _ in range(n)]


def run_cli(*args, timeout=300, cwd=ROOT, env_extra=None):
    """Run a repo script in a fresh python process; returns CompletedProcess."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", **WORKER_THREADS, **(env_extra or {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def tiny():
    return tiny_variant
