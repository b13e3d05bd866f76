"""The true dynamics of a gym MuJoCo env as a model a planner can step: batches of states rolled
forward by MuJoCo itself (`mujoco.rollout`, in C), for envs whose observation is the full physics
state [qpos, qvel] (InvertedPendulum-v5). A reference for planners (PETS' "ground truth"
comparison), not a learned model."""
from __future__ import annotations

from typing import Tuple

import gymnasium as gym
import mujoco
import numpy as np
import torch
from mujoco import rollout

from lifelong_rl.models.dynamics import ModelFunction


class MujocoTrueModel:
    num_members = 1

    def __init__(self, env: gym.Env, reward_fn: ModelFunction, termination_fn: ModelFunction):
        u = env.unwrapped
        self.model, self.frame_skip = u.model, u.frame_skip
        self.data = mujoco.MjData(self.model)  # scratch: the env's own data is never touched
        n = self.model.nq + self.model.nv
        if env.observation_space.shape[0] != n or self.model.na:
            raise ValueError(f"{env.spec.id if env.spec else env}: the observation is not the physics state [qpos, qvel]")
        self.reward_fn, self.termination_fn = reward_fn, termination_fn

    def random_members(self, n: int) -> torch.Tensor:
        return torch.zeros(n, dtype=torch.long)

    def step(self, obs: torch.Tensor, act: torch.Tensor, members: torch.Tensor
             ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        o = obs.detach().cpu().double().numpy()
        state = np.concatenate([np.zeros((len(o), 1)), o], 1)  # [time, qpos, qvel]
        control = np.repeat(act.detach().cpu().double().numpy()[:, None, :], self.frame_skip, 1)
        states, _ = rollout.rollout(self.model, self.data, state, control)
        next_obs = torch.as_tensor(states[:, -1, 1:], dtype=obs.dtype, device=obs.device)
        return next_obs, self.reward_fn(obs, act, next_obs), self.termination_fn(obs, act, next_obs)
