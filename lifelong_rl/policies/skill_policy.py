"""Acting with skills: a skill held over steps (DADS' exploration, a uniform-skill evaluation), and
planning over skills (LiSP's GetAction, Lu et al. 2021 Alg. 3).

`SkillMPCPolicy`: every `repeat` env steps (once per held skill) the planner (lifelong_rl.planners,
MPPI by default) optimises H skills, each held for `repeat` steps, warm-started from the previous
plan shifted by one skill. A candidate is scored by rolling the skill policy's mode tanh(mu(s, z))
through the dynamics ensemble, `num_particles` particles per elite (each particle keeps its member,
TS-inf), over H x repeat steps:

    R = mean_particles sum_t gamma^t r_t,   r_t = -penalty where the ensemble's disagreement at
                                            (s_t, a_t) exceeds the threshold or the model predicts
                                            a termination (the particle then stays put),
                                            else r(s_t, a_t, s_t+1)

with r the model's learned reward or, where given, the task's reward (`reward_fn`, e.g. a lifelong
env's at its current v*). Lu et al.'s code sets this penalty (-20 beyond 0.1) and never reads it;
here it is applied. The action is the skill policy's mode for the plan's first skill.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch

from lifelong_rl.models.dynamics import DynamicsModel
from lifelong_rl.planners.planners import Planner
from lifelong_rl.policies.mpc_policy import pop_planning_time
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy

RewardFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class SkillPolicy:
    """pi(a | s, z) with z ~ U(-1, 1)^d drawn at every reset and, with `resample_every` > 0, every
    that many steps; stochastic or its mode. `get_action_and_info` puts z in the info ("skills")."""

    def __init__(self, policy: TanhGaussianPolicy, latent_dim: int, deterministic: bool = False,
                 resample_every: int = 0, seed: Optional[int] = None):
        self.policy, self.latent_dim, self.deterministic = policy, latent_dim, deterministic
        self.resample_every = resample_every
        self.rng = np.random.default_rng(seed)
        self.skill, self._steps = np.zeros(latent_dim, np.float32), 0

    def reset(self) -> None:
        self._draw()

    def _draw(self) -> None:
        self.skill = self.rng.uniform(-1.0, 1.0, self.latent_dim).astype(np.float32)
        self._steps = 0

    def get_action_and_info(self, obs: np.ndarray):
        if self.resample_every and self._steps == self.resample_every:
            self._draw()
        self._steps += 1
        skill = self.skill
        return self.policy.get_action(np.concatenate([obs, skill]), self.deterministic), {"skills": skill}

    def get_action(self, obs: np.ndarray) -> np.ndarray:
        return self.get_action_and_info(obs)[0]

    # The held skill and its generator are part of the episode in progress (StepCollector's snapshot).
    def noise_state(self) -> Dict[str, Any]:
        return {"skill": self.skill.copy(), "steps": self._steps, "rng": self.rng.bit_generator.state}

    def load_noise_state(self, state: Dict[str, Any]) -> None:
        self.skill, self._steps = np.asarray(state["skill"], np.float32), int(state["steps"])
        self.rng.bit_generator.state = state["rng"]


class SkillMPCPolicy:
    def __init__(self, model: DynamicsModel, skill_policy: TanhGaussianPolicy, planner: Planner, repeat: int = 3,
                 num_particles: int = 1, discount: float = 0.99, reward_fn: Optional[RewardFn] = None,
                 disagreement_threshold: float = 0.1, disagreement_penalty: float = 20.0, device: str = "cpu"):
        self.model, self.skill_policy, self.planner = model, skill_policy, planner
        self.repeat, self.num_particles, self.discount = repeat, num_particles, discount
        self.reward_fn = reward_fn
        self.disagreement_threshold, self.disagreement_penalty = disagreement_threshold, disagreement_penalty
        self.device = torch.device(device)
        self.horizon, self.latent_dim = planner.horizon, planner.action_dim
        self.planning_time, self.planning_steps = 0.0, 0
        self.reset()

    def reset(self) -> None:
        self._plan = torch.zeros(self.horizon, self.latent_dim, device=self.device)
        self._held = 0  # steps the plan's first skill has been held

    def actions(self, obs: torch.Tensor, skills: torch.Tensor) -> torch.Tensor:
        """The skill policy's mode tanh(mu(s, z)), [B, A]."""
        return self.skill_policy(torch.cat([obs, skills], -1)).deterministic

    def sequence_returns(self, obs: torch.Tensor, sequences: torch.Tensor) -> torch.Tensor:
        """Each skill sequence's penalised model return from `obs`: [N, H, d] -> [N]."""
        n, m, k = len(sequences), self.model.num_members, self.num_particles
        members = torch.arange(m, device=self.device).repeat_interleave(n * k)  # row r: candidate r % n
        states = obs.expand(len(members), -1)
        total = torch.zeros(len(members), device=self.device)
        for t in range(sequences.shape[1] * self.repeat):
            skills = sequences[:, t // self.repeat].repeat(m * k, 1)
            a = self.actions(states, skills)
            next_states, reward, done, disagreement = self.model.step_with_disagreement(states, a, members)
            if self.reward_fn is not None:
                reward = self.reward_fn(states, a, next_states)
            uncertain = disagreement > self.disagreement_threshold
            reward = torch.where(uncertain | done, torch.full_like(reward, -self.disagreement_penalty), reward)
            total += self.discount ** t * reward
            states = torch.where(done.unsqueeze(-1), states, next_states)  # a diverged particle stays put
        return total.view(m * k, n).mean(0)

    @torch.no_grad()
    def get_action(self, obs: np.ndarray) -> np.ndarray:
        o = torch.as_tensor(obs, dtype=torch.float32, device=self.device).unsqueeze(0)
        if self._held == self.repeat:  # the first skill is done: the next one leads
            self._plan = torch.cat([self._plan[1:], torch.zeros_like(self._plan[:1])])
            self._held = 0
        if self._held == 0:
            t0 = time.perf_counter()
            self._plan = self.planner.plan(lambda seqs: self.sequence_returns(o, seqs), self._plan)
            self.planning_time += time.perf_counter() - t0
        self.planning_steps += 1
        self._held += 1
        return self.actions(o, self._plan[:1])[0].cpu().numpy()

    pop_planning_time = pop_planning_time

    def noise_state(self) -> Dict[str, Any]:
        return {"plan": self._plan.cpu().clone(), "held": self._held}

    def load_noise_state(self, state: Dict[str, Any]) -> None:
        self._plan, self._held = state["plan"].to(self.device), int(state["held"])
