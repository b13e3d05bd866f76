"""Regression tests for the defects issue 15 measured on main before the architecture change; each
docstring says what main did."""
import os

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import run_cli
from experiment_configs import registry
from experiment_configs.base_experiment import experiment
from lifelong_rl.core.logger import wandb_mode
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.variants import set_path


def quick(name, **sets):
    v = registry.default_variant(name)
    for k, val in {**registry.quick_overrides(name), **sets}.items():
        set_path(v, k, val)
    v["logging"].update(progress_bar=False, snapshot_mode="all")
    return v


def only_run(root):
    runs = [p.parent for p in root.rglob("progress.csv")]
    assert len(runs) == 1, runs
    return runs[0]


def test_expand_switches_task_only_at_phase_starts(tmp_path):
    """Main took every epoch of phase 2 on for a task switch (it compared the collector that last
    stepped with the phase's), resetting Adam, alpha and, with reset_buffer=reset, the buffer mid-phase."""
    loop = experiment(quick("continual_sac", **{"continual/cl_method": "expand", "continual/reset_buffer": "reset"}),
                      str(tmp_path))
    log = open(tmp_path / "debug.log").read()
    assert log.count("task 1: push-v3") == 1 and "task 0: reach-v3" in log
    buf = loop.schedule.buffer
    assert len(buf) == 200 and np.bincount(buf.task_ids[:200]).tolist() == [100, 100]  # phase 1, whole, tasks 0 and 1
    # Adam's step count: the updates since phase 1 began (its 50 random steps take none), not since mid-phase.
    steps = [int(s["step"]) for s in loop.trainer.policy_optimizer.state_dict()["state"].values()]
    assert set(steps) == {150}


