"""A single MetaWorld v3 task as a plain gymnasium env.

Goals: MetaWorld generates 50 goal configurations per task from a seed. By default `goal_seed`
picks one and keeps it for every episode (the usual single-task setting), so the exploration and
evaluation envs of a task share their goal while their simulators have seeds of their own; with
`new_goal_each_episode` a new one of the 50 is drawn at every reset, from the env's own `seed`. The goal position is part of
the observation (goal observable), so a policy can follow a changing goal.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import gymnasium as gym
import numpy as np

DEFAULT_EPISODE_LENGTH = 500  # MetaWorld's own max_path_length


def metaworld_task_names() -> list[str]:
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    return list(ALL_V3_ENVIRONMENTS.keys())


class MetaWorldTaskEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(
        self,
        task: str,
        seed: int = 0,
        max_path_length: int = DEFAULT_EPISODE_LENGTH,
        new_goal_each_episode: bool = False,
        goal_seed: Optional[int] = None,
    ):
        import metaworld

        if task not in metaworld_task_names():
            raise ValueError(f"unknown MetaWorld task '{task}'")
        self.task_name = task
        goal_seed = seed if goal_seed is None else goal_seed
        benchmark = metaworld.MT1(task, seed=goal_seed)
        self._env = benchmark.train_classes[task]()
        self._tasks = benchmark.train_tasks
        self._env.set_task(self._tasks[int(np.random.default_rng(goal_seed).integers(len(self._tasks)))])
        self._goal_rng = np.random.default_rng(seed)
        self.new_goal_each_episode = new_goal_each_episode
        self._env.seed(seed)
        self._env.max_path_length = int(max_path_length)
        self.max_path_length = int(max_path_length)
        low = self._env.observation_space.low.astype(np.float32)
        high = self._env.observation_space.high.astype(np.float32)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, self._env.action_space.shape, dtype=np.float32)
        self.action_space.seed(seed)

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        if seed is not None:
            self._goal_rng = np.random.default_rng(seed)
            self._env.seed(seed)
        if self.new_goal_each_episode:
            self._env.set_task(self._tasks[int(self._goal_rng.integers(len(self._tasks)))])
        obs, info = self._env.reset()
        return obs.astype(np.float32), info

    def step(self, action) -> Tuple[np.ndarray, float, bool, bool, Dict[str, Any]]:
        obs, reward, terminated, truncated, info = self._env.step(np.asarray(action, dtype=np.float64))
        info["success"] = float(info.get("success", 0.0))
        return obs.astype(np.float32), float(reward), bool(terminated), bool(truncated), info

    # Snapshot support: the goal sampler and the simulator's RNG (never the env object itself).
    def get_rng_state(self) -> Dict[str, Any]:
        return {"goal": self._goal_rng.bit_generator.state, "env": self._env.np_random.bit_generator.state}

    def set_rng_state(self, state: Dict[str, Any]) -> None:
        self._goal_rng.bit_generator.state = state["goal"]
        self._env.np_random.bit_generator.state = state["env"]

    def close(self) -> None:
        self._env.close()
