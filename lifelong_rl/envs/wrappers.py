"""Env wrappers for task streams."""
from __future__ import annotations

import gymnasium as gym
import numpy as np


class TaskIdWrapper(gym.ObservationWrapper):
    """Appends a one-hot task id (task `index` of `num_tasks`) to the observation."""

    def __init__(self, env: gym.Env, index: int, num_tasks: int):
        super().__init__(env)
        if not 0 <= index < num_tasks:
            raise ValueError(f"task index {index} out of range for {num_tasks} tasks")
        self.one_hot = np.zeros(num_tasks, dtype=np.float32)
        self.one_hot[index] = 1.0
        low = np.concatenate([env.observation_space.low, np.zeros(num_tasks, np.float32)])
        high = np.concatenate([env.observation_space.high, np.ones(num_tasks, np.float32)])
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    def observation(self, obs: np.ndarray) -> np.ndarray:
        return np.concatenate([obs, self.one_hot]).astype(np.float32)
