"""SAC (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications") on one env. With
`offline_kwargs/teacher_data_files`, the datasets are in the replay buffer from the start, and
`offline_kwargs/num_epochs` epochs of updates on them come before the online phase (Lu et al.'s
offline-then-online runs; a pretrained agent for a reset-free lifelong run).

Files that define its behaviour: lifelong_rl/trainers/sac.py (the losses), lifelong_rl/policies/
tanh_gaussian_policy.py (the actor), lifelong_rl/models/networks.py (the critic ensemble),
lifelong_rl/core/schedules.py (OffPolicySchedule: the env-step / update interleaving).
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.off_policy import (OFF_POLICY_QUICK, build_off_policy, check_off_policy,
                                                      off_policy_evaluation, off_policy_schema)
from experiment_configs.algorithms.offline import build_phased, check_offline, offline_schema
from experiment_configs.common import Run, sac_trainer_schema
from lifelong_rl.models.multi_head import MultiHeadEnsemble, MultiHeadTanhGaussianPolicy
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import MakeDeterministic, StochasticPolicy, TanhGaussianPolicy
from lifelong_rl.trainers.sac import SACTrainer
from lifelong_rl.trainers.seed_stacking import stack_sac
from lifelong_rl.variants import ConfigError, Schema

NAME = "sac"


def schema() -> Schema:
    return off_policy_schema(NAME, sac_trainer_schema(), **offline_schema(num_epochs=0))


QUICK = OFF_POLICY_QUICK

# The contract test (tests/test_contract.py) runs every case on top of QUICK.
CONTRACT_CASES = {"pendulum": {"env": "gym/Pendulum-v1"}, "metaworld": {"env": "metaworld/reach-v3"},
                  "lifelong_hopper_reset_free": {"env": "lifelong/hopper", "env_kwargs": {"switch_every": 90},
                                                 "algorithm_kwargs": {"reset_free": True}},
                  "offline_then_online": {"env": "gym/Pendulum-v1", "offline_kwargs": {
                      "teacher_data_files": ["examples/pendulum-random-v0"], "num_epochs": 2, "num_trains_per_epoch": 20}}}


def check(variant: Dict[str, Any]) -> None:
    check_off_policy(variant)
    check_offline(variant)


def check_evaluation(variant: Dict[str, Any]) -> None:
    check_off_policy(variant)


def check_vectorize(variant: Dict[str, Any]) -> None:
    if variant["offline_kwargs"]["teacher_data_files"]:
        raise ConfigError("--vectorize-seeds runs online SAC only: offline_kwargs/teacher_data_files must be empty")


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
    if run.variant["offline_kwargs"]["teacher_data_files"]:
        return build_phased(run, sac_agent)
    return build_off_policy(run, sac_agent)


def evaluation_setup(run: Run, env_seed=None):
    return off_policy_evaluation(run, sac_agent, env_seed)
