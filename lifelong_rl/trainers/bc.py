"""Behaviour cloning: the baseline of every offline table (Fu et al. 2020, D4RL's "BC").

The tanh-Gaussian policy's deterministic action tanh(mu(s)) is regressed on the dataset's actions:

    J_BC = E_(s, a) ~ D [ || tanh(mu(s)) - a ||^2 ]   (summed over action dims, averaged over the batch)

The regression of the mean, not the likelihood of the whole Gaussian: evaluation uses the mean
action, and the log-likelihood of a tanh-Gaussian at dataset actions on the bounds (+-1, which
uniformly random and clipped actions reach) is unbounded. Files: this one,
experiment_configs/configs/offline/bc.py, lifelong_rl/core/schedules.py (OfflineSchedule).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

import torch

from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.trainers.sac import make_adam


def bc_loss(policy: TanhGaussianPolicy, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    return ((policy(obs).deterministic - actions) ** 2).sum(-1).mean()


class BCTrainer:
    def __init__(self, policy: TanhGaussianPolicy, lr: float = 1e-3):
        self.policy, self.lr = policy, lr
        self.optimizer = make_adam(policy.parameters(), lr)
        self._n_train_steps = 0
        self._last_loss = torch.zeros(())

    def compute_losses(self, batch: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {"policy_loss": bc_loss(self.policy, batch["observations"], batch["actions"])}

    def train_from_torch(self, batch: Mapping[str, torch.Tensor]) -> None:
        loss = self.compute_losses(batch)["policy_loss"]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._n_train_steps += 1
        self._last_loss = loss.detach()

    def get_diagnostics(self) -> Dict[str, float]:
        return {"Policy Loss": float(self._last_loss), "Num Train Steps": self._n_train_steps}

    def losses_finite(self) -> bool:
        return bool(torch.isfinite(self._last_loss))

    def reset_optimizers(self) -> None:
        self.optimizer = make_adam(self.policy.parameters(), self.lr)

    def state_dict(self) -> Dict[str, Any]:
        return {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
                "n_train_steps": self._n_train_steps, "last_loss": self._last_loss}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._n_train_steps = int(state["n_train_steps"])
        self._last_loss = state["last_loss"]
