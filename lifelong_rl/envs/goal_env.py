"""Goal-conditioned envs for HER (Andrychowicz et al. 2017).

`MetaWorldGoalEnv` is a MetaWorld task as a goal task, in the gymnasium-robotics GoalEnv form
(dict observations {observation, achieved_goal, desired_goal}, a vectorised `compute_reward`):
the achieved goal is what the task's own success test measures (reach: the gripper's centre,
MetaWorld's `tcp_center`; push and pick-place: the object's position), the desired goal is the
task's target, the reward is sparse, 0 on success and -1 otherwise, and success uses MetaWorld's
own thresholds (reach and push 5 cm, pick-place 7 cm). The observation is MetaWorld's without
its last three entries (the goal, which is `desired_goal`).

`FlatGoalEnv` turns any such dict env (these, or gymnasium-robotics' Fetch tasks) into the flat
observations the library's policies take, [observation, desired_goal], and reports the achieved
goal of each step's next state in `info["achieved_goals"]`, which HER's buffer stores and relabels with.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import gymnasium as gym
import numpy as np

from lifelong_rl.envs.metaworld_env import MetaWorldTaskEnv

# task -> (what the achieved goal is, MetaWorld's success threshold)
GOAL_TASKS = {"reach-v3": ("gripper", 0.05), "push-v3": ("object", 0.05), "pick-place-v3": ("object", 0.07)}
GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")


class NotAGoalEnv(ValueError):
    pass


class MetaWorldGoalEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, task: str, seed: int = 0, max_path_length: int = 500, new_goal_each_episode: bool = False,
                 goal_seed: Optional[int] = None):
        if task not in GOAL_TASKS:
            raise NotAGoalEnv(f"no goal version of MetaWorld task '{task}'; goal tasks: "
                              f"{', '.join('goal/metaworld/' + t for t in GOAL_TASKS)}")
        self.task_env = MetaWorldTaskEnv(task, seed, max_path_length, new_goal_each_episode, goal_seed)
        self.max_path_length = self.task_env.max_path_length
        self.achieved, self.threshold = GOAL_TASKS[task]
        dim = self.task_env.observation_space.shape[0] - 3
        box = lambda n: gym.spaces.Box(-np.inf, np.inf, (n,), dtype=np.float32)  # noqa: E731
        self.observation_space = gym.spaces.Dict({"observation": box(dim), "achieved_goal": box(3), "desired_goal": box(3)})
        self.action_space = self.task_env.action_space

    def _goal_obs(self, obs: np.ndarray) -> Dict[str, np.ndarray]:
        mw = self.task_env._env
        achieved = mw.tcp_center if self.achieved == "gripper" else obs[4:7]
        return {"observation": obs[:-3].copy(), "achieved_goal": np.asarray(achieved, dtype=np.float32).copy(),
                "desired_goal": np.asarray(mw._target_pos, dtype=np.float32).copy()}

    def compute_reward(self, achieved_goal, desired_goal, info=None) -> np.ndarray:
        """0 where the achieved goal is within the threshold of the desired one, else -1 (any leading shape)."""
        d = np.linalg.norm(np.asarray(achieved_goal) - np.asarray(desired_goal), axis=-1)
        return -(d > self.threshold).astype(np.float32)

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        obs, info = self.task_env.reset(seed=seed)
        return self._goal_obs(obs), info

    def step(self, action):
        obs, _, terminated, truncated, info = self.task_env.step(action)
        o = self._goal_obs(obs)
        reward = float(self.compute_reward(o["achieved_goal"], o["desired_goal"]))
        info["is_success"] = info["success"]  # MetaWorld's own test, which the sparse reward agrees with
        return o, reward, terminated, truncated, info

    def get_rng_state(self) -> Dict[str, Any]:
        return self.task_env.get_rng_state()

    def set_rng_state(self, state: Dict[str, Any]) -> None:
        self.task_env.set_rng_state(state)

    def close(self) -> None:
        self.task_env.close()


def not_a_goal_env(name: str) -> str:
    return (f"env '{name}' is not a goal env: HER needs dict observations with {', '.join(GOAL_KEYS)} and a "
            "compute_reward (e.g. goal/metaworld/reach-v3, gym/FetchReach-v4)")


def check_goal_env(env: gym.Env, name: str) -> None:
    """NotAGoalEnv unless `env` has dict observations with GOAL_KEYS and a compute_reward."""
    space = env.observation_space
    if not (isinstance(space, gym.spaces.Dict) and all(k in space.spaces for k in GOAL_KEYS)
            and hasattr(env.unwrapped, "compute_reward")):
        raise NotAGoalEnv(not_a_goal_env(name))


class FlatGoalEnv(gym.ObservationWrapper):
    """[observation, desired_goal] as one float32 vector; `info["achieved_goals"]` after every step."""

    def __init__(self, env: gym.Env, name: str = ""):
        check_goal_env(env, name or str(env))
        super().__init__(env)
        spaces = env.observation_space.spaces
        self.obs_dim = spaces["observation"].shape[0]
        self.goal_dim = spaces["desired_goal"].shape[0]
        n = self.obs_dim + self.goal_dim
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (n,), dtype=np.float32)
        self._achieved: Optional[np.ndarray] = None

    def observation(self, obs: Dict[str, np.ndarray]) -> np.ndarray:
        self._achieved = np.asarray(obs["achieved_goal"], dtype=np.float32)
        return np.concatenate([obs["observation"], obs["desired_goal"]]).astype(np.float32)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        info["achieved_goals"] = self._achieved
        if "is_success" in info:
            info["success"] = float(info["is_success"])
        return obs, reward, terminated, truncated, info

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray) -> np.ndarray:
        return np.asarray(self.env.unwrapped.compute_reward(achieved_goal, desired_goal, None), dtype=np.float32)
