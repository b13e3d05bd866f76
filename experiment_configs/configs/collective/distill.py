"""Collective learning, stage 3: one collective actor pi(a | e, s) and twin critics Q(e, s, a)
distilled from every expert. Each recorded state gets e, the frozen transformer's embedding of the
expert's own window ending there (as the agent's own window gives it at acting time); the actor
clones each expert's action distribution (squashed mean and log-std, MSE), the critics evaluate the
collective actor on the experts' transitions with reward and discount (lifelong_rl/trainers/
collective.py has the losses). The run's last snapshot is exported as collective.pt (`export`).

Offline evaluation of a snapshot (scripts/eval_snapshot.py) runs the collective on every task.

Files that define its behaviour: lifelong_rl/trainers/collective.py (DistillationTrainer),
lifelong_rl/envs/trajectory_window.py (the embedding at acting time), lifelong_rl/core/schedules.py
(OfflineSchedule), experiment_configs/algorithms/collective.py.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List

import numpy as np
import torch

from experiment_configs.algorithms.collective import (COLLECTIVE_FILE, collective_env, load_trajectories,
                                                      load_transformer)
from experiment_configs.common import Run, net_schema, run_schema
from lifelong_rl.core.logger import load_snapshot
from lifelong_rl.core.loop import TrainingLoop
from lifelong_rl.core.schedules import OfflineSchedule
from lifelong_rl.data_management.datasets import OfflineDataset
from lifelong_rl.data_management.fields import Field, transition_fields
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.data_management.trajectory_windows import TrajectoryWindows, episodes_of
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.models.trajectory_transformer import TrajectoryTransformer
from lifelong_rl.policies.tanh_gaussian_policy import MakeDeterministic, TanhGaussianPolicy
from lifelong_rl.trainers.collective import DistillationTrainer
from lifelong_rl.variants import ConfigError, Param, Schema

NAME = "collective_distill"
EXAMPLE = "examples/collective"


def schema() -> Schema:
    # Sizes: the original's TransformerAgent (actor and critics 300 x 300, batch 512, target tau 0.01).
    return {
        **run_schema(NAME),
        "trajectories": Param([], "the experts' trajectories.npz, one per task (the experts stage records them)", "strs"),
        "transformer": Param("", "the transformer stage's transformer.pt", "str"),
        "policy_kwargs": net_schema([300, 300], "collective actor"),
        "qf_kwargs": net_schema([300, 300], "collective critics"),
        "trainer_kwargs": {
            "policy_lr": Param(3e-4, "actor learning rate", "float", low=0.0),
            "qf_lr": Param(3e-4, "critic learning rate", "float", low=0.0),
            "std_weight": Param(0.2, "weight of the log-std term of the actor's loss (the original's 0.2)", "float", low=0.0),
            "discount": Param(0.99, "discount of the critics' target", "float", low=0.0, high=1.0),
            "alpha": Param(0.1, "entropy coefficient in the critics' soft target (the original collective's initial "
                           "temperature)", "float", low=0.0),
            "soft_target_tau": Param(0.01, "Polyak rate of the target critics", "float", low=0.0, high=1.0),
        },
        "algorithm_kwargs": {
            "num_epochs": Param(20, "epochs (one progress.csv row each)", "int", low=1),
            "num_trains_per_epoch": Param(1000, "updates per epoch", "int", low=1),
            "batch_size": Param(512, "transitions per update", "int", low=1),
        },
    }


QUICK = {
    "trajectories": [f"{EXAMPLE}/reach-v3", f"{EXAMPLE}/button-press-topdown-v3"],
    "transformer": f"agent_data/{EXAMPLE}/transformer.pt",
    "policy_kwargs/hidden_sizes": [16, 16], "qf_kwargs/hidden_sizes": [16, 16],
    "algorithm_kwargs/num_epochs": 2, "algorithm_kwargs/num_trains_per_epoch": 5, "algorithm_kwargs/batch_size": 32,
    "logging/snapshot_gap": 1,
}
CONTRACT_CASES = {"examples": {}}


def check(variant: Dict[str, Any]) -> None:
    data = load_trajectories(variant["trajectories"])
    t = load_transformer(variant["transformer"]).config
    if (data[0].obs_dim, data[0].action_dim) != (t["obs_dim"], t["action_dim"]):
        raise ConfigError(f"the trajectories have observations and actions of sizes {(data[0].obs_dim, data[0].action_dim)}, "
                          f"the transformer {(t['obs_dim'], t['action_dim'])}")


def check_evaluation(variant: Dict[str, Any]) -> None:
    load_transformer(variant["transformer"])


def embedded_transitions(data: OfflineDataset, transformer: TrajectoryTransformer, task_id: int) -> Dict[str, np.ndarray]:
    """A task's recorded transitions with observations [e_t, s_t] and next observations [e_{t+1}, s_{t+1}],
    e the embedding of the expert's window ending at that state, and the expert's distribution."""
    episodes = episodes_of(data)
    windows, _ = TrajectoryWindows(episodes, [task_id] * len(episodes), transformer.window).all_windows()
    e = transformer.embed(windows)
    rows, next_rows, offset = [], [], 0
    for states, _, _ in episodes:  # all_windows: episode by episode, states 0 .. T
        T = len(states) - 1
        rows.append(np.arange(offset, offset + T))
        next_rows.append(np.arange(offset + 1, offset + T + 1))
        offset += T + 1
    rows, next_rows = np.concatenate(rows), np.concatenate(next_rows)
    return {"observations": np.concatenate([e[rows], data.observations], 1),
            "next_observations": np.concatenate([e[next_rows], data.next_observations], 1),
            "actions": data.actions, "rewards": data.rewards, "terminals": data.terminals.astype(np.float32),
            "timeouts": data.timeouts.astype(np.float32), "task_ids": np.full(len(data), task_id, np.int64),
            "expert_means": data.extras["expert_means"], "expert_log_stds": data.extras["expert_log_stds"]}


def networks(variant: Dict[str, Any], input_dim: int, action_dim: int):
    return (TanhGaussianPolicy(input_dim, action_dim, **variant["policy_kwargs"]),
            ParallelizedEnsemble(2, input_dim + action_dim, 1, **variant["qf_kwargs"]))


def build(run: Run):
    v, ak = run.variant, run.variant["algorithm_kwargs"]
    data = load_trajectories(v["trajectories"])
    transformer = load_transformer(v["transformer"])
    parts = [embedded_transitions(d, transformer, k) for k, d in enumerate(data)]
    batch = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    input_dim, action_dim = batch["observations"].shape[1], data[0].action_dim
    fields = transition_fields(input_dim, action_dim, expert_means=Field((action_dim,)), expert_log_stds=Field((action_dim,)))
    buffer = ReplayBuffer(len(batch["rewards"]), fields, seed=run.seeds.child("buffer"))
    buffer.add_batch(**batch)
    policy, qfs = (m.to(run.device) for m in networks(v, input_dim, action_dim))
    trainer = DistillationTrainer(policy, qfs, **v["trainer_kwargs"])
    # The data's fingerprint: the trajectories (with the experts' distributions) and the embeddings.
    fingerprint = OfflineDataset(batch).fingerprint()
    schedule = OfflineSchedule(trainer, buffer, None, run.logger, run.device, ak["batch_size"], ak["num_trains_per_epoch"],
                               eval_episodes=0, data_fingerprint=fingerprint)
    log = v["logging"]
    return TrainingLoop(schedule, run.logger, v, ak["num_epochs"], log["save_replay_buffer"], log["progress_bar"]), []


def task_settings(data: OfflineDataset) -> Dict[str, Any]:
    """The env, episode length and goal setting a task's trajectories were recorded with."""
    m = data.meta
    return {"env": m["env"], "max_path_length": int(m["max_path_length"]), "new_goal_each_episode": bool(m["new_goal_each_episode"])}


