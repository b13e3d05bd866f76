"""Seeds trained as one batch (--vectorize-seeds): every seed follows its separate run, each seed
dir is a separate run's dir, and a killed vectorized run resumes every seed exactly."""
import copy
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from experiment_configs import registry
from experiment_configs.base_experiment import experiment, lockstep_experiment
from experiment_configs.evaluation import load_policy
from experiment_utils.launcher import run_experiment
from lifelong_rl.core.logger import commit_snapshots, common_snapshots, load_snapshot
from lifelong_rl.trainers.seed_stacking import StackedCritics, StackedTanhGaussianPolicy, stack_sac
from lifelong_rl.trainers.sac import SACTrainer
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.variants import ConfigError, set_path

SEEDS = (0, 1, 2)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quick_variant(seed, **overrides):
    v = registry.default_variant("sac")
    for k, val in {**registry.quick_overrides("sac"), "env": "gym/Pendulum-v1", "logging/progress_bar": False,
                   **overrides}.items():
        set_path(v, k, copy.deepcopy(val))
    v["seed"] = seed
    return v


def tensors(tree, prefix=""):
    """Every tensor of a nested state dict by path."""
    if isinstance(tree, torch.Tensor):
        return {prefix: tree}
    if isinstance(tree, dict):
        return {k: t for key, sub in tree.items() for k, t in tensors(sub, f"{prefix}/{key}").items()}
    return {}


def stacked_batch(rng, n, b, obs_dim, act_dim, p_terminal):
    """Random transitions [n seeds, b, .] as float32 tensors."""
    batch = {"observations": rng.normal(size=(n, b, obs_dim)), "actions": rng.uniform(-1, 1, (n, b, act_dim)),
             "rewards": rng.normal(size=(n, b, 1)), "next_observations": rng.normal(size=(n, b, obs_dim)),
             "terminals": rng.uniform(size=(n, b, 1)) < p_terminal}
    return {k: torch.as_tensor(v, dtype=torch.float32) for k, v in batch.items()}


def train_separately(trainers, gens, batch):
    """One update of each seed's separate trainer on its part of `batch`, its noise drawn from the
    global generator (as a separate run draws it) set to that seed's generator state."""
    for i, t in enumerate(trainers):
        state = torch.get_rng_state()
        torch.set_rng_state(gens[i].get_state())
        t.train_from_torch({k: v[i] for k, v in batch.items()})
        gens[i].set_state(torch.get_rng_state())
        torch.set_rng_state(state)


def test_every_seed_matches_its_separate_run_to_1e_5(tmp_path):
    """Two epochs (40 updates at batch 32) of three seeds as one batch: each seed's losses, evaluation
    returns and every parameter and Adam moment equal those of that seed's separate run."""
    variants = [quick_variant(s) for s in SEEDS]
    lockstep_experiment(variants, [str(tmp_path / f"vec_s{s}") for s in SEEDS])
    for s, v in zip(SEEDS, variants):
        experiment(v, str(tmp_path / f"sep_s{s}"))
        vec, sep = tmp_path / f"vec_s{s}", tmp_path / f"sep_s{s}"
        assert sorted(os.listdir(vec)) == sorted(os.listdir(sep))  # the same files as a separate run
        a, b = pd.read_csv(vec / "progress.csv"), pd.read_csv(sep / "progress.csv")
        assert list(a.columns) == list(b.columns)
        cols = [c for c in a.columns if not c.startswith("time/")]
        np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=1e-5, atol=1e-5)
        assert a["trainer/Num Train Steps"].iloc[-1] == 40
        ta, tb = tensors(load_snapshot(str(vec / "params.pt"))["trainer"]), tensors(load_snapshot(str(sep / "params.pt"))["trainer"])
        assert ta.keys() == tb.keys() and len(ta) > 30
        for k in ta:
            assert ta[k].shape == tb[k].shape, k
            torch.testing.assert_close(ta[k], tb[k], rtol=1e-5, atol=1e-5, msg=k)


def test_stacked_update_equals_separate_updates_with_layer_norm(tmp_path):
    """Trainer level, with the LayerNorm trunk and fixed entropy: after 5 updates on the same batches
    every seed's networks equal a separate trainer's (the parameter-order mapping covers LayerNorm)."""
    torch.manual_seed(0)
    obs_dim, act_dim, n, b = 5, 2, 3, 16
    kw = {"hidden_sizes": [16, 16], "activation": "relu", "layer_norm": True}
    trainers, gens = [], []
    for i in range(n):
        torch.manual_seed(100 + i)
        trainers.append(SACTrainer(TanhGaussianPolicy(obs_dim, act_dim, **kw), ParallelizedEnsemble(2, obs_dim + act_dim, 1, **kw),
                                   act_dim, use_automatic_entropy_tuning=False, alpha=0.2))
        gens.append(torch.Generator().manual_seed(7 + i))
    stacked, views = stack_sac(trainers, {"use_automatic_entropy_tuning": False, "alpha": 0.2}, kw, kw,
                               [torch.Generator().set_state(g.get_state()) for g in gens])
    assert isinstance(stacked.policy, StackedTanhGaussianPolicy) and isinstance(stacked.qfs, StackedCritics)
    rng = np.random.default_rng(0)
    for _ in range(5):
        batch = stacked_batch(rng, n, b, obs_dim, act_dim, p_terminal=0.1)
        stacked.train_from_torch(batch)
        train_separately(trainers, gens, batch)
    for i, t in enumerate(trainers):
        mine, theirs = tensors(views[i].state_dict()), tensors(t.state_dict())
        assert mine.keys() == theirs.keys()
        for k in mine:
            torch.testing.assert_close(mine[k].reshape(theirs[k].shape), theirs[k], rtol=1e-5, atol=1e-5, msg=k)


