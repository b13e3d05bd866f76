"""VPG: REINFORCE (Williams 1992) with a learned value baseline and GAE advantages, on one env.

Defaults: one Adam step (lr 3e-4) of the policy per 2048-step rollout, the value function fit as
NPG's (10 epochs of minibatches of 128 at lr 1e-3), 64-64 tanh networks.

Files that define its behaviour: lifelong_rl/trainers/policy_gradient.py (VPGTrainer), and as for
PPO the policy, the vector collector, GAE and the OnPolicySchedule.
"""
from __future__ import annotations

from experiment_configs.algorithms.on_policy import (ON_POLICY_CASES, ON_POLICY_QUICK, build_on_policy, check_on_policy,
                                                     on_policy_evaluation, on_policy_schema)
from experiment_configs.common import Run
from experiment_configs.configs.policy_gradient.npg import value_fit_schema
from lifelong_rl.trainers.policy_gradient import VPGTrainer
from lifelong_rl.variants import Param, Schema

NAME = "vpg"


def schema() -> Schema:
    return on_policy_schema(NAME, {
        "policy_lr": Param(3e-4, "policy Adam learning rate (one step per rollout)", "float", low=0.0),
        "max_grad_norm": Param(0.0, "global gradient norm clip; 0: none", "float", low=0.0),
        **value_fit_schema(),
    })


QUICK = {**ON_POLICY_QUICK, "trainer_kwargs/vf_epochs": 2, "trainer_kwargs/vf_batch_size": 32}
CONTRACT_CASES = ON_POLICY_CASES
check = check_on_policy


def build(run: Run):
    return build_on_policy(run, VPGTrainer)


def evaluation_setup(run: Run, env_seed=None):
    return on_policy_evaluation(run, VPGTrainer, env_seed)
