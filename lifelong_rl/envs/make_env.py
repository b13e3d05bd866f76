"""Environment registry: `metaworld/<task>-v3`, `goal/metaworld/<task>-v3`, `gym/<Id>`,
`lifelong/<hopper|ant>` (lifelong_rl.envs.lifelong) and `gridworld/<world>` (lifelong_rl.envs.gridworld)
names to gymnasium envs. Goal envs (the goal/ family, and gymnasium-robotics' Fetch tasks when that
package is installed) come flattened for HER (lifelong_rl.envs.goal_env). Lifelong envs and gridworlds
never end an episode themselves: `max_path_length` (default 1000 and 200) truncates an episodic run's
episodes, and a reset-free run ignores it."""
from __future__ import annotations

import contextlib
import difflib
import io
from typing import Optional, Sequence

import gymnasium as gym
import numpy as np

from lifelong_rl.envs.goal_env import GOAL_TASKS, FlatGoalEnv, MetaWorldGoalEnv
from lifelong_rl.envs.gridworld import GRIDS, make_gridworld
from lifelong_rl.envs.lifelong import LIFELONG_ENVS
from lifelong_rl.envs.metaworld_env import DEFAULT_EPISODE_LENGTH, MetaWorldTaskEnv, metaworld_task_names

GYM_EXAMPLES = ["Hopper-v5", "HalfCheetah-v5", "Ant-v5", "InvertedPendulum-v5", "Humanoid-v5", "Pendulum-v1"]
FAMILIES = "metaworld, goal, gym, lifelong, gridworld"
DEFAULT_LENGTHS = {"lifelong": 1000, "gridworld": 200}


class UnknownEnvError(ValueError):
    pass


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _registered(env_id: str) -> bool:
    """Whether gymnasium knows `env_id`, registering gymnasium-robotics' envs (Fetch, ...) if installed."""
    if env_id not in gym.registry:
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # its import prints a notice about Adroit envs
                import gymnasium_robotics
        except ImportError:
            return False
        gym.register_envs(gymnasium_robotics)
    return env_id in gym.registry


def validate_env_name(name: str) -> None:
    """Raise UnknownEnvError with a one-line message when `name` is not a known env."""
    if not isinstance(name, str) or "/" not in name:
        raise UnknownEnvError(f"unknown env '{name}': use metaworld/<task>-v3, goal/metaworld/<task>-v3, gym/<Id>, "
                              "lifelong/<hopper|ant> or gridworld/<world>, e.g. metaworld/reach-v3")
    family, env_id = name.split("/", 1)
    if family == "goal":
        task = env_id.removeprefix("metaworld/")
        if not env_id.startswith("metaworld/") or task not in GOAL_TASKS:
            goals = [f"metaworld/{t}" for t in GOAL_TASKS]
            raise UnknownEnvError(f"unknown goal env '{name}'{_suggest(env_id, goals)}; valid: "
                                  f"{', '.join('goal/' + g for g in goals)}")
    elif family == "metaworld":
        tasks = metaworld_task_names()
        if env_id not in tasks:
            raise UnknownEnvError(f"unknown MetaWorld task '{env_id}'{_suggest(env_id, tasks)}; valid: metaworld/<task> for {len(tasks)} v3 tasks")
    elif family == "gym":
        if not _registered(env_id):
            ids = [k for k in gym.registry.keys() if "/" not in k]
            raise UnknownEnvError(f"unknown gymnasium env '{env_id}'{_suggest(env_id, ids)}; e.g. {', '.join(GYM_EXAMPLES)}")
    elif family == "lifelong":
        if env_id not in LIFELONG_ENVS:
            raise UnknownEnvError(f"unknown lifelong env '{name}'; valid: {', '.join('lifelong/' + k for k in LIFELONG_ENVS)}")
    elif family == "gridworld":
        if env_id not in GRIDS:
            raise UnknownEnvError(f"unknown gridworld '{name}'; valid: {', '.join('gridworld/' + k for k in GRIDS)}")
    else:
        raise UnknownEnvError(f"unknown env family '{family}' in '{name}': valid families are {FAMILIES}")


