"""MBPO (Janner et al. 2019, "When to Trust Your Model: Model-Based Policy Optimization"): branched
model rollouts and the real / model data mix of SAC's batches.

Every `rollout_every` env steps, `rollout_batch_size` states drawn uniformly from the real buffer
start k-step rollouts of the current (stochastic) policy in the model, one random elite per row and
step (TS1); each row stops after its first predicted termination. The transitions go to a model
buffer, and batches draw from the last `retain_generations` generations' worth of it
(retain_generations x rollout_batch_size x k transitions at the current k: MBPO's model_retain_epochs,
counted in generations). The rollout length
k grows linearly with env steps, `rollout_length_schedule` = (start step, end step, k at start, k
at end) (MBPO's Hopper: 20k, 100k, 1, 15). Each SAC batch holds int(real_ratio * B) real
transitions and the rest from the model buffer (MBPO: real_ratio 0.05).

Files: lifelong_rl/models/dynamics.py (the model), lifelong_rl/trainers/dynamics_trainer.py (its
fit), lifelong_rl/trainers/sac.py (the policy's losses), lifelong_rl/core/schedules.py
(ModelBasedSchedule: when fits and rollouts happen).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch

from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.models.dynamics import DynamicsModel
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.trainers.offline_model_based import RolloutPenalty

ROLLOUT_KEYS = ("observations", "actions", "rewards", "next_observations", "terminals")


def rollout_length(schedule: Sequence[int], env_steps: int) -> int:
    """k at `env_steps` for the schedule (start, end, k_start, k_end): linear in between, floored."""
    start, end, k0, k1 = schedule
    if env_steps <= start or end <= start:
        return int(k0) if env_steps <= start else int(k1)
    frac = min(1.0, (env_steps - start) / (end - start))
    return int(k0 + frac * (k1 - k0))


@torch.no_grad()
def branched_rollouts(model: DynamicsModel, policy: TanhGaussianPolicy, start_obs: torch.Tensor,
                      length: int, penalty: Optional[RolloutPenalty] = None) -> Dict[str, np.ndarray]:
    """k-step rollouts of the policy in the model from `start_obs` [B, obs]; every transition up to
    and including each row's first termination, as arrays with a leading sample axis. `penalty`
    (an offline method's pessimism: MOPO, MOReL) rewrites each step's rewards and terminals."""
    out: Dict[str, list] = {k: [] for k in ROLLOUT_KEYS}
    obs = start_obs
    for _ in range(length):
        if len(obs) == 0:
            break
        act = policy.sample(obs)[0]
        next_obs, reward, done = model.step(obs, act, model.random_members(len(obs)))
        if penalty is not None:
            reward, done = penalty(model, obs, act, reward, done)
        ok = torch.isfinite(next_obs).all(-1) & torch.isfinite(reward)  # a diverged row is dropped
        for k, v in zip(ROLLOUT_KEYS, (obs, act, reward, next_obs, done.float())):
            out[k].append(v[ok].cpu().numpy())
        obs = next_obs[~done]
    return {k: np.concatenate(v).astype(np.float32) for k, v in out.items()}


class ModelRollouts:
    """The model buffer of an MBPO run, filled by branched rollouts, and the mixed batches."""

    def __init__(self, model: DynamicsModel, policy: TanhGaussianPolicy, model_buffer: ReplayBuffer,
                 rollout_every: int, rollout_batch_size: int, rollout_length_schedule: Sequence[int],
                 retain_generations: int, real_ratio: float, device: torch.device, penalty: Optional[RolloutPenalty] = None):
        self.model, self.policy, self.buffer, self.penalty = model, policy, model_buffer, penalty
        self.rollout_every, self.rollout_batch_size = rollout_every, rollout_batch_size
        self.retain_generations = retain_generations
        self.schedule, self.real_ratio, self.device = tuple(rollout_length_schedule), real_ratio, device
        self.last_length = 0

    def generate(self, real_buffer: ReplayBuffer, env_steps: int) -> int:
        """Rollouts from states of the real buffer into the model buffer; returns transitions added."""
        if len(real_buffer) == 0:
            return 0
        self.last_length = rollout_length(self.schedule, env_steps)
        if self.penalty is not None:
            self.penalty.prepare(self.model, real_buffer)
        idx = real_buffer.random_indices(self.rollout_batch_size)
        start = torch.as_tensor(real_buffer.observations[idx], device=self.device)
        data = branched_rollouts(self.model, self.policy, start, self.last_length, self.penalty)
        n = len(data["rewards"])
        extra = {k: np.zeros((n, *f.shape), f.dtype) for k, f in self.buffer.fields.items() if k not in data}
        self.buffer.add_batch(**data, **extra)
        return n

    def batch(self, real_buffer: ReplayBuffer, batch_size: int) -> Dict[str, np.ndarray]:
        """int(real_ratio * batch_size) real transitions, the rest from the model buffer (all real
        while it is empty)."""
        n_real = batch_size if len(self.buffer) == 0 else int(self.real_ratio * batch_size)
        real = real_buffer.random_batch(n_real)
        if n_real == batch_size:
            return real
        window = self.retain_generations * self.rollout_batch_size * max(1, self.last_length)
        model = self.buffer.random_batch(batch_size - n_real, window)
        return {k: np.concatenate([real[k], model[k]]) for k in real}

    def diagnostics(self) -> Dict[str, float]:
        penalty = {} if self.penalty is None else self.penalty.diagnostics()
        return {"model_buffer/size": len(self.buffer), "model_buffer/rollout length": self.last_length, **penalty}

    def state_dict(self, save_buffer: bool) -> Dict[str, Any]:
        return {"buffer": self.buffer.state_dict() if save_buffer else None, "last_length": self.last_length,
                "rng": self.buffer.rng_state_dict(), "penalty": None if self.penalty is None else self.penalty.state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        if state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"])
        self.buffer.rng.bit_generator.state = state["rng"]["rng"]
        self.last_length = int(state["last_length"])
        if self.penalty is not None:
            self.penalty.load_state_dict(state["penalty"])
