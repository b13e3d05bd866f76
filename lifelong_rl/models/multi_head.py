"""Multi-head outputs (Continual World's default task conditioning): one output head per task,
selected by the one-hot task id that ends the observation."""
from __future__ import annotations

from typing import Sequence

import torch

from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import LOG_STD_MAX, LOG_STD_MIN, TanhGaussianPolicy
from lifelong_rl.torch.distributions import TanhNormal


def select_head(out: torch.Tensor, one_hot: torch.Tensor, num_heads: int) -> torch.Tensor:
    """out [..., H * D], one_hot [..., H] -> [..., D] (the head of each row's task)."""
    out = out.unflatten(-1, (num_heads, -1))
    return (out * one_hot.unsqueeze(-1)).sum(-2)


class MultiHeadTanhGaussianPolicy(TanhGaussianPolicy):
    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int], num_heads: int, **net_kwargs):
        super().__init__(obs_dim, action_dim * num_heads, hidden_sizes, **net_kwargs)
        self.action_dim, self.num_heads = action_dim, num_heads

    def forward(self, obs: torch.Tensor) -> TanhNormal:
        out = select_head(self.net(obs), obs[..., -self.num_heads:], self.num_heads)
        mean, log_std = out.chunk(2, dim=-1)
        return TanhNormal(mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp())


class MultiHeadEnsemble(ParallelizedEnsemble):
    """Q ensemble over [obs, action] with one output per task; the one-hot sits at obs[-H:]."""

    def __init__(self, ensemble_size: int, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int], num_heads: int,
                 **net_kwargs):
        super().__init__(ensemble_size, obs_dim + action_dim, num_heads, hidden_sizes, **net_kwargs)
        self.obs_dim, self.num_heads = obs_dim, num_heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        one_hot = x[..., self.obs_dim - self.num_heads: self.obs_dim]
        return select_head(super().forward(x), one_hot, self.num_heads)

    def head_parameters(self):
        return list(self.layers[-1].parameters())
