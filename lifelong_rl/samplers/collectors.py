"""Environment interaction: a step collector (exploration, continues episodes across calls) and
a path collector (whole episodes, for evaluation). Both speak the gymnasium API."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import gymnasium as gym
import numpy as np


def env_rng_state(env: gym.Env) -> Dict[str, Any]:
    """The env's random state (simulator and action sampler): what a snapshot keeps of an env."""
    base = env.unwrapped
    sim = base.get_rng_state() if hasattr(base, "get_rng_state") else base.np_random.bit_generator.state
    return {"sim": sim, "action_space": env.action_space.np_random.bit_generator.state}


def set_env_rng_state(env: gym.Env, state: Dict[str, Any]) -> None:
    base = env.unwrapped
    if hasattr(base, "set_rng_state"):
        base.set_rng_state(state["sim"])
    else:
        base.np_random.bit_generator.state = state["sim"]
    env.action_space.np_random.bit_generator.state = state["action_space"]


class EpisodeStats:
    """Returns, lengths and successes of finished episodes since the last `pop`."""

    def __init__(self):
        self.returns: List[float] = []
        self.lengths: List[int] = []
        self.successes: List[float] = []

    def add(self, ret: float, length: int, success: Optional[float]) -> None:
        """`success` is None for envs without a success signal (no success rate is logged)."""
        self.returns.append(ret)
        self.lengths.append(length)
        if success is not None:
            self.successes.append(success)

    def pop(self, prefix: str) -> Dict[str, float]:
        out: Dict[str, float] = {f"{prefix}num episodes": len(self.returns)}
        if self.returns:
            out[f"{prefix}Average Returns"] = float(np.mean(self.returns))
            out[f"{prefix}Returns Std"] = float(np.std(self.returns))
            out[f"{prefix}Average Episode Length"] = float(np.mean(self.lengths))
        if self.successes:
            out[f"{prefix}Success Rate"] = float(np.mean(self.successes))
        self.__init__()
        return out


def rollout(env: gym.Env, policy, max_path_length: int) -> Dict[str, Any]:
    """One episode from reset until termination, truncation or `max_path_length` steps."""
    obs, _ = env.reset()
    policy.reset()
    keys = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")
    path: Dict[str, list] = {k: [] for k in keys}
    success = None  # MetaWorld: 1 if info["success"] was 1 at any step of the episode
    for t in range(max_path_length):
        a = policy.get_action(obs)
        next_obs, r, terminated, truncated, info = env.step(a)
        if "success" in info:
            success = max(success or 0.0, float(info["success"]))
        timeout = truncated or t == max_path_length - 1
        for k, v in zip(keys, (obs, a, r, next_obs, terminated, timeout and not terminated)):
            path[k].append(v)
        obs = next_obs
        if terminated or truncated:
            break
    out = {k: np.asarray(v, dtype=np.float32) for k, v in path.items()}
    out["success"] = success
    return out


class PathCollector:
    """Collects whole episodes; used for evaluation with a deterministic policy."""

    def __init__(self, env: gym.Env, policy, max_path_length: int):
        self.env, self.policy, self.max_path_length = env, policy, max_path_length
        self.stats = EpisodeStats()

    def collect_new_paths(self, num_steps: int, discard_incomplete_paths: bool = True) -> List[Dict[str, Any]]:
        """Episodes until `num_steps` steps are gathered (at least one episode)."""
        paths, steps = [], 0
        while steps < num_steps or not paths:
            path_len = min(self.max_path_length, max(num_steps - steps, 1)) if not discard_incomplete_paths else self.max_path_length
            path = rollout(self.env, self.policy, path_len)
            n = len(path["rewards"])
            complete = n == self.max_path_length or path["terminals"][-1] > 0 or path["timeouts"][-1] > 0
            if discard_incomplete_paths and not complete:
                break
            paths.append(path)
            steps += n
            self.stats.add(float(path["rewards"].sum()), n, path["success"])
        return paths

    def get_diagnostics(self, prefix: str = "evaluation/") -> Dict[str, float]:
        return self.stats.pop(prefix)


class StepCollector:
    """Takes exploration steps one at a time, carrying the episode across calls."""

    def __init__(self, env: gym.Env, policy, max_path_length: int, task_id: int = 0):
        self.env, self.policy, self.max_path_length, self.task_id = env, policy, max_path_length, task_id
        self.stats = EpisodeStats()
        self._obs: Optional[np.ndarray] = None
        self._ret, self._len, self._success = 0.0, 0, None
        self.num_steps_total = 0
        self.num_paths_total = 0

    def _start_episode(self) -> None:
        self._obs, _ = self.env.reset()
        self.policy.reset()
        self._ret, self._len, self._success = 0.0, 0, None

    def end_episode(self) -> None:
        """Drop the current episode (e.g. on a task switch or resume); the next step resets."""
        self._obs = None

    def collect_one_step(self, replay_buffer, random_action: bool = False) -> None:
        if self._obs is None:
            self._start_episode()
        obs = self._obs
        a = self.env.action_space.sample() if random_action else self.policy.get_action(obs)
        next_obs, r, terminated, truncated, info = self.env.step(a)
        self._len += 1
        self._ret += float(r)
        if "success" in info:
            self._success = max(self._success or 0.0, float(info["success"]))
        timeout = truncated or self._len >= self.max_path_length
        replay_buffer.add_sample(obs, a, r, next_obs, terminated, timeout and not terminated, self.task_id)
        self.num_steps_total += 1
        if terminated or timeout:
            self.stats.add(self._ret, self._len, self._success)
            self.num_paths_total += 1
            self._obs = None
        else:
            self._obs = next_obs

    def collect_new_steps(self, replay_buffer, num_steps: int, random_action: bool = False) -> None:
        for _ in range(num_steps):
            self.collect_one_step(replay_buffer, random_action)

    def get_diagnostics(self, prefix: str = "exploration/") -> Dict[str, float]:
        out = self.stats.pop(prefix)
        out[f"{prefix}num steps total"] = self.num_steps_total
        out[f"{prefix}num paths total"] = self.num_paths_total
        return out

    def state_dict(self) -> Dict[str, Any]:
        return {"num_steps_total": self.num_steps_total, "num_paths_total": self.num_paths_total,
                "env_rng": env_rng_state(self.env)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.num_steps_total = int(state["num_steps_total"])
        self.num_paths_total = int(state["num_paths_total"])
        set_env_rng_state(self.env, state["env_rng"])
        self.end_episode()
