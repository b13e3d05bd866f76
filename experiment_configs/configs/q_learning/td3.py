"""TD3 (Fujimoto et al. 2018, "Addressing Function Approximation Error in Actor-Critic Methods") on one env.

Defaults follow the authors' current code (github.com/sfujim/TD3): 256-256 networks, learning
rates 3e-4, batch 256, tau 0.005, policy delay 2, target noise 0.2 clipped at 0.5, Gaussian
exploration noise 0.1; the uniform random warm-up is 10k steps (RL Zoo's Hopper setting; the
authors use 25k for 1M-step runs).

Files that define its behaviour: lifelong_rl/trainers/td3.py (the losses), lifelong_rl/policies/
deterministic_policy.py (the actor and its exploration noise), lifelong_rl/core/schedules.py
(OffPolicySchedule).
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.off_policy import (OFF_POLICY_QUICK, build_off_policy, check_off_policy,
                                                      off_policy_evaluation, off_policy_schema)
from experiment_configs.common import Run
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.deterministic_policy import NOISES, DeterministicPolicy, NoisyPolicy
from lifelong_rl.trainers.td3 import TD3Trainer
from lifelong_rl.variants import Param, Schema

NAME = "td3"


def deterministic_trainer_schema(lr: float) -> Schema:
    """The keys TD3 and DDPG share."""
    return {
        "discount": Param(0.99, "discount factor gamma", "float", low=0.0, high=1.0),
        "reward_scale": Param(1.0, "rewards are multiplied by this in the critic target", "float"),
        "policy_lr": Param(lr, "actor learning rate", "float", low=0.0),
        "qf_lr": Param(lr, "critic learning rate", "float", low=0.0),
        "soft_target_tau": Param(5e-3, "Polyak rate of the target actor and critics", "float", low=0.0, high=1.0),
    }


def exploration_schema(noise: str, sigma: float) -> Schema:
    return {
        "noise": Param(noise, "exploration noise added to the actor's action: gaussian or ou (Ornstein-Uhlenbeck)",
                       "str", choices=tuple(NOISES)),
        "sigma": Param(sigma, "noise scale (actions in [-1, 1])", "float", low=0.0),
        "ou_theta": Param(0.15, "ou: mean reversion rate", "float", low=0.0),
    }


def schema() -> Schema:
    s = off_policy_schema(NAME, {
        **deterministic_trainer_schema(3e-4),
        "policy_delay": Param(2, "critic updates per actor (and target) update", "int", low=1),
        "target_noise": Param(0.2, "std of the target policy smoothing noise", "float", low=0.0),
        "target_noise_clip": Param(0.5, "the smoothing noise is clipped to +-this", "float", low=0.0),
    }, exploration_kwargs=exploration_schema("gaussian", 0.1))
    s["algorithm_kwargs"]["min_num_steps_before_training"] = Param(
        10_000, "uniformly random warm-up steps before the first epoch", "int", low=0)
    return s


QUICK = OFF_POLICY_QUICK
CONTRACT_CASES = {"pendulum": {"env": "gym/Pendulum-v1"}, "metaworld": {"env": "metaworld/reach-v3"}}
check = check_off_policy


def deterministic_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device,
                        num_qs: int = 2, strategy=None, **trainer_kwargs) -> Dict[str, Any]:
    """Tanh actor, `num_qs` critics as one ensemble, the trainer, and the noisy exploration policy.
    A continual `strategy` adds its penalties."""
    policy = DeterministicPolicy(obs_dim, action_dim, **variant["policy_kwargs"]).to(device)
    qfs = ParallelizedEnsemble(num_qs, obs_dim + action_dim, 1, **variant["qf_kwargs"]).to(device)
    penalties = strategy.penalties(policy, qfs, None) if strategy is not None else None
    trainer = TD3Trainer(policy, qfs, penalties=penalties, **variant["trainer_kwargs"], **trainer_kwargs)
    x = variant["exploration_kwargs"]
    noise = NOISES[x["noise"]](action_dim, x["sigma"], **({"theta": x["ou_theta"]} if x["noise"] == "ou" else {}))
    return {"trainer": trainer, "exploration_policy": NoisyPolicy(policy, noise), "evaluation_policy": policy}


def td3_agent(variant, obs_dim, action_dim, device, strategy=None) -> Dict[str, Any]:
    return deterministic_agent(variant, obs_dim, action_dim, device, num_qs=2, strategy=strategy)


def build(run: Run):
    return build_off_policy(run, td3_agent)


def evaluation_setup(run: Run, env_seed=None):
    return off_policy_evaluation(run, td3_agent, env_seed)
