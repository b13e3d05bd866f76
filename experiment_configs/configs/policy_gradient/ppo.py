"""PPO (Schulman et al. 2017, "Proximal Policy Optimization Algorithms") on one env, from
gymnasium.vector rollouts.

Defaults are Stable-Baselines3's (which follow the paper's MuJoCo settings): 2048-step rollouts,
10 epochs of minibatches of 64, lr 3e-4 (Adam eps 1e-5), clip 0.2, GAE lambda 0.95, value
coefficient 0.5, no entropy bonus, gradient norm 0.5, 64-64 tanh networks, plus running
observation and reward normalisation.

Files that define its behaviour: lifelong_rl/trainers/policy_gradient.py (the losses),
lifelong_rl/policies/gaussian_policy.py, lifelong_rl/samplers/vector_collector.py,
lifelong_rl/data_management/rollout_buffer.py (GAE), lifelong_rl/data_management/normalizer.py,
lifelong_rl/core/schedules.py (OnPolicySchedule).
"""
from __future__ import annotations

from experiment_configs.algorithms.on_policy import (ON_POLICY_CASES, ON_POLICY_QUICK, build_on_policy, check_on_policy,
                                                     on_policy_evaluation, on_policy_schema)
from experiment_configs.common import Run
from lifelong_rl.trainers.policy_gradient import PPOTrainer
from lifelong_rl.variants import Param, Schema

NAME = "ppo"


def schema() -> Schema:
    return on_policy_schema(NAME, {
        "lr": Param(3e-4, "Adam learning rate of policy and value function (one optimizer)", "float", low=0.0),
        "clip_range": Param(0.2, "the probability ratio is clipped to 1 +- this", "float", low=0.0),
        "update_epochs": Param(10, "passes over each rollout", "int", low=1),
        "batch_size": Param(64, "minibatch size (env steps)", "int", low=1),
        "ent_coef": Param(0.0, "entropy bonus coefficient", "float", low=0.0),
        "vf_coef": Param(0.5, "value loss coefficient", "float", low=0.0),
        "max_grad_norm": Param(0.5, "global gradient norm clip; 0: none", "float", low=0.0),
        "target_kl": Param(None, "stop a rollout's epochs once the approximate KL passes 1.5 x this; None: never", "float?"),
    })


QUICK = {**ON_POLICY_QUICK, "trainer_kwargs/batch_size": 32, "trainer_kwargs/update_epochs": 2}
CONTRACT_CASES = {**ON_POLICY_CASES, "target_kl": {"trainer_kwargs": {"target_kl": 0.001}}}
check = check_on_policy


def build(run: Run):
    return build_on_policy(run, PPOTrainer)


def evaluation_setup(run: Run, env_seed=None):
    return on_policy_evaluation(run, PPOTrainer, env_seed)
