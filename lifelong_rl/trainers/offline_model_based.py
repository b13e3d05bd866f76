"""The pessimism of the model-based offline methods, applied to every transition of MBPO's branched
model rollouts (lifelong_rl/trainers/mbpo.py); SAC learns on the real / model mix as in MBPO.

MOPO (Yu et al. 2020, "MOPO: Model-based Offline Policy Optimization"), eq. (7) and its code:

    r~(s, a) = r^(s, a) - lambda * u(s, a),    u(s, a) = max_i || sigma_i(s, a) ||_2

the largest norm, over the elites, of the predicted standard deviation vector (every predicted
dimension: next state, and reward / termination where learned), as the official code and Lu et
al.'s do (the paper writes the Frobenius norm of the covariance).

MOReL (Kidambi et al. 2020, "MOReL: Model-Based Offline Reinforcement Learning"), section 4: the
unknown state-action detector U(s, a) = [ disc(s, a) > threshold ] with disc(s, a) = max_{i, j}
|| mu_i(s, a) - mu_j(s, a) ||_2 over the elites' predicted means; an unknown (s, a) leads to the
absorbing HALT state, whose reward is -kappa. Here such a transition gets reward -kappa and is
terminal, so the rollout ends there (Lu et al.'s code kept rolling out and only replaced rewards).
As in MOReL's code, disc compares the next-state predictions, and the threshold is a multiple
(`threshold_coef`) of the largest disagreement over the data's own (s, a) pairs, measured after
every fit of the model. MOReL learns its policy
with NPG on the pessimistic MDP; here SAC does (as in Lu et al.'s code).

Files that define the methods: this file, lifelong_rl/trainers/mbpo.py (rollouts, data mix),
lifelong_rl/models/dynamics.py (`disagreement`), lifelong_rl/trainers/sac.py,
lifelong_rl/core/schedules.py (OfflineSchedule).
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch

from lifelong_rl.models.dynamics import DynamicsModel

CALIBRATION_CHUNK = 20_000  # pairs per pass when measuring MOReL's disagreement on the data


def mopo_reward(reward: torch.Tensor, std_norm: torch.Tensor, coef: float) -> torch.Tensor:
    """MOPO's penalised reward r - lambda * u."""
    return reward - coef * std_norm


def morel_halt(reward: torch.Tensor, terminal: torch.Tensor, disc: torch.Tensor, threshold: float,
               kappa: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(reward, terminal, unknown): an unknown pair's transition goes to HALT (reward -kappa, terminal)."""
    unknown = disc > threshold
    return torch.where(unknown, torch.full_like(reward, -kappa), reward), terminal | unknown, unknown


class RolloutPenalty:
    """Called on every model step of a rollout: (model, obs, act, reward, terminal) -> (reward,
    terminal). `prepare(model, real_buffer)` runs before each generation of rollouts."""

    def __init__(self):
        self._sum, self._count = 0.0, 0

    def prepare(self, model: DynamicsModel, real_buffer) -> None:
        self._sum, self._count = 0.0, 0

    def __call__(self, model: DynamicsModel, obs: torch.Tensor, act: torch.Tensor, reward: torch.Tensor,
                 terminal: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def diagnostics(self) -> Dict[str, float]:
        """model_buffer/... columns: the penalty's statistics over the last generation of rollouts."""
        return {}

    def _track(self, values: torch.Tensor) -> None:
        self._sum += float(values.float().sum())
        self._count += len(values)

    def _mean(self) -> float:
        return self._sum / max(self._count, 1)

    def state_dict(self) -> Dict[str, float]:
        """What the logged diagnostics need after a resume."""
        return {k: v for k, v in vars(self).items() if k in ("_sum", "_count", "threshold", "_calibrated")}

    def load_state_dict(self, state: Dict[str, float]) -> None:
        for k, v in state.items():
            setattr(self, k, v)


class MOPOPenalty(RolloutPenalty):
    def __init__(self, coef: float):
        super().__init__()
        self.coef = coef

    def __call__(self, model, obs, act, reward, terminal):
        u = model.ensemble.disagreement(obs, act)["max_std_norm"]
        self._track(u)
        return mopo_reward(reward, u, self.coef), terminal

    def diagnostics(self) -> Dict[str, float]:
        return {"model_buffer/MOPO uncertainty mean": self._mean()}


class MOReLHalt(RolloutPenalty):
    def __init__(self, threshold_coef: float, kappa: float):
        super().__init__()
        self.threshold_coef, self.kappa = threshold_coef, kappa
        self.threshold = float("inf")
        self._calibrated: Tuple = ()  # (data size, parameter sum) the threshold was measured for

    @torch.no_grad()
    def prepare(self, model: DynamicsModel, real_buffer) -> None:
        """The threshold: `threshold_coef` x the largest disagreement on the data's pairs, measured
        again when the model or the data changed (a fit, new transitions)."""
        super().prepare(model, real_buffer)
        n = len(real_buffer)
        key = (n, float(sum(p.detach().double().sum() for p in model.ensemble.parameters())))
        if key == self._calibrated:
            return
        device, largest = model.ensemble.elites.device, 0.0
        for i in range(0, n, CALIBRATION_CHUNK):
            obs = torch.as_tensor(real_buffer.observations[i:min(i + CALIBRATION_CHUNK, n)], device=device)
            act = torch.as_tensor(real_buffer.actions[i:min(i + CALIBRATION_CHUNK, n)], device=device)
            disc = model.ensemble.disagreement(obs, act)["max_mean_gap"]
            finite = disc[torch.isfinite(disc)]
            if finite.numel():
                largest = max(largest, float(finite.max()))
        self.threshold, self._calibrated = self.threshold_coef * largest, key

    def __call__(self, model, obs, act, reward, terminal):
        disc = model.ensemble.disagreement(obs, act)["max_mean_gap"]
        reward, terminal, unknown = morel_halt(reward, terminal, disc, self.threshold, self.kappa)
        self._track(unknown)
        return reward, terminal

    def diagnostics(self) -> Dict[str, float]:
        return {"model_buffer/MOReL HALT share": self._mean(), "model_buffer/MOReL threshold": self.threshold}
