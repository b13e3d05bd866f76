"""DDPG (Lillicrap et al. 2015, "Continuous control with deep reinforcement learning") on one env.

The defaults follow the re-tuned DDPG that Fujimoto et al. 2018 compare TD3 against ("OurDDPG" in
github.com/sfujim/TD3): 256-256 networks without batch norm or weight decay, learning rates 3e-4,
batch 256, tau 0.005, Gaussian exploration noise 0.1. The original paper's Ornstein-Uhlenbeck
exploration (theta 0.15, sigma 0.2) is `exploration_kwargs/noise=ou, exploration_kwargs/sigma=0.2`.

Files that define its behaviour: lifelong_rl/trainers/td3.py (the losses: TD3's with one critic,
no smoothing, no delay), lifelong_rl/policies/deterministic_policy.py, lifelong_rl/core/schedules.py.
"""
from __future__ import annotations

from typing import Any, Dict

from experiment_configs.algorithms.off_policy import (OFF_POLICY_QUICK, build_off_policy, check_off_policy,
                                                      off_policy_evaluation, off_policy_schema)
from experiment_configs.common import Run
from experiment_configs.configs.q_learning.td3 import deterministic_agent, deterministic_trainer_schema, exploration_schema
from lifelong_rl.variants import Param, Schema

NAME = "ddpg"


def schema() -> Schema:
    s = off_policy_schema(NAME, deterministic_trainer_schema(3e-4), exploration_kwargs=exploration_schema("gaussian", 0.1))
    s["algorithm_kwargs"]["min_num_steps_before_training"] = Param(
        10_000, "uniformly random warm-up steps before the first epoch", "int", low=0)
    return s


QUICK = OFF_POLICY_QUICK
CONTRACT_CASES = {"pendulum_ou": {"env": "gym/Pendulum-v1", "exploration_kwargs": {"noise": "ou", "sigma": 0.2}},
                  "metaworld": {"env": "metaworld/reach-v3"}}
check = check_off_policy


def ddpg_agent(variant, obs_dim, action_dim, device, strategy=None) -> Dict[str, Any]:
    return deterministic_agent(variant, obs_dim, action_dim, device, num_qs=1, strategy=strategy,
                               policy_delay=1, target_noise=0.0)


def build(run: Run):
    return build_off_policy(run, ddpg_agent)


def evaluation_setup(run: Run, env_seed=None):
    return off_policy_evaluation(run, ddpg_agent, env_seed)
