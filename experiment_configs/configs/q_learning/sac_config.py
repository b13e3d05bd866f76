"""SAC: a Tanh-Gaussian actor and twin Q-functions (one ensemble of two). With `num_heads` > 0
(continual learning, task_id multi_head) actor and critics get one output head per task."""
from __future__ import annotations

from typing import Any, Dict

import torch

from lifelong_rl.models.multi_head import MultiHeadEnsemble, MultiHeadTanhGaussianPolicy
from lifelong_rl.models.networks import ACTIVATIONS, ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import MakeDeterministic, StochasticPolicy, TanhGaussianPolicy
from lifelong_rl.trainers.sac import SACTrainer
from lifelong_rl.variants import ConfigError


def net_kwargs(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """policy_kwargs / qf_kwargs -> network arguments: hidden_sizes, activation, layer_norm."""
    if kwargs["activation"] not in ACTIVATIONS:
        raise ConfigError(f"unknown activation '{kwargs['activation']}'; valid: {', '.join(ACTIVATIONS)}")
    return dict(hidden_sizes=kwargs["hidden_sizes"], activation=kwargs["activation"], layer_norm=kwargs["layer_norm"])


def get_config(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device,
               num_heads: int = 0, hide_task_id: bool = False) -> Dict[str, Any]:
    pi, q = net_kwargs(variant["policy_kwargs"]), net_kwargs(variant["qf_kwargs"])
    heads = num_heads
    if heads:
        policy = MultiHeadTanhGaussianPolicy(obs_dim, action_dim, num_heads=heads, hide_task_id=hide_task_id, **pi)
        qfs = MultiHeadEnsemble(2, obs_dim, action_dim, num_heads=heads, hide_task_id=hide_task_id, **q)
    else:
        policy = TanhGaussianPolicy(obs_dim, action_dim, **pi)
        qfs = ParallelizedEnsemble(2, obs_dim + action_dim, 1, **q)
    trainer = SACTrainer(policy.to(device), qfs.to(device), action_dim, **variant["trainer_kwargs"])
    return {
        "trainer": trainer,
        "exploration_policy": StochasticPolicy(policy),
        "evaluation_policy": MakeDeterministic(policy),
    }
