"""Deterministic tanh actor (TD3's and DDPG's) and its exploration noise processes.

Actions live in [-1, 1]^A, the normalised action space every policy of the library acts in.
Noise is drawn from torch's global generator (saved in every snapshot, as SAC's sampling is); the
Ornstein-Uhlenbeck process also carries a state across the steps of an episode, which the step
collector keeps in its snapshot (`noise_state` / `load_noise_state`).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Sequence, Union

import numpy as np
import torch
from torch import nn

from lifelong_rl.models.networks import Mlp


class DeterministicPolicy(nn.Module):
    """a = tanh(f(s))."""

    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int], activation: str = "relu",
                 layer_norm: bool = False):
        super().__init__()
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.net = Mlp(obs_dim, action_dim, hidden_sizes, activation, layer_norm=layer_norm)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(obs))

    @torch.no_grad()
    def get_action(self, obs: Union[np.ndarray, torch.Tensor]) -> np.ndarray:
        p = next(self.parameters())
        return self(torch.as_tensor(obs, dtype=p.dtype, device=p.device).unsqueeze(0))[0].cpu().numpy()

    def reset(self) -> None:
        pass


class GaussianNoise:
    """Independent N(0, sigma^2) per step (TD3's exploration)."""

    def __init__(self, action_dim: int, sigma: float):
        self.action_dim, self.sigma = action_dim, sigma

    def sample(self) -> np.ndarray:
        return self.sigma * torch.randn(self.action_dim, dtype=torch.float64).numpy()

    def reset(self) -> None:
        pass

    def state_dict(self) -> Dict[str, Any]:
        return {}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        pass


class OrnsteinUhlenbeckNoise:
    """x <- x + theta * (0 - x) * dt + sigma * sqrt(dt) * N(0, 1), x = 0 at every episode start
    (DDPG, Lillicrap et al. 2015: theta 0.15, sigma 0.2; dt 1e-2 as in the common implementations)."""

    def __init__(self, action_dim: int, sigma: float, theta: float = 0.15, dt: float = 1e-2):
        self.action_dim, self.sigma, self.theta, self.dt = action_dim, sigma, theta, dt
        self.x = np.zeros(action_dim)

    def sample(self) -> np.ndarray:
        eps = torch.randn(self.action_dim, dtype=torch.float64).numpy()
        self.x = self.x - self.theta * self.x * self.dt + self.sigma * math.sqrt(self.dt) * eps
        return self.x.copy()

    def reset(self) -> None:
        self.x = np.zeros(self.action_dim)

    def state_dict(self) -> Dict[str, Any]:
        return {"x": self.x.copy()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.x = np.array(state["x"], dtype=np.float64)


NOISES = {"gaussian": GaussianNoise, "ou": OrnsteinUhlenbeckNoise}


class NoisyPolicy:
    """The exploration policy: clip(pi(s) + noise, -1, 1)."""

    def __init__(self, policy: DeterministicPolicy, noise):
        self.policy, self.noise = policy, noise

    def get_action(self, obs: np.ndarray) -> np.ndarray:
        a = self.policy.get_action(obs) + self.noise.sample()
        return np.clip(a, -1.0, 1.0).astype(np.float32)

    def reset(self) -> None:
        self.noise.reset()

    def noise_state(self) -> Dict[str, Any]:
        return self.noise.state_dict()

    def load_noise_state(self, state: Dict[str, Any]) -> None:
        self.noise.load_state_dict(state)
