"""SAC (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications") on one env.

Files that define its behaviour: lifelong_rl/trainers/sac.py (the losses), lifelong_rl/policies/
tanh_gaussian_policy.py (the actor), lifelong_rl/models/networks.py (the critic ensemble),
lifelong_rl/core/schedules.py (OffPolicySchedule: the env-step / update interleaving).
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.off_policy import build_off_policy, off_policy_evaluation
from experiment_configs.common import Run, check_buffer_size, net_schema, run_schema, sac_trainer_schema
from lifelong_rl.envs.make_env import validate_env_name
from lifelong_rl.models.multi_head import MultiHeadEnsemble, MultiHeadTanhGaussianPolicy
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import MakeDeterministic, StochasticPolicy, TanhGaussianPolicy
from lifelong_rl.trainers.sac import SACTrainer
from lifelong_rl.trainers.seed_stacking import stack_sac
from lifelong_rl.variants import ConfigError, Param, Schema

NAME = "sac"


def schema() -> Schema:
    return {
        **run_schema(NAME),
        "env": Param("metaworld/reach-v3", "metaworld/<task>-v3 or gym/<Id>", "str"),
        "env_kwargs": {"new_goal_each_episode": Param(False, "MetaWorld: a new goal of the 50 at every reset", "bool")},
        "replay_buffer_size": Param(int(1e6), "replay buffer capacity (transitions)", "int", low=1),
        "policy_kwargs": net_schema([256, 256], "actor"),
        "qf_kwargs": net_schema([256, 256], "critics"),
        "trainer_kwargs": sac_trainer_schema(),
        "algorithm_kwargs": {
            "loop": Param("online", "online: updates follow each env step; batch: a block of steps, then a block of updates",
                          "str", choices=("online", "batch")),
            "num_epochs": Param(100, "epochs (one progress.csv row each)", "int", low=1),
            "batch_size": Param(256, "transitions per update", "int", low=1),
            "max_path_length": Param(0, "episode length; 0: the env's own (MetaWorld 500)", "int", low=0),
            "num_eval_steps_per_epoch": Param(1000, "evaluation steps per epoch (whole episodes); 0: none", "int", low=0),
            "num_expl_steps_per_train_loop": Param(1000, "env steps per train loop", "int", low=1),
            "num_trains_per_train_loop": Param(1000, "updates per train loop", "int", low=0),
            "num_train_loops_per_epoch": Param(1, "train loops per epoch", "int", low=1),
            "min_num_steps_before_training": Param(5000, "uniformly random warm-up steps before the first epoch", "int", low=0),
        },
    }


QUICK = {
    "algorithm_kwargs/num_epochs": 2,
    "algorithm_kwargs/batch_size": 32,
    "algorithm_kwargs/max_path_length": 70,  # epochs of 100 steps end mid-episode (as they do at full size)
    "algorithm_kwargs/num_eval_steps_per_epoch": 70,
    "algorithm_kwargs/num_expl_steps_per_train_loop": 100,
    "algorithm_kwargs/num_trains_per_train_loop": 20,
    "algorithm_kwargs/min_num_steps_before_training": 100,
    "policy_kwargs/hidden_sizes": [32, 32],
    "qf_kwargs/hidden_sizes": [32, 32],
    "replay_buffer_size": 10_000,
    "logging/snapshot_gap": 1,
}

# The contract test (tests/test_contract.py) runs every case on top of QUICK.
CONTRACT_CASES = {"pendulum": {"env": "gym/Pendulum-v1"}, "metaworld": {"env": "metaworld/reach-v3"}}


def check(variant: Dict[str, Any]) -> None:
    validate_env_name(variant["env"])
    if variant["env_kwargs"]["new_goal_each_episode"] and not variant["env"].startswith("metaworld/"):
        raise ConfigError(f"env_kwargs/new_goal_each_episode applies to MetaWorld tasks only, not '{variant['env']}'")
    check_buffer_size(variant)


def sac_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device,
              num_heads: int = 0, hide_task_id: bool = False, strategy=None) -> Dict[str, Any]:
    """Tanh-Gaussian actor and twin critics (one ensemble of two); with `num_heads` > 0 one output
    head per task (continual task_id multi_head). A continual `strategy` adds its penalties."""
    pi, q = variant["policy_kwargs"], variant["qf_kwargs"]
    if num_heads:
        policy = MultiHeadTanhGaussianPolicy(obs_dim, action_dim, num_heads=num_heads, hide_task_id=hide_task_id, **pi)
        qfs = MultiHeadEnsemble(2, obs_dim, action_dim, num_heads=num_heads, hide_task_id=hide_task_id, **q)
        heads = {"policy": list(policy.net.last.parameters()), "qf": qfs.head_parameters()}
    else:
        policy = TanhGaussianPolicy(obs_dim, action_dim, **pi)
        qfs = ParallelizedEnsemble(2, obs_dim + action_dim, 1, **q)
        heads = None
    policy, qfs = policy.to(device), qfs.to(device)
    penalties = strategy.penalties(policy, qfs, heads) if strategy is not None else None
    trainer = SACTrainer(policy, qfs, action_dim, penalties=penalties, **variant["trainer_kwargs"])
    return {"trainer": trainer, "exploration_policy": StochasticPolicy(policy), "evaluation_policy": MakeDeterministic(policy)}


def vectorize(variant: Dict[str, Any], trainers, generators):
    """Seeds as one batch (--vectorize-seeds): lifelong_rl/trainers/seed_stacking.py."""
    return stack_sac(trainers, variant["trainer_kwargs"], variant["policy_kwargs"], variant["qf_kwargs"], generators)


def build(run: Run):
    return build_off_policy(run, sac_agent)


def evaluation_setup(run: Run, env_seed=None):
    return off_policy_evaluation(run, sac_agent, env_seed)
