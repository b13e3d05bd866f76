"""On-policy interaction: a gymnasium.vector env (sync or async) stepped by an actor-critic into a
rollout buffer, with running observation / reward normalisation.

The vector env resets finished sub-envs in the same step (AutoresetMode.SAME_STEP), so the final
observation of a truncated episode is at hand for its bootstrap value. Each sub-env is wrapped in
an `EpisodeRecorder` that keeps its random state at the episode's reset and the actions since: a
snapshot holds these, and a restore replays them inside the sub-env (in its own process for an
async vector env), so a resumed run continues the very episodes an uninterrupted one does.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

import gymnasium as gym
import numpy as np
import torch

from lifelong_rl.data_management.normalizer import Normalizer
from lifelong_rl.samplers.collectors import EpisodeStats, env_rng_state, set_env_rng_state

VECTOR_MODES = ("sync", "async")


class EpisodeRecorder(gym.Wrapper):
    def __init__(self, env: gym.Env, index: int):
        super().__init__(env)
        self.index = index
        self._start: Optional[Dict[str, Any]] = None
        self._actions: List[np.ndarray] = []

    def reset(self, **kwargs):
        self._start, self._actions = env_rng_state(self.env), []
        return self.env.reset(**kwargs)

    def step(self, action):
        self._actions.append(np.asarray(action, dtype=np.float32))
        return self.env.step(action)

    def episode_record(self) -> Dict[str, Any]:
        # a tensor: an empty numpy array would not load in a snapshot's restricted unpickler
        actions = torch.from_numpy(np.array(self._actions, np.float32).reshape(len(self._actions), *self.env.action_space.shape))
        return {"start": self._start, "actions": actions,
                "rng": env_rng_state(self.env)}

    def restore_episodes(self, records: Sequence[Dict[str, Any]]) -> None:
        """Replay this sub-env's episode from `records[self.index]`."""
        rec = records[self.index]
        if rec["start"] is not None:
            set_env_rng_state(self.env, rec["start"])
            self.reset()
            for a in np.asarray(rec["actions"]):
                self.step(a)
        set_env_rng_state(self.env, rec["rng"])


def make_vector_env(env_fns: Sequence[Callable[[], gym.Env]], mode: str = "sync") -> gym.vector.VectorEnv:
    fns = [lambda f=f, i=i: EpisodeRecorder(f(), i) for i, f in enumerate(env_fns)]
    cls = gym.vector.SyncVectorEnv if mode == "sync" else gym.vector.AsyncVectorEnv
    return cls(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def _masked(info: Dict[str, Any], key: str, i: int) -> Optional[float]:
    if key in info and info.get(f"_{key}", np.ones(i + 1, bool))[i]:
        return float(info[key][i])
    return None


class VectorCollector:
    """One vector step per `collect_one_step`: actions for every sub-env from the agent (clipped to
    [-1, 1] for the env), normalised observations and rewards into the buffer, with the value of
    the final observation of every truncated episode (`final_values`) for GAE."""

    def __init__(self, env: gym.vector.VectorEnv, agent, normalizer: Normalizer, task_id: int = 0,
                 stats: Optional[EpisodeStats] = None):
        self.env, self.agent, self.normalizer, self.task_id = env, agent, normalizer, task_id
        self.num_envs = env.num_envs
        self.stats = stats if stats is not None else EpisodeStats()
        self._obs: Optional[np.ndarray] = None  # normalised observations the next step acts on
        self._ret, self._len = np.zeros(self.num_envs), np.zeros(self.num_envs, np.int64)
        self._success: List[Optional[float]] = [None] * self.num_envs
        self.num_steps_total = 0
        self.num_paths_total = 0

    def observation(self) -> np.ndarray:
        if self._obs is None:
            raw, _ = self.env.reset()
            self._obs = self.normalizer.observations(raw, update=True)
        return self._obs

    def last_values(self) -> np.ndarray:
        """V of the observations the next step acts on (GAE's bootstrap at a rollout's end)."""
        return self.agent.values(self.observation())

    def collect_one_step(self, buffer, random_action: bool = False) -> Dict[str, Any]:
        if random_action:
            raise ValueError("on-policy collectors take no random actions")
        obs = self.observation()
        actions, agent_info = self.agent.get_actions_and_info(obs)
        raw, rewards, terminated, truncated, info = self.env.step(np.clip(actions, -1.0, 1.0))
        done = terminated | truncated
        self._ret += rewards
        self._len += 1
        final_info = info.get("final_info", {})
        for i in range(self.num_envs):
            s = _masked(final_info, "success", i) if done[i] else _masked(info, "success", i)
            if s is not None:
                self._success[i] = max(self._success[i] or 0.0, s)
            if done[i]:
                self.stats.add(float(self._ret[i]), int(self._len[i]), self._success[i])
                self._ret[i], self._len[i], self._success[i] = 0.0, 0, None
                self.num_paths_total += 1
        next_obs = self.normalizer.observations(raw, update=True)
        final_values = np.zeros(self.num_envs, np.float32)
        cut = np.flatnonzero(truncated & ~terminated)
        if len(cut):
            finals = np.stack([info["final_obs"][i] for i in cut])
            final_values[cut] = self.agent.values(self.normalizer.observations(finals))
        sample = dict(observations=obs, actions=actions, rewards=self.normalizer.rewards(rewards, done),
                      terminals=terminated.astype(np.float32), timeouts=(truncated & ~terminated).astype(np.float32),
                      final_values=final_values, task_ids=np.full(self.num_envs, self.task_id), **agent_info)
        buffer.add(**{k: sample[k] for k in buffer.fields})
        self._obs = next_obs
        self.num_steps_total += self.num_envs
        return info

    def get_diagnostics(self, prefix: str = "exploration/") -> Dict[str, float]:
        return self.stats.pop(prefix)

    def pop_lifelong(self, prefix: str = "exploration/") -> Dict[str, float]:
        """Episodic vector envs have no reset-free columns."""
        return {}

    def state_dict(self) -> Dict[str, Any]:
        return {"num_steps_total": self.num_steps_total, "num_paths_total": self.num_paths_total,
                "obs": None if self._obs is None else self._obs.copy(), "ret": self._ret.copy(), "len": self._len.copy(),
                "success": list(self._success), "episodes": list(self.env.call("episode_record"))}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.num_steps_total, self.num_paths_total = int(state["num_steps_total"]), int(state["num_paths_total"])
        self._obs = None if state["obs"] is None else np.array(state["obs"])
        self._ret, self._len, self._success = np.array(state["ret"]), np.array(state["len"]), list(state["success"])
        self.env.call("restore_episodes", state["episodes"])

    def close(self) -> None:
        self.env.close()
