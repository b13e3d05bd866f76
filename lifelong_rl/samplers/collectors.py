"""Environment interaction: a step collector (exploration, continues episodes across calls) and
a path collector (whole episodes, for evaluation). Both speak the gymnasium API."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

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


def world_state(env: gym.Env) -> Optional[Dict[str, Any]]:
    """The state a lifelong env carries across resets (its v* schedule's or its grids' position, with
    the simulator's), or None for an env whose resets start afresh."""
    base = env.unwrapped
    return base.get_env_state() if hasattr(base, "get_env_state") else None


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

    def __len__(self) -> int:
        return len(self.returns)

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
    """One episode from reset until termination, truncation or `max_path_length` steps. The
    path holds the transition arrays, `success` and the env's infos (`env_infos`)."""
    obs, _ = env.reset()
    policy.reset()
    keys = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")
    path: Dict[str, list] = {k: [] for k in keys}
    infos = []
    success = None  # MetaWorld: 1 if info["success"] was 1 at any step of the episode
    for t in range(max_path_length):
        a = policy.get_action(obs)
        next_obs, r, terminated, truncated, info = env.step(a)
        if "success" in info:
            success = max(success or 0.0, float(info["success"]))
        timeout = truncated or t == max_path_length - 1
        for k, v in zip(keys, (obs, a, r, next_obs, terminated, timeout and not terminated)):
            path[k].append(v)
        infos.append(info)
        obs = next_obs
        if terminated or truncated:
            break
    out: Dict[str, Any] = {k: np.asarray(v, dtype=np.float32) for k, v in path.items()}
    out["success"] = success
    out["env_infos"] = infos
    return out


class PathCollector:
    """Collects whole episodes; used for evaluation with a deterministic policy."""

    def __init__(self, env: gym.Env, policy, max_path_length: int):
        self.env, self.policy, self.max_path_length = env, policy, max_path_length
        self.stats = EpisodeStats()

    def collect_episodes(self, num_episodes: int) -> List[Dict[str, Any]]:
        paths = []
        for _ in range(num_episodes):
            path = rollout(self.env, self.policy, self.max_path_length)
            self.stats.add(float(path["rewards"].sum()), len(path["rewards"]), path["success"])
            paths.append(path)
        return paths

    def get_diagnostics(self, prefix: str = "evaluation/") -> Dict[str, float]:
        return self.stats.pop(prefix)

    def state_dict(self) -> Dict[str, Any]:
        state = {"env_rng": env_rng_state(self.env)}
        if hasattr(self.policy, "noise_state"):  # a policy with its own generator (a skill drawn per episode)
            state["noise"] = self.policy.noise_state()
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        set_env_rng_state(self.env, state["env_rng"])
        if "noise" in state:
            self.policy.load_noise_state(state["noise"])


class StepCollector:
    """Takes exploration steps one at a time, carrying the episode across calls.

    A snapshot holds the episode in progress as the env's random state at its reset (with a lifelong
    env's world state: its schedule's position) and the actions taken since; `load_state_dict`
    replays them (simulators are deterministic given both), so a resumed run continues the very
    episode an uninterrupted one does. Buffers with fields
    beyond a transition's get them by name from the agent's info (a policy with
    `get_action_and_info(obs) -> (action, info)`: log-probs, values, skills) or the env's info."""

    def __init__(self, env: gym.Env, policy, max_path_length: int, task_id: int = 0,
                 stats: Optional[EpisodeStats] = None):
        self.env, self.policy, self.max_path_length, self.task_id = env, policy, max_path_length, task_id
        self.stats = stats if stats is not None else EpisodeStats()
        self._obs: Optional[np.ndarray] = None
        self._ret, self._len, self._success = 0.0, 0, None
        self._episode_start: Optional[Dict[str, Any]] = None  # env random state before the reset
        self._actions: List[np.ndarray] = []
        self.num_steps_total = 0
        self.num_paths_total = 0

    def _start_episode(self) -> None:
        self._episode_start = {**env_rng_state(self.env), "world": world_state(self.env)}
        self._actions = []
        self._obs, _ = self.env.reset()
        self.policy.reset()
        self._ret, self._len, self._success = 0.0, 0, None

    def end_episode(self) -> None:
        """Drop the current episode; the next step resets."""
        self._obs = None

    def _step(self, a: np.ndarray):
        next_obs, r, terminated, truncated, info = self.env.step(a)
        self._actions.append(np.asarray(a, dtype=np.float32))
        self._len += 1
        self._ret += float(r)
        if "success" in info:
            self._success = max(self._success or 0.0, float(info["success"]))
        return next_obs, r, terminated, truncated or self._len >= self.max_path_length, info

    def _act(self, obs: np.ndarray, random_action: bool) -> Tuple[np.ndarray, Dict[str, Any]]:
        if random_action:
            return self.env.action_space.sample(), {}
        if hasattr(self.policy, "get_action_and_info"):
            return self.policy.get_action_and_info(obs)
        return self.policy.get_action(obs), {}

    def observation(self) -> np.ndarray:
        """The observation the next step acts on (starting an episode if none is running)."""
        if self._obs is None:
            self._start_episode()
        return self._obs

    def collect_one_step(self, buffer, random_action: bool = False, action: Optional[np.ndarray] = None) -> Dict[str, Any]:
        """One env step into `buffer`, with `action` when given (seeds acting as one batch), else
        the policy's or a random one; returns the step's agent and env infos (agent's first)."""
        obs = self.observation()
        a, agent_info = (action, {}) if action is not None and not random_action else self._act(obs, random_action)
        next_obs, r, terminated, timeout, env_info = self._step(a)
        info = {**env_info, **agent_info}
        self._store(buffer, info, observations=obs, actions=a, rewards=r, next_observations=next_obs,
                    terminals=float(terminated), timeouts=float(timeout and not terminated), task_ids=self.task_id)
        if terminated or timeout:
            self.stats.add(self._ret, self._len, self._success)
            self.num_paths_total += 1
            self._obs = None
        else:
            self._obs = next_obs
        return info

    def _store(self, buffer, info: Dict[str, Any], **sample: Any) -> None:
        """A transition into `buffer`, with the buffer's other fields from the infos; counted."""
        for k in buffer.fields:
            if k not in sample:
                if k not in info:
                    raise KeyError(f"buffer field '{k}' is in neither the agent's nor the env's info")
                sample[k] = info[k]
        buffer.add_sample(**sample)
        self.num_steps_total += 1

    def get_diagnostics(self, prefix: str = "exploration/") -> Dict[str, float]:
        return self.stats.pop(prefix)

    def pop_lifelong(self, prefix: str = "exploration/") -> Dict[str, float]:
        """A reset-free collector's columns (none for an episodic one)."""
        return {}

    def state_dict(self) -> Dict[str, Any]:
        episode = None
        if self._obs is not None:
            episode = {"start": self._episode_start,
                       "actions": np.array(self._actions, dtype=np.float32).reshape(len(self._actions), -1)}
        state = {"num_steps_total": self.num_steps_total, "num_paths_total": self.num_paths_total,
                 "env_rng": env_rng_state(self.env), "episode": episode, "world": world_state(self.env)}
        if hasattr(self.policy, "noise_state"):  # an exploration process with a state (Ornstein-Uhlenbeck)
            state["noise"] = self.policy.noise_state()
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.num_steps_total = int(state["num_steps_total"])
        self.num_paths_total = int(state["num_paths_total"])
        self.end_episode()
        episode = state["episode"]
        if episode is not None:  # replay the episode in progress, from the world as it was at its reset
            set_env_rng_state(self.env, episode["start"])
            if episode["start"].get("world") is not None:
                self.env.unwrapped.set_env_state(episode["start"]["world"])
            self._start_episode()
            for a in episode["actions"]:
                self._obs = self._step(a)[0]
        elif state.get("world") is not None:  # between episodes: the next reset starts from the world as it is
            self.env.unwrapped.set_env_state(state["world"])
        set_env_rng_state(self.env, state["env_rng"])
        if "noise" in state:
            self.policy.load_noise_state(state["noise"])


class ResetFreeCollector(StepCollector):
    """Reset-free interaction (Lu et al. 2021, "Reset-Free Lifelong Learning with Skill-Space
    Planning"): the env is reset once, before the first step, and never again by the agent:
    terminations are stored (they stop bootstrapping) and the path length only books returns.

    - Where the env demands a reset (info["needs_reset"]: an agent trapped in a gridworld's hole),
      it gets one, and it is counted in `resets_needed`.
    - Returns are booked per `segment` steps, as episodes (the "exploration/Average Returns" of
      progress.csv); `reward per step` is the mean reward since the last `pop_lifelong`.
    - A change of the env's task (info's "target_velocity" or "grid") is reported through `log` at the
      step it happens.
    - A snapshot holds the env's whole state (`get_env_state`) and the current observation, where the
      episodic collector replays the actions since a reset."""

    TASK_KEYS = ("target_velocity", "grid")

    def __init__(self, env: gym.Env, policy, segment: int, task_id: int = 0, stats: Optional[EpisodeStats] = None,
                 log=None):
        super().__init__(env, policy, segment, task_id, stats)
        if not hasattr(env.unwrapped, "get_env_state"):
            raise ValueError(f"a reset-free run needs an env whose state a snapshot can hold (get_env_state), not "
                             f"{type(env.unwrapped).__name__}")
        self.log = log if log is not None else (lambda line: None)
        self.resets_needed, self.lifetime_steps, self.lifetime_return = 0, 0, 0.0
        self._reward_sum, self._reward_steps = 0.0, 0
        self.task: Any = None

    def collect_one_step(self, buffer, random_action: bool = False, action: Optional[np.ndarray] = None) -> Dict[str, Any]:
        obs = self.observation()  # the one reset, before the first step
        a, agent_info = (action, {}) if action is not None and not random_action else self._act(obs, random_action)
        next_obs, r, terminated, _, env_info = self.env.step(a)
        info = {**env_info, **agent_info}
        self._store(buffer, info, observations=obs, actions=a, rewards=r, next_observations=next_obs,
                    terminals=float(terminated), timeouts=0.0, task_ids=self.task_id)
        self.lifetime_steps += 1
        self._len += 1
        for total in ("_ret", "_reward_sum", "lifetime_return"):
            setattr(self, total, getattr(self, total) + float(r))
        self._reward_steps += 1
        if "success" in info:
            self._success = max(self._success or 0.0, float(info["success"]))
        self._watch_task(env_info)
        if self._len >= self.max_path_length:  # a bookkeeping segment, not an episode the env sees
            self.stats.add(self._ret, self._len, self._success)
            self.num_paths_total += 1
            self._ret, self._len, self._success = 0.0, 0, None
        self._obs = next_obs
        if env_info.get("needs_reset", False):
            self.resets_needed += 1
            self.log(f"env step {self.lifetime_steps}: the env needs a reset (#{self.resets_needed})")
            self._obs, _ = self.env.reset()
        return info

    def _watch_task(self, env_info: Dict[str, Any]) -> None:
        for key in self.TASK_KEYS:
            if key in env_info:
                value = env_info[key]
                if self.task is not None and value != self.task:
                    self.log(f"env step {self.lifetime_steps}: {key} {self.task} -> {value}")
                self.task = value

    def pop_lifelong(self, prefix: str = "exploration/") -> Dict[str, float]:
        """The reset-free columns: resets needed so far, reward per step since the last call, the task."""
        out = {f"{prefix}resets needed": self.resets_needed, f"{prefix}lifetime return": self.lifetime_return}
        if self._reward_steps:
            out[f"{prefix}reward per step"] = self._reward_sum / self._reward_steps
        if isinstance(self.task, (int, float)):
            out[f"{prefix}task"] = float(self.task)
        self._reward_sum, self._reward_steps = 0.0, 0
        return out

    def state_dict(self) -> Dict[str, Any]:
        state = {"num_steps_total": self.num_steps_total, "num_paths_total": self.num_paths_total,
                 "env_rng": env_rng_state(self.env), "obs": self._obs,
                 "env_state": None if self._obs is None else world_state(self.env),
                 "totals": [self._ret, self._len, self._success, self.resets_needed, self.lifetime_steps,
                            self.lifetime_return, self._reward_sum, self._reward_steps, self.task]}
        if hasattr(self.policy, "noise_state"):
            state["noise"] = self.policy.noise_state()
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.num_steps_total = int(state["num_steps_total"])
        self.num_paths_total = int(state["num_paths_total"])
        set_env_rng_state(self.env, state["env_rng"])
        self._obs = state["obs"]
        if self._obs is not None:
            self.env.unwrapped.set_env_state(state["env_state"])
        (self._ret, self._len, self._success, self.resets_needed, self.lifetime_steps, self.lifetime_return,
         self._reward_sum, self._reward_steps, self.task) = state["totals"]
        if "noise" in state:
            self.policy.load_noise_state(state["noise"])


class FollowerPathCollector(PathCollector):
    """Evaluation of a lifelong run: before its episodes the evaluation env takes the exploration
    env's current task (`sync_task`: its v*, its grid), so it scores the task the agent lives in."""

    def __init__(self, env: gym.Env, policy, max_path_length: int, leader: gym.Env):
        super().__init__(env, policy, max_path_length)
        self.leader = leader

    def collect_episodes(self, num_episodes: int) -> List[Dict[str, Any]]:
        self.env.unwrapped.sync_task(self.leader.unwrapped)
        return super().collect_episodes(num_episodes)
