"""The collective at acting time: env wrappers that keep the agent's own recent window of the
episode (lifelong_rl/models/trajectory_transformer.py `window_at`) and embed it with the trained
trajectory transformer after every step.

- `TaskEmbeddingWrapper`: observations become [e, s], e the embedding of the window ending at s
  (the collective actor's input; its finetuning is SAC on this env).
- `ShapingBonusWrapper`: observations unchanged; each step's info holds `shaping_bonus`, the
  collective's b(s, a) of the action taken (lifelong_rl/trainers/collective.py), for a student.

Both are deterministic given the actions since the reset, so a resumed step collector, which
replays the episode in progress, rebuilds their windows exactly.
"""
from __future__ import annotations

from typing import List

import gymnasium as gym
import numpy as np
import torch

from lifelong_rl.models.trajectory_transformer import TrajectoryTransformer, WindowBatch, window_at
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.trainers.collective import shaping_bonus


class TrajectoryWindow:
    """The current episode's states, actions and rewards, for windows of the last `window` steps."""

    def __init__(self, window: int, action_dim: int):
        self.window, self.action_dim = window, action_dim
        self.states: List[np.ndarray] = []
        self.actions: List[np.ndarray] = []
        self.rewards: List[float] = []

    def reset(self, obs: np.ndarray) -> None:
        self.states, self.actions, self.rewards = [np.asarray(obs, np.float32)], [], []

    def push(self, action: np.ndarray, reward: float, obs: np.ndarray) -> None:
        self.states.append(np.asarray(obs, np.float32))
        self.actions.append(np.asarray(action, np.float32))
        self.rewards.append(float(reward))
        if len(self.actions) > self.window:  # keep only what the next window needs
            del self.states[0], self.actions[0], self.rewards[0]

    def current(self) -> WindowBatch:
        """The window ending at the latest state, with a batch axis of 1."""
        w = window_at(np.stack(self.states), np.asarray(self.actions, np.float32).reshape(-1, self.action_dim),
                      np.asarray(self.rewards, np.float32), len(self.actions), self.window)
        return WindowBatch(*(x[None] for x in w))


class _WindowWrapper(gym.Wrapper):
    def __init__(self, env: gym.Env, encoder: TrajectoryTransformer):
        super().__init__(env)
        self.encoder = encoder.eval()
        self.history = TrajectoryWindow(encoder.window, encoder.config["action_dim"])

    def embedding(self) -> np.ndarray:
        return self.encoder.embed(self.history.current())[0]

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        return obs

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.history.reset(obs)
        return self._observe(obs), info


class TaskEmbeddingWrapper(_WindowWrapper):
    def __init__(self, env: gym.Env, encoder: TrajectoryTransformer):
        super().__init__(env, encoder)
        n, box = encoder.embedding_dim, env.observation_space
        self.observation_space = gym.spaces.Box(np.concatenate([np.full(n, -np.inf, np.float32), box.low]),
                                                np.concatenate([np.full(n, np.inf, np.float32), box.high]), dtype=np.float32)

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        return np.concatenate([self.embedding(), obs]).astype(np.float32)

    def step(self, action):
        obs, r, terminated, truncated, info = self.env.step(action)
        self.history.push(action, r, obs)
        return self._observe(obs), r, terminated, truncated, info


class ShapingBonusWrapper(_WindowWrapper):
    def __init__(self, env: gym.Env, encoder: TrajectoryTransformer, collective: TanhGaussianPolicy, min_std: float = 1e-4):
        super().__init__(env, encoder)
        self.collective, self.min_std = collective.eval(), min_std

    @torch.no_grad()
    def bonus(self, action: np.ndarray) -> float:
        x = torch.as_tensor(np.concatenate([self.embedding(), self.history.states[-1]]), dtype=torch.float32)[None]
        dist = self.collective(x)
        return float(shaping_bonus(dist.mean, dist.std, torch.as_tensor(action, dtype=torch.float32)[None], self.min_std)[0])

    def step(self, action):
        b = self.bonus(action)
        obs, r, terminated, truncated, info = self.env.step(action)
        self.history.push(action, r, obs)
        info["shaping_bonus"] = b
        return obs, r, terminated, truncated, info