def evaluation_setup(run: Run, env_seed=None):
    """The collective (deterministic) on every task of its trajectories, on [e, s]."""
    v = run.variant
    transformer = load_transformer(v["transformer"])
    data = load_trajectories(v["trajectories"])
    trainer = DistillationTrainer(*networks(v, transformer.embedding_dim + data[0].obs_dim, data[0].action_dim))
    entries: List = []
    for k, d in enumerate(data):
        t = task_settings(d)
        seed = run.seeds.child(f"env/evaluation/{k}") if env_seed is None else env_seed
        env = collective_env(t["env"], transformer, seed, t["max_path_length"], t["new_goal_each_episode"])
        entries.append((t["env"], env, MakeDeterministic(trainer.policy)))
    return trainer, entries


def export(run_dir: str) -> str:
    """collective.pt beside the run's last snapshot: the actor's and critics' sizes and weights."""
    snap = load_snapshot(os.path.join(run_dir, "params.pt"))
    v, state = snap["variant"], snap["trainer"]
    data = load_trajectories(v["trajectories"])[0]
    input_dim = load_transformer(v["transformer"]).embedding_dim + data.obs_dim
    sizes = {"input_dim": input_dim, "action_dim": data.action_dim, "policy_kwargs": v["policy_kwargs"], "qf_kwargs": v["qf_kwargs"]}
    path = os.path.join(run_dir, COLLECTIVE_FILE)
    torch.save({"sizes": sizes, "policy": state["policy"], "qfs": state["qfs"]}, path + ".tmp")
    os.replace(path + ".tmp", path)
    return path
