"""Gaussian policy and value network of the on-policy methods (PPO, NPG, VPG).

pi(a|s) = N(mu(s), diag(exp(log_std))^2) with a state-independent, learned log std (Schulman et
al.'s MuJoCo policies); actions are sampled unbounded and clipped to [-1, 1] only when sent to the
env (the log-probabilities are the unclipped samples'). Orthogonal initialisation as in the PPO
baselines: hidden layers gain sqrt(2), the policy's output 0.01, the value's output 1, biases 0.
"""
from __future__ import annotations

import math
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from lifelong_rl.models.networks import Mlp


def orthogonal_init(net: Mlp, last_gain: float) -> Mlp:
    for m in net.hidden:
        if isinstance(m, nn.Linear):
            nn.init.orthogonal_(m.weight, math.sqrt(2))
            nn.init.zeros_(m.bias)
    nn.init.orthogonal_(net.last.weight, last_gain)
    nn.init.zeros_(net.last.bias)
    return net


class GaussianPolicy(nn.Module):
    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int], activation: str = "tanh",
                 layer_norm: bool = False, log_std_init: float = 0.0):
        super().__init__()
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.mean_net = orthogonal_init(Mlp(obs_dim, action_dim, hidden_sizes, activation, layer_norm=layer_norm), 0.01)
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))

    def forward(self, obs: torch.Tensor) -> torch.distributions.Normal:
        mean = self.mean_net(obs)
        return torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self(obs).log_prob(actions).sum(-1)


class ActorCritic:
    """The exploration agent of an on-policy run: acts on a batch of (normalised) observations and
    reports what the rollout buffer stores (`get_actions_and_info`)."""

    def __init__(self, policy: GaussianPolicy, vf: Mlp):
        self.policy, self.vf = policy, vf

    @torch.no_grad()
    def values(self, obs: np.ndarray) -> np.ndarray:
        p = next(self.vf.parameters())
        return self.vf(torch.as_tensor(obs, dtype=p.dtype, device=p.device))[..., 0].cpu().numpy()

    @torch.no_grad()
    def get_actions_and_info(self, obs: np.ndarray) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
        p = next(self.policy.parameters())
        o = torch.as_tensor(obs, dtype=p.dtype, device=p.device)
        dist = self.policy(o)
        a = dist.sample()
        info = {"log_probs": dist.log_prob(a).sum(-1).cpu().numpy(), "values": self.vf(o)[..., 0].cpu().numpy()}
        return a.cpu().numpy(), info


class NormalizedMeanPolicy:
    """The evaluation policy: the mean action on observations normalised with frozen statistics."""

    def __init__(self, policy: GaussianPolicy, normalizer):
        self.policy, self.normalizer = policy, normalizer

    @torch.no_grad()
    def get_action(self, obs: np.ndarray) -> np.ndarray:
        p = next(self.policy.parameters())
        o = self.normalizer.observations(np.asarray(obs)[None])
        mean = self.policy.mean_net(torch.as_tensor(o, dtype=p.dtype, device=p.device))[0]
        return np.clip(mean.cpu().numpy(), -1.0, 1.0)

    def reset(self) -> None:
        pass
