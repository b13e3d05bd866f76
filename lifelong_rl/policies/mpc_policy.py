"""Model-predictive control over actions (PETS-style; Chua et al. 2018), with LOOP's additions
(Sikchi et al. 2020, "Learning Off-Policy with Online Planning"): a terminal value and a policy
as a source of candidate sequences.

Every env step the planner (lifelong_rl.planners) optimises an H-step action sequence, warm-started
from the previous plan shifted by one step; the first action is taken. A candidate's return is
estimated by trajectory sampling (PETS section 4): each candidate is followed by `num_particles`
particles per elite member of the model,

    R = mean_particles [ sum_{t<H} gamma^t * alive_t * r_t  +  gamma^H * alive_H * V(s_H) ]

where alive_t is 0 after the particle's first predicted termination and V is the terminal value
(LOOP; none for PETS). Propagation: `ts_inf` keeps each particle on one member for the whole
horizon; `ts1` reassigns particles to members at every step, uniformly at random in equal shares.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch

from lifelong_rl.planners.planners import Planner

PROPAGATIONS = ("ts1", "ts_inf")
ValueFn = Callable[[torch.Tensor], torch.Tensor]  # states [B, obs] -> values [B]
PriorPolicy = Callable[[torch.Tensor], torch.Tensor]  # states [B, obs] -> sampled actions [B, A]


def pop_planning_time(policy) -> Optional[float]:
    """Mean planning seconds per env step of a planning policy (its `planning_time` over its
    `planning_steps`) since the last call; None if it did not act."""
    if not policy.planning_steps:
        return None
    mean = policy.planning_time / policy.planning_steps
    policy.planning_time, policy.planning_steps = 0.0, 0
    return mean


class MPCPolicy:
    def __init__(self, model, planner: Planner, num_particles: int = 1, propagation: str = "ts_inf",
                 discount: float = 0.99, value_fn: Optional[ValueFn] = None,
                 prior_policy: Optional[PriorPolicy] = None, prior_samples: int = 0, device: str = "cpu"):
        if propagation not in PROPAGATIONS:
            raise ValueError(f"unknown propagation '{propagation}'; valid: {', '.join(PROPAGATIONS)}")
        self.model, self.planner = model, planner
        self.num_particles, self.propagation, self.discount = num_particles, propagation, discount
        self.value_fn, self.prior_policy, self.prior_samples = value_fn, prior_policy, prior_samples
        self.device = torch.device(device)
        self.horizon, self.action_dim = planner.horizon, planner.action_dim
        self.planning_time, self.planning_steps = 0.0, 0
        self.reset()

    def reset(self) -> None:
        self._plan = torch.zeros(self.horizon, self.action_dim, device=self.device)

    # -- evaluating candidate sequences ----------------------------------------------------------
    def sequence_returns(self, obs: torch.Tensor, sequences: torch.Tensor) -> torch.Tensor:
        """Trajectory-sampling estimate of each sequence's return from `obs`: [N, H, A] -> [N]."""
        n, m, k = len(sequences), self.model.num_members, self.num_particles
        # Row r follows candidate r % n on member r // (n * k): each member holds an equal share.
        members = torch.arange(m, device=self.device).repeat_interleave(n * k)
        states = obs.expand(len(members), -1)
        alive = torch.ones(len(members), dtype=torch.bool, device=self.device)
        total = torch.zeros(len(members), device=self.device)
        for t in range(sequences.shape[1]):
            if self.propagation == "ts1":
                members = members[torch.randperm(len(members), device=self.device)]
            states, reward, done = self.model.step(states, sequences[:, t].repeat(m * k, 1), members)
            total += self.discount ** t * torch.where(alive, reward, 0.0)  # 0, not 0 * NaN, once terminated
            alive = alive & ~done
        if self.value_fn is not None:
            total += self.discount ** sequences.shape[1] * torch.where(alive, self.value_fn(states), 0.0)
        return total.view(m * k, n).mean(0)

    def prior_sequences(self, obs: torch.Tensor) -> Optional[torch.Tensor]:
        """`prior_samples` sequences of the prior policy rolled through the model (one random elite
        per step), [K, H, A]; None without a prior."""
        if self.prior_policy is None or self.prior_samples == 0:
            return None
        states, actions = obs.expand(self.prior_samples, -1), []
        for _ in range(self.horizon):
            a = self.prior_policy(states)
            actions.append(a)
            states = self.model.step(states, a, self.model.random_members(len(states)))[0]
        return torch.stack(actions, 1)

    # -- acting ----------------------------------------------------------------------------------
    @torch.no_grad()
    def get_action(self, obs: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        o = torch.as_tensor(obs, dtype=torch.float32, device=self.device).unsqueeze(0)
        plan = self.planner.plan(lambda seqs: self.sequence_returns(o, seqs), self._plan, self.prior_sequences(o))
        self._plan = torch.cat([plan[1:], torch.zeros_like(plan[:1])])  # the warm start of the next step
        self.planning_time += time.perf_counter() - t0
        self.planning_steps += 1
        return plan[0].cpu().numpy()

    pop_planning_time = pop_planning_time

    # The warm start is part of an episode in progress: a resumed run plans from the same one.
    # (StepCollector keeps a policy's `noise_state` in its snapshot and restores it after the replay.)
    def noise_state(self) -> Dict[str, Any]:
        return {"plan": self._plan.cpu().clone()}

    def load_noise_state(self, state: Dict[str, Any]) -> None:
        self._plan = state["plan"].to(self.device)