def test_stacked_task_switch_resets_equal_separate_resets():
    """A continual task switch (fresh Adam, alpha back to its initial value) through each seed's view
    of a stacked trainer, between updates: every seed still equals its separate trainer."""
    torch.manual_seed(0)
    obs_dim, act_dim, n, b = 4, 2, 2, 8
    kw = {"hidden_sizes": [8, 8]}
    trainers = []
    for i in range(n):
        torch.manual_seed(50 + i)
        trainers.append(SACTrainer(TanhGaussianPolicy(obs_dim, act_dim, **kw), ParallelizedEnsemble(2, obs_dim + act_dim, 1, **kw), act_dim))
    gens = [torch.Generator().manual_seed(3 + i) for i in range(n)]
    stacked, views = stack_sac(trainers, {}, kw, kw, [torch.Generator().set_state(g.get_state()) for g in gens])
    rng = np.random.default_rng(1)
    for step in range(6):
        if step == 3:
            for view, t in zip(views, trainers):
                view.reset_optimizers(), view.reset_entropy()
                t.reset_optimizers(), t.reset_entropy()
        batch = stacked_batch(rng, n, b, obs_dim, act_dim, p_terminal=0.0)
        stacked.train_from_torch(batch)
        train_separately(trainers, gens, batch)
    for view, t in zip(views, trainers):
        mine, theirs = tensors(view.state_dict()), tensors(t.state_dict())
        for k in theirs:
            torch.testing.assert_close(mine[k], theirs[k], rtol=1e-5, atol=1e-5, msg=k)
        assert int(t.policy_optimizer.state_dict()["state"][0]["step"]) == 3  # fresh at the switch


def test_a_kill_at_any_point_of_a_group_commit_leaves_one_common_epoch(tmp_path, monkeypatch):
    """The seeds' snapshots of an epoch go into place in passes; whichever file operation a kill
    stops at, every seed keeps a snapshot of one common epoch, found by common_snapshots."""
    def snap(epoch):
        return {"variant": {}, "epoch": epoch, "trainer": {}}

    def setup(root):
        dirs = [str(root / f"s{i}") for i in range(3)]
        for d in dirs:
            os.makedirs(d)
            torch.save(snap(1), os.path.join(d, "params.pt"))
            torch.save(snap(2), os.path.join(d, "params.pt.tmp"))
        return dirs

    real_replace, real_remove = os.replace, os.remove
    for kill_at in range(10):  # 3 moves aside, 3 moves in, 3 removals: the 10th never comes
        dirs = setup(tmp_path / f"k{kill_at}")
        calls = [0]

        def counted(real):
            def op(*a):
                if calls[0] == kill_at:
                    raise KeyboardInterrupt  # the kill
                calls[0] += 1
                return real(*a)
            return op

        monkeypatch.setattr(os, "replace", counted(real_replace))
        monkeypatch.setattr(os, "remove", counted(real_remove))
        try:
            commit_snapshots([os.path.join(d, "params.pt") for d in dirs])
        except KeyboardInterrupt:
            pass
        monkeypatch.setattr(os, "replace", real_replace)
        monkeypatch.setattr(os, "remove", real_remove)
        epochs = {load_snapshot(p)["epoch"] for p in common_snapshots(dirs)}
        assert epochs == ({2} if kill_at >= 6 else {1}), kill_at
    assert sorted(os.listdir(dirs[0])) == ["params.pt"]


