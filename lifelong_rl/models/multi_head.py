"""Multi-head outputs (Continual World's default task conditioning): one output head per task,
selected by the one-hot task id that ends the observation. With `hide_task_id` the trunk does not
see the one-hot: it only picks the head (Continual World's `hide_task_id`, on by default there)."""
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
    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int], num_heads: int,
                 hide_task_id: bool = False, **net_kwargs):
        super().__init__(obs_dim - num_heads if hide_task_id else obs_dim, action_dim * num_heads, hidden_sizes,
                         **net_kwargs)
        self.obs_dim, self.action_dim, self.num_heads, self.hide_task_id = obs_dim, action_dim, num_heads, hide_task_id

    def forward(self, obs: torch.Tensor) -> TanhNormal:
        one_hot = obs[..., -self.num_heads:]
        trunk_in = obs[..., :-self.num_heads] if self.hide_task_id else obs
        out = select_head(self.net(trunk_in), one_hot, self.num_heads)
        mean, log_std = out.float().chunk(2, dim=-1)
        return TanhNormal(mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp())


class MultiHeadEnsemble(ParallelizedEnsemble):
    """Q ensemble over [obs, action] with one output per task; the one-hot sits at obs[-H:]."""

    def __init__(self, ensemble_size: int, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int], num_heads: int,
                 hide_task_id: bool = False, **net_kwargs):
        trunk_in = obs_dim - num_heads if hide_task_id else obs_dim
        super().__init__(ensemble_size, trunk_in + action_dim, num_heads, hidden_sizes, **net_kwargs)
        self.obs_dim, self.num_heads, self.hide_task_id = obs_dim, num_heads, hide_task_id

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        start = self.obs_dim - self.num_heads
        one_hot = x[..., start: self.obs_dim]
        if self.hide_task_id:
            x = torch.cat([x[..., :start], x[..., self.obs_dim:]], dim=-1)
        return select_head(super().forward(x), one_hot, self.num_heads)

    def head_parameters(self):
        return list(self.layers[-1].parameters())