def test_the_issue_resume_command_equals_the_uninterrupted_run(tmp_path):
    """Main: 2 epochs then --resume --epochs 4 differed from 4 epochs (evaluation env RNG not in the
    snapshot, the episode in progress dropped)."""
    common = ["--quick", "--env", "gym/Pendulum-v1", "--seed", "3", "--snapshot-mode", "all", "--save-replay-buffer",
              "--no-progress"]
    assert run_cli("run_scripts/sac.py", *common, "--epochs", "2", "--log-dir", str(tmp_path / "a")).returncode == 0
    assert run_cli("run_scripts/sac.py", *common, "--epochs", "4", "--log-dir", str(tmp_path / "b")).returncode == 0
    a, b = only_run(tmp_path / "a"), only_run(tmp_path / "b")
    r = run_cli("run_scripts/sac.py", "--resume", str(a), "--epochs", "4", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert (a / "progress.csv").read_bytes() == (b / "progress.csv").read_bytes()
    snap = torch.load(a / "itr_1.pt", weights_only=False)
    assert len(snap["schedule"]["collectors"][0]["episode"]["actions"]) == 20  # 300 steps of 70-step episodes: replayed


@pytest.mark.parametrize("method", ["multitask", "expand"])
def test_exploration_statistics_cover_every_task_collector(tmp_path, method):
    """Main logged exploration statistics of whichever collector stepped last (expand), and a resume
    wrote that collector's env state and counters into collectors[task_index]."""
    loop = experiment(quick("continual_sac", **{"continual/cl_method": method}), str(tmp_path))
    df = pd.read_csv(tmp_path / "progress.csv")
    cols = loop.schedule.collectors
    assert df["exploration/num episodes"].sum() == sum(c.num_paths_total for c in cols) > 0
    assert df["exploration/num steps total"].iloc[-1] == sum(c.num_steps_total for c in cols) == 400
    snap = torch.load(tmp_path / "params.pt", weights_only=False)
    assert [s["num_steps_total"] for s in snap["schedule"]["inner"]["collectors"]] == [c.num_steps_total for c in cols]


def test_a_continual_resume_without_its_buffer_is_refused(tmp_path):
    """Main resumed perfect_memory / reservoir / EWC / LEGION runs from an empty buffer with only a log line."""
    experiment(quick("continual_sac", **{"continual/cl_method": "perfect_memory", "logging/save_replay_buffer": False}),
               str(tmp_path))
    os.remove(tmp_path / "params.pt")
    for e in (2, 3):
        os.remove(tmp_path / f"itr_{e}.pt")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    r = run_cli("run_scripts/continual_sac.py", "--resume", str(tmp_path))
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and "holds no replay buffer" in err, err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("flags", [["--set", "trainer_kwargs/discount=0.9"], ["--device", "cpu"], ["--save-replay-buffer"],
                                   ["--log-to-tensorboard"], ["--seed", "4"], ["--snapshot-mode", "all"]])
def test_resume_refuses_flags_that_would_change_the_run(tmp_path, flags):
    """Main ignored --set, --device, --save-replay-buffer and the logger flags with --resume, silently."""
    experiment(quick("sac", env="gym/Pendulum-v1"), str(tmp_path))
    r = run_cli("run_scripts/sac.py", "--resume", str(tmp_path), "--epochs", "3", *flags)
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and flags[0] in err and "would change it" in err, err
    assert pd.read_csv(tmp_path / "progress.csv")["Epoch"].tolist() == [0, 1]


BAD = [
    ("sac", ["--set", "policy_kwargs/hidden_sizes=64"], "bad value 64 for 'policy_kwargs/hidden_sizes': expected a list of ints"),
    ("sac", ["--set", "algorithm_kwargs/num_epochs=inf"], "bad value 'inf' for 'algorithm_kwargs/num_epochs'"),
    ("sac", ["--set", "trainer_kwargs/target_entropy=foo"], "bad value 'foo' for 'trainer_kwargs/target_entropy'"),
    ("sac", ["--device", "gpu"], "bad value 'gpu' for 'device'"),
    ("sac", ["--epochs", "0"], "bad value 0 for 'algorithm_kwargs/num_epochs': expected an int >= 1"),
    ("continual_sac", ["--set", "algorithm_kwargs/updates_per_step=-1"], "for 'algorithm_kwargs/updates_per_step': expected a float >= 0"),
    ("continual_sac", ["--set", "continual/random_steps_per_task=300"], "random_steps_per_task (300) exceeds continual/steps_per_task (200)"),
    ("continual_sac", ["--num-tasks", "-1"], "bad value -1 for 'continual/num_tasks'"),
    ("continual_sac", ["--stream", "reach,pusj"], "did you mean push-v3"),
    ("legion", ["--stream", "cw11"], "did you mean cw10"),
    ("legion", ["--set", "legion/language_model=/no/such/model"], "not 'all-MiniLM-L6-v2' and not a local model directory"),
    ("continual_sac", ["--set", "continual/references=/no/such/refs.json"], "continual/references: file not found"),
    ("sac", ["--seed", "foo"], "argument --seed: invalid int value: 'foo'"),
    ("sac", ["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("name,args,needle", BAD)
def test_bad_values_are_one_line_exit_2_and_write_nothing(tmp_path, name, args, needle):
    """Main passed these to the run (a traceback and a half-made run dir) or accepted them."""
    r = run_cli(f"run_scripts/{name}.py", "--quick", "--log-dir", str(tmp_path / "runs"), *args)
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and needle in err, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_one_line(tmp_path):
    r = run_cli("run_scripts/sac.py", "--quick", "--device", "cuda", "--log-dir", str(tmp_path / "runs"))
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and "CUDA is not available" in err, err
    assert not (tmp_path / "runs").exists()


def test_child_seeds_are_independent_streams(tmp_path):
    """Main seeded everything with one integer: the replay sampler and MetaWorld's goal sampler shared
    a stream, every task's random warm-up actions were one sequence, exploration and evaluation gym
    envs started alike."""
    seeds = RunSeeds(0)
    names = ["buffer", "goal/0", "goal/1", "env/exploration/0", "env/exploration/1", "env/evaluation/0", "torch", "dpmm"]
    children = [seeds.child(n) for n in names]
    assert len(set(children)) == len(names) and children == [RunSeeds(0).child(n) for n in names]
    assert RunSeeds(1).child("buffer") != children[0]
    loop, close = registry.build(registry.validate(quick("continual_sac")), str(tmp_path / "c"))
    a, b = (c.env for c in loop.schedule.collectors)
    assert not np.allclose([a.action_space.sample() for _ in range(5)], [b.action_space.sample() for _ in range(5)])
    close()
    loop, close = registry.build(registry.validate(quick("sac", env="gym/Pendulum-v1")), str(tmp_path / "s"))
    expl, ev = loop.schedule.collectors[0].env, loop.schedule.eval_collector.env
    assert not np.allclose(expl.reset()[0], ev.reset()[0])
    close()
    # The exploration and evaluation envs of a MetaWorld task share its goal.
    loop, close = registry.build(registry.validate(quick("sac")), str(tmp_path / "m"))
    expl, ev = loop.schedule.collectors[0].env, loop.schedule.eval_collector.env
    assert np.array_equal(expl.reset()[0][-3:], ev.reset()[0][-3:])
    close()


def test_wandb_goes_online_when_logged_in(monkeypatch, tmp_path):
    """Main forced WANDB_MODE=offline even where the network reaches wandb."""
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert wandb_mode() == "offline"
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    assert wandb_mode() == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode() == "disabled"


def test_a_default_run_prints_task_switches_and_a_summary(tmp_path):
    """Main printed only `finished: <dir>` (the progress bar is cleared; task switches and the final
    metrics of continual runs never reached the terminal)."""
    r = run_cli("run_scripts/continual_sac.py", "--quick", "--log-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert "task 0: reach-v3" in out and "task 1: push-v3" in out
    assert "summary: average performance" in out and "forgetting" in out
    r = run_cli("run_scripts/sac.py", "--quick", "--env", "gym/Pendulum-v1", "--log-dir", str(tmp_path / "s"))
    assert r.returncode == 0 and "finished:" in r.stdout and "(final evaluation return" in r.stdout, r.stdout


def test_help_lists_choices_and_examples():
    r = run_cli("run_scripts/continual_sac.py", "--help")
    assert r.returncode == 0
    assert "KEY/PATH=VALUE" in r.stdout and "examples:" in r.stdout and "finetune" in r.stdout and "--resume" in r.stdout


def test_the_library_never_imports_the_harness():
    import ast

    root = os.path.join(os.path.dirname(__file__), "..", "lifelong_rl")
    for dirpath, _, files in os.walk(root):
        for f in (f for f in files if f.endswith(".py")):
            tree = ast.parse(open(os.path.join(dirpath, f)).read())
            imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
            imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
            assert not [m for m in imported if m.split(".")[0] in ("experiment_configs", "experiment_utils", "sys")], f
