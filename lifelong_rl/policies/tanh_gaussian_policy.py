"""Tanh-Gaussian policy (SAC's actor) and a deterministic wrapper for evaluation."""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from lifelong_rl.models.networks import Mlp
from lifelong_rl.torch.distributions import TanhNormal

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


class TanhGaussianPolicy(nn.Module):
    """pi(a | s) = tanh(N(mu(s), sigma(s))). One trunk, one head emitting [mu, log sigma]."""

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_sizes: Sequence[int],
        activation: str = "relu",
        layer_norm: bool = False,
    ):
        super().__init__()
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.net = Mlp(obs_dim, 2 * action_dim, hidden_sizes, activation, layer_norm=layer_norm)

    def forward(self, obs: torch.Tensor) -> TanhNormal:
        mean, log_std = self.net(obs).float().chunk(2, dim=-1)  # float32 after bfloat16 matmuls (autocast)
        log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
        return TanhNormal(mean, log_std.exp())

    def sample(self, obs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised action and its log-probability, shape [B, A] and [B, 1]."""
        return self(obs).rsample_and_log_prob()

    @torch.no_grad()
    def get_action(self, obs: Union[np.ndarray, torch.Tensor], deterministic: bool = False) -> np.ndarray:
        """One action for one observation (an array, or a tensor already on the policy's device)."""
        p = next(self.parameters())
        o = torch.as_tensor(obs, dtype=p.dtype, device=p.device).unsqueeze(0)
        dist = self(o)
        a = dist.deterministic if deterministic else dist.rsample_with_pre_tanh()[0]
        return a[0].cpu().numpy()

    def reset(self) -> None:
        pass


class MakeDeterministic:
    """Acts with tanh(mean): the evaluation policy."""

    def __init__(self, policy: TanhGaussianPolicy):
        self.policy = policy

    def get_action(self, obs: np.ndarray) -> np.ndarray:
        return self.policy.get_action(obs, deterministic=True)

    def reset(self) -> None:
        self.policy.reset()


class StochasticPolicy:
    """Acts with a sample: the exploration policy."""

    def __init__(self, policy: TanhGaussianPolicy):
        self.policy = policy

    def get_action(self, obs: np.ndarray) -> np.ndarray:
        return self.policy.get_action(obs, deterministic=False)

    def reset(self) -> None:
        self.policy.reset()
