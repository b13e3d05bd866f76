"""SAC: a Tanh-Gaussian actor and twin Q-functions (one ensemble of two)."""
from __future__ import annotations

from typing import Any, Dict

import torch

from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import MakeDeterministic, StochasticPolicy, TanhGaussianPolicy
from lifelong_rl.trainers.sac import SACTrainer


def get_config(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device) -> Dict[str, Any]:
    policy = TanhGaussianPolicy(obs_dim, action_dim, variant["policy_kwargs"]["hidden_sizes"]).to(device)
    qfs = ParallelizedEnsemble(2, obs_dim + action_dim, 1, variant["qf_kwargs"]["hidden_sizes"]).to(device)
    trainer = SACTrainer(policy, qfs, action_dim, **variant["trainer_kwargs"])
    return {
        "trainer": trainer,
        "exploration_policy": StochasticPolicy(policy),
        "evaluation_policy": MakeDeterministic(policy),
    }
