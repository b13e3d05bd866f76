"""NPG, the natural policy gradient (Kakade 2001), with the normalised step size of Rajeswaran et
al. 2017 ("Towards Generalization and Simplicity in Continuous Control"), on one env.

Defaults: the KL step delta 0.01, 15 conjugate-gradient steps with damping 0.1, value function
fit by 10 epochs of minibatches of 128 at lr 1e-3 (sb3-contrib TRPO's values, for a like-for-like
comparison; Rajeswaran et al.'s normalised step 0.05 is a KL of about 0.025 in these terms),
2048-step rollouts, 64-64 tanh networks.

Files that define its behaviour: lifelong_rl/trainers/policy_gradient.py (NPGTrainer: the
Fisher-vector product, conjugate gradient and the step), and as for PPO the policy, the vector
collector, GAE and the OnPolicySchedule.
"""
from __future__ import annotations

from experiment_configs.algorithms.on_policy import (ON_POLICY_CASES, ON_POLICY_QUICK, build_on_policy, check_on_policy,
                                                     on_policy_evaluation, on_policy_schema)
from experiment_configs.common import Run
from lifelong_rl.trainers.policy_gradient import NPGTrainer
from lifelong_rl.variants import Param, Schema

NAME = "npg"


def value_fit_schema() -> Schema:
    return {
        "vf_lr": Param(1e-3, "value function Adam learning rate", "float", low=0.0),
        "vf_epochs": Param(10, "passes over each rollout to fit the value function", "int", low=1),
        "vf_batch_size": Param(128, "value function minibatch size", "int", low=1),
    }


def schema() -> Schema:
    return on_policy_schema(NAME, {
        "step_size": Param(0.01, "delta: the KL size of each natural gradient step", "float", low=0.0),
        "cg_iters": Param(15, "conjugate gradient iterations", "int", low=1),
        "cg_damping": Param(0.1, "damping added to the Fisher matrix", "float", low=0.0),
        **value_fit_schema(),
    })


QUICK = {**ON_POLICY_QUICK, "trainer_kwargs/vf_epochs": 2, "trainer_kwargs/vf_batch_size": 32}
CONTRACT_CASES = ON_POLICY_CASES
check = check_on_policy


def build(run: Run):
    return build_on_policy(run, NPGTrainer)


def evaluation_setup(run: Run, env_seed=None):
    return on_policy_evaluation(run, NPGTrainer, env_seed)