def test_killed_vectorized_run_resumes_every_seed_exactly(tmp_path, capsys):
    """A vectorized run SIGKILLed mid-run and resumed with --resume on one seed dir (which continues
    its whole group) ends with the progress.csv files of an uninterrupted vectorized run."""
    flags = ["--quick", "--env", "gym/Pendulum-v1", "--num-seeds", "2", "--vectorize-seeds", "--no-progress",
             "--epochs", "8", "--set", "algorithm_kwargs/num_trains_per_train_loop=200", "--log-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": ROOT}
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "run_scripts", "sac.py"), *flags, "--exp-name", "cut"],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, rows = time.time() + 300, 0
    while time.time() < deadline and rows < 3:
        found = glob.glob(str(tmp_path / "cut" / "*_s1" / "progress.csv"))
        rows = len(pd.read_csv(found[0])) if found and os.path.getsize(found[0]) else 0
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    cut = sorted(glob.glob(str(tmp_path / "cut" / "*")))
    assert 3 <= len(pd.read_csv(os.path.join(cut[1], "progress.csv"))) < 8  # killed mid-run
    assert run_experiment({"algorithm": "sac"}, argv=flags + ["--exp-name", "full"]) == 0
    assert run_experiment({"algorithm": "sac"}, argv=["--resume", cut[1]]) == 0
    assert capsys.readouterr().out.count("resuming") == 2
    for full_dir, cut_dir in zip(sorted(glob.glob(str(tmp_path / "full" / "*"))), cut):
        a, b = pd.read_csv(os.path.join(full_dir, "progress.csv")), pd.read_csv(os.path.join(cut_dir, "progress.csv"))
        assert len(a) == len(b) == 8
        pd.testing.assert_frame_equal(a, b)
    # Each seed dir is an ordinary run: its snapshot evaluates on its own.
    variant, policy, env = load_policy(os.path.join(cut[1], "params.pt"))
    assert variant["seed"] == 1 and policy.get_action(env.reset(seed=0)[0]).shape == (1,)


def continual_variant(seed, **overrides):
    v = registry.default_variant("continual_sac")
    for k, val in {**registry.quick_overrides("continual_sac"), "continual/task_id": "one_hot",
                   "logging/progress_bar": False, "logging/snapshot_mode": "all", **overrides}.items():
        set_path(v, k, copy.deepcopy(val))
    v["seed"] = seed
    return v


def test_continual_seeds_as_one_batch(tmp_path):
    """Continual SAC on 2 tasks: each seed's first epoch matches its separate run to 1e-5 (later
    epochs drift by rounding through the trajectories; the task switch's resets are checked at the
    trainer level above), each seed dir holds a continual run's files, and a resume from epoch 1
    (before the switch) ends equal to the uninterrupted vectorized run."""
    variants = [continual_variant(s) for s in (0, 1)]
    full = [str(tmp_path / f"full_s{s}") for s in (0, 1)]
    lockstep_experiment(variants, full)
    for s, v in zip((0, 1), variants):
        experiment(v, str(tmp_path / f"sep_s{s}"))
        assert sorted(os.listdir(full[s])) == sorted(os.listdir(tmp_path / f"sep_s{s}"))
        assert "success_matrix.csv" in os.listdir(full[s]) and "metrics.json" in os.listdir(full[s])
        a, b = pd.read_csv(os.path.join(full[s], "progress.csv")), pd.read_csv(tmp_path / f"sep_s{s}" / "progress.csv")
        np.testing.assert_allclose(a.iloc[0].to_numpy(float), b.iloc[0].to_numpy(float), rtol=1e-5, atol=1e-5)
        assert len(a) == 4 and a["continual/task index"].tolist() == [0, 0, 1, 1]
    cut = [str(tmp_path / f"cut_s{s}") for s in (0, 1)]
    for src, dst in zip(full, cut):
        shutil.copytree(src, dst)
        for name in ("itr_2.pt", "itr_3.pt", "params.pt", "metrics.json"):
            os.remove(os.path.join(dst, name))
    lockstep_experiment(variants, cut, [os.path.join(d, "itr_1.pt") for d in cut])
    for src, dst in zip(full, cut):
        pd.testing.assert_frame_equal(pd.read_csv(os.path.join(src, "progress.csv")), pd.read_csv(os.path.join(dst, "progress.csv")))
        with open(os.path.join(src, "metrics.json")) as f, open(os.path.join(dst, "metrics.json")) as g:
            assert f.read() == g.read()


def test_bad_vectorize_requests_are_one_line_errors(tmp_path, capsys):
    base = ["--quick", "--log-dir", str(tmp_path)]
    assert run_experiment({"algorithm": "sac"}, argv=base + ["--vectorize-seeds"]) == 2
    assert "needs --num-seeds of 2 or more" in capsys.readouterr().err
    assert run_experiment({"algorithm": "legion"}, argv=base + ["--vectorize-seeds", "--num-seeds", "2"]) == 2
    err = capsys.readouterr().err
    assert "has no vectorized seeds" in err and err.count("\n") == 1
    assert run_experiment({"algorithm": "continual_sac"}, argv=base + ["--vectorize-seeds", "--num-seeds", "2"]) == 2
    err = capsys.readouterr().err  # the default task heads (multi_head) are not stacked
    assert "task_id none or one_hot (not 'multi_head')" in err and err.count("\n") == 1
    assert not os.listdir(tmp_path)
    with pytest.raises(ConfigError, match="share every variant key"):
        lockstep_experiment([quick_variant(0), quick_variant(1, **{"trainer_kwargs/discount": 0.9})],
                            [str(tmp_path / "a"), str(tmp_path / "b")])
