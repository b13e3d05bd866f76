"""Tanh-squashed Gaussian with an exact, numerically stable log-density."""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def tanh_log_det_jacobian(pre_tanh: torch.Tensor) -> torch.Tensor:
    """log |d tanh(u) / du| = log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|."""
    return 2.0 * (math.log(2.0) - pre_tanh - F.softplus(-2.0 * pre_tanh))


class TanhNormal:
    """a = tanh(u), u ~ N(mean, std). log p(a) = log N(u) - sum log(1 - tanh(u)^2)."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        self.mean = mean
        self.std = std

    def rsample_with_pre_tanh(self, eps: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """tanh(u) and u = mean + std * eps; `eps` standard normal noise, drawn here when not given."""
        u = self.mean + self.std * (torch.randn_like(self.mean) if eps is None else eps)
        return torch.tanh(u), u

    def rsample_and_log_prob(self, eps: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised sample and its log-density summed over action dims (shape [..., 1])."""
        a, u = self.rsample_with_pre_tanh(eps)
        return a, self.log_prob_from_pre_tanh(u)

    def log_prob_from_pre_tanh(self, u: torch.Tensor) -> torch.Tensor:
        z = (u - self.mean) / self.std
        normal_lp = -0.5 * z.pow(2) - self.std.log() - LOG_SQRT_2PI
        return (normal_lp - tanh_log_det_jacobian(u)).sum(-1, keepdim=True)

    def log_prob(self, a: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
        """Log-density of a squashed action (inverts tanh; clamps a away from +-1)."""
        a = a.clamp(-1.0 + eps, 1.0 - eps)
        return self.log_prob_from_pre_tanh(torch.atanh(a))

    @property
    def deterministic(self) -> torch.Tensor:
        return torch.tanh(self.mean)
