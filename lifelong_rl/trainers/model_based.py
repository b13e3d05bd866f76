"""The trainer of a model-based run (PETS-style MPC, MBPO, LOOP): the dynamics ensemble's fit
(lifelong_rl.trainers.dynamics_trainer) and, where the method has one, the policy's trainer (SAC for
MBPO and LOOP). The loop sees one trainer: its diagnostics, NaN guard and snapshot state hold both."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import torch

from lifelong_rl.trainers.dynamics_trainer import DynamicsTrainer


class ModelBasedTrainer:
    def __init__(self, dynamics: DynamicsTrainer, policy_trainer: Optional[Any] = None):
        self.dynamics, self.policy_trainer = dynamics, policy_trainer

    # A continual strategy's penalties read the policy trainer's networks.
    @property
    def policy(self):
        return self.policy_trainer.policy

    @property
    def qfs(self):
        return self.policy_trainer.qfs

    def compute_losses(self, batch: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The policy trainer's losses on a batch (MPC has none: its only learner is the model,
        fitted on the whole buffer by `dynamics.fit`)."""
        return {} if self.policy_trainer is None else self.policy_trainer.compute_losses(batch)

    def train_from_torch(self, batch: Mapping[str, torch.Tensor]) -> None:
        self.policy_trainer.train_from_torch(batch)

    def get_diagnostics(self) -> Dict[str, float]:
        policy = {} if self.policy_trainer is None else self.policy_trainer.get_diagnostics()
        return {**self.dynamics.get_diagnostics(), **policy}

    def losses_finite(self) -> bool:
        return self.dynamics.losses_finite() and (self.policy_trainer is None or self.policy_trainer.losses_finite())

    def reset_optimizers(self) -> None:
        self.dynamics.reset_optimizers()
        if self.policy_trainer is not None:
            self.policy_trainer.reset_optimizers()

    def reset_entropy(self) -> None:
        if self.policy_trainer is not None:
            self.policy_trainer.reset_entropy()

    def state_dict(self) -> Dict[str, Any]:
        return {"dynamics": self.dynamics.state_dict(),
                "policy": None if self.policy_trainer is None else self.policy_trainer.state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.dynamics.load_state_dict(state["dynamics"])
        if self.policy_trainer is not None:
            self.policy_trainer.load_state_dict(state["policy"])
