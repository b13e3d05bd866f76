"""Behaviour cloning on one env's datasets: the baseline every offline table carries (D4RL's "BC").

The policy's mean action is regressed on the datasets' actions (lifelong_rl/trainers/bc.py); an
offline phase only (offline_progress.csv, offline_itr_<n>.pt), evaluated with the mean action.

Files that define its behaviour: lifelong_rl/trainers/bc.py, lifelong_rl/core/schedules.py
(OfflineSchedule), experiment_configs/algorithms/offline.py.
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.off_policy import check_env, env_kwargs_schema, off_policy_evaluation
from experiment_configs.algorithms.offline import OFFLINE_QUICK, build_offline_only, check_offline, offline_schema
from experiment_configs.common import Run, check_buffer_size, net_schema, run_schema
from lifelong_rl.policies.tanh_gaussian_policy import MakeDeterministic, TanhGaussianPolicy
from lifelong_rl.trainers.bc import BCTrainer
from lifelong_rl.variants import ConfigError, Param, Schema

NAME = "bc"


def schema() -> Schema:
    return {
        **run_schema(NAME),
        "env": Param("gym/Hopper-v5", "gym/<Id> or metaworld/<task>-v3: the env the datasets are of, for evaluation", "str"),
        "env_kwargs": env_kwargs_schema(),
        "replay_buffer_size": Param(int(2e6), "buffer capacity (transitions): at least the datasets' size", "int", low=1),
        "policy_kwargs": net_schema([256, 256], "policy"),
        "trainer_kwargs": {"lr": Param(1e-3, "Adam learning rate", "float", low=0.0)},
        **offline_schema(),
        "algorithm_kwargs": {
            "batch_size": Param(256, "transitions per update", "int", low=1),
            "max_path_length": Param(0, "evaluation episode length; 0: the env's own (MetaWorld 500)", "int", low=0),
            "num_eval_steps_per_epoch": Param(5000, "evaluation steps per epoch (whole episodes); 0: none", "int", low=0),
        },
    }


QUICK = dict(OFFLINE_QUICK)
CONTRACT_CASES = {"pendulum": {}}


def check_evaluation(variant: Dict[str, Any]) -> None:
    check_env(variant)
    check_buffer_size(variant)
    if variant["offline_kwargs"]["num_epochs"] == 0:
        raise ConfigError("offline_kwargs/num_epochs is 0: behaviour cloning has no online phase, so nothing would run")


def check(variant: Dict[str, Any]) -> None:
    check_evaluation(variant)
    check_offline(variant, online=False)


def bc_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device) -> Dict[str, Any]:
    policy = TanhGaussianPolicy(obs_dim, action_dim, **variant["policy_kwargs"]).to(device)
    return {"trainer": BCTrainer(policy, variant["trainer_kwargs"]["lr"]), "evaluation_policy": MakeDeterministic(policy)}


def build(run: Run):
    return build_offline_only(run, bc_agent)


def evaluation_setup(run: Run, env_seed=None):
    return off_policy_evaluation(run, bc_agent, env_seed)
