"""SAC: a Tanh-Gaussian actor and twin Q-functions (one ensemble of two). With `num_heads` > 0
(continual learning, task_id multi_head) actor and critics get one output head per task."""
from __future__ import annotations

from typing import Any, Dict

import torch

from lifelong_rl.models.multi_head import MultiHeadEnsemble, MultiHeadTanhGaussianPolicy
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import MakeDeterministic, StochasticPolicy, TanhGaussianPolicy
from lifelong_rl.trainers.sac import SACTrainer


def get_config(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device,
               num_heads: int = 0) -> Dict[str, Any]:
    pi_hidden, q_hidden = variant["policy_kwargs"]["hidden_sizes"], variant["qf_kwargs"]["hidden_sizes"]
    heads = num_heads
    if heads:
        policy = MultiHeadTanhGaussianPolicy(obs_dim, action_dim, pi_hidden, heads)
        qfs = MultiHeadEnsemble(2, obs_dim, action_dim, q_hidden, heads)
    else:
        policy = TanhGaussianPolicy(obs_dim, action_dim, pi_hidden)
        qfs = ParallelizedEnsemble(2, obs_dim + action_dim, 1, q_hidden)
    trainer = SACTrainer(policy.to(device), qfs.to(device), action_dim, **variant["trainer_kwargs"])
    return {
        "trainer": trainer,
        "exploration_policy": StochasticPolicy(policy),
        "evaluation_policy": MakeDeterministic(policy),
    }