def make_env(
    name: str,
    seed: int = 0,
    max_path_length: int = 0,
    new_goal_each_episode: bool = False,
    goal_seed: Optional[int] = None,
    target_velocities: Sequence[float] = (),
    switch_every: int = -1,
) -> gym.Env:
    """Build a seeded env. `max_path_length` > 0 sets the episode length (truncation), 0 keeps the
    env's own (MetaWorld: 500; gymnasium: the registered time limit). `seed` seeds the simulator and
    action sampler; `goal_seed` (default: `seed`) picks a MetaWorld task's fixed goal. Lifelong envs:
    `target_velocities` (empty: the env's) and `switch_every` (-1: the env's) set v*'s schedule;
    gridworlds: `switch_every` the rearrangement period."""
    validate_env_name(name)
    family, env_id = name.split("/", 1)
    if family not in DEFAULT_LENGTHS and (target_velocities or switch_every != -1):
        raise ValueError(f"target_velocities and switch_every apply to lifelong/ and gridworld/ envs only, not '{name}'")
    if family in DEFAULT_LENGTHS and new_goal_each_episode:
        raise ValueError(f"new_goal_each_episode applies to MetaWorld tasks only, not '{name}'")
    if family == "lifelong":
        cls, targets = LIFELONG_ENVS[env_id]
        kwargs = {"target_velocities": list(target_velocities) or targets}
        if switch_every != -1:
            kwargs["switch_every"] = switch_every
        env = _episodic(cls(**kwargs), max_path_length or DEFAULT_LENGTHS[family], seed)
    elif family == "gridworld":
        if target_velocities:
            raise ValueError(f"target_velocities applies to lifelong/ envs only, not '{name}'")
        env = _episodic(make_gridworld(env_id, None if switch_every == -1 else switch_every),
                        max_path_length or DEFAULT_LENGTHS[family], seed)
    elif family == "metaworld":
        env = MetaWorldTaskEnv(env_id, seed, max_path_length or DEFAULT_EPISODE_LENGTH, new_goal_each_episode, goal_seed)
    elif family == "goal":
        task = env_id.removeprefix("metaworld/")
        env = FlatGoalEnv(MetaWorldGoalEnv(task, seed, max_path_length or DEFAULT_EPISODE_LENGTH, new_goal_each_episode,
                                           goal_seed), name)
    else:
        if new_goal_each_episode:
            raise ValueError(f"new_goal_each_episode applies to MetaWorld tasks only, not '{name}'")
        kwargs = {"max_episode_steps": max_path_length} if max_path_length > 0 else {}
        env = gym.make(env_id, disable_env_checker=True, **kwargs)
        if not isinstance(env.action_space, gym.spaces.Box):
            raise UnknownEnvError(f"env '{name}' has a {type(env.action_space).__name__} action space; continuous (Box) actions are required")
        if isinstance(env.observation_space, gym.spaces.Dict):  # a goal env (Fetch): flattened, or NotAGoalEnv
            env = FlatGoalEnv(env, name)
        else:
            env = gym.wrappers.TransformObservation(
                env, lambda o: np.asarray(o, dtype=np.float32),
                gym.spaces.Box(env.observation_space.low.astype(np.float32), env.observation_space.high.astype(np.float32),
                               dtype=np.float32),
            )
        env.reset(seed=seed)
        env.action_space.seed(seed)
    env.env_name = name
    return env


def _episodic(env: gym.Env, length: int, seed: int) -> gym.Env:
    """A never-ending env with episodes of `length` steps for episodic use, seeded."""
    env.unwrapped.max_path_length = length
    env = gym.wrappers.TimeLimit(env, length)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


def episode_length(env: gym.Env) -> int:
    """The episode length the env truncates at (through any wrappers)."""
    if hasattr(env.unwrapped, "max_path_length"):  # MetaWorld, lifelong envs, gridworlds
        return env.unwrapped.max_path_length
    spec = getattr(env, "spec", None)
    return int(spec.max_episode_steps) if spec is not None and spec.max_episode_steps else 1000
