"""Lifelong MuJoCo envs (Lu et al. 2021, "Reset-Free Lifelong Learning with Skill-Space Planning",
section 5: Lifelong Hopper and Lifelong Ant): locomotion whose target x-velocity v* changes during
the agent's life, and which never terminate.

    lifelong/hopper  (11-D obs, 3-D action)  r = |v*| - |v_x - v*| - 5 (z - 1.8)^2 - 0.1 |a|^2
    lifelong/ant     (27-D obs, 8-D action)  r =  v* - |v_x - v*| - 3 (z - 0.7)^2 - 0.01 |a|^2

The rewards are those of Lu et al.'s lifelong_rl (`environments/hopper_env.py`, `ant_env.py`), on
gymnasium's MuJoCo models (Hopper: frame skip 4, dt 0.008 s; Ant: frame skip 5, dt 0.05 s, no contact
forces in the observation). v_x is the torso's x velocity after the step (qvel[0], in the
observation: obs[5] on Hopper, obs[13] on Ant) and z its height (obs[0]), so a model can compute the
reward from a predicted next observation (`TaskReward`).

The original fixes v* at 3 and nothing changes it; here v* follows a `VelocitySchedule`: the list
`target_velocities`, moving to the next entry every `switch_every` env steps of the env's life
(cyclically; resets do not restart it). The default lists hold forward fast, forward slow and
backward slow (our values: Lu et al.'s appendix with theirs was not available). A step's info holds
`target_velocity`, `x_velocity`, `z` and `needs_reset` (never: a fallen hopper is a poor state, not a
trap the env reports).

`get_env_state` / `set_env_state` hold the whole simulator state (mujoco's mjSTATE_INTEGRATION: time,
qpos, qvel, actuator state, warm start) and the life's step count, so a reset-free run resumes from a
snapshot to the same trajectory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Sequence

import mujoco
import numpy as np
from gymnasium.envs.mujoco.ant_v5 import AntEnv
from gymnasium.spaces import Box
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv

# Our choices for forward fast, forward slow, backward slow (m/s); v_x is clipped to +-10 in Hopper's observation.
HOPPER_TARGETS = (2.0, 1.0, -1.0)
ANT_TARGETS = (2.0, 1.0, -1.0)
DEFAULT_SWITCH_EVERY = 5000


@dataclass(frozen=True)
class LocomotionReward:
    """bonus(v*) - |v_x - v*| - height_weight (z - height)^2 - ctrl_weight |a|^2, with v_x and z read
    from the observation at indices `obs_v`, `obs_z`."""
    abs_bonus: bool        # Hopper's bonus is |v*|, Ant's is v*
    height: float          # target height
    height_weight: float
    ctrl_weight: float
    obs_v: int
    obs_z: int = 0

    def __call__(self, v_star: float, v_x, z, a_sq):
        bonus = abs(v_star) if self.abs_bonus else v_star
        return bonus - abs(v_x - v_star) - self.height_weight * (z - self.height) ** 2 - self.ctrl_weight * a_sq


HOPPER_REWARD = LocomotionReward(True, 1.8, 5.0, 0.1, obs_v=5)
ANT_REWARD = LocomotionReward(False, 0.7, 3.0, 0.01, obs_v=13)


class VelocitySchedule:
    """v* = targets[(step // switch_every) % len(targets)]; switch_every 0: the first target always."""

    def __init__(self, targets: Sequence[float], switch_every: int):
        if not targets:
            raise ValueError("target_velocities needs at least one velocity")
        if switch_every < 0:
            raise ValueError(f"switch_every must be >= 0, not {switch_every}")
        self.targets, self.switch_every = [float(t) for t in targets], int(switch_every)

    def __call__(self, step: int) -> float:
        if not self.switch_every:
            return self.targets[0]
        return self.targets[(step // self.switch_every) % len(self.targets)]


class LifelongMixin:
    """The schedule of v*, the reward and the life's step count, over a gymnasium MuJoCo env."""

    reward_fn: LocomotionReward
    schedule: VelocitySchedule
    life_steps: int

    def _lifelong_init(self, schedule: VelocitySchedule) -> None:
        self.schedule, self.life_steps = schedule, 0
        self._state_spec = mujoco.mjtState.mjSTATE_INTEGRATION

    @property
    def target_velocity(self) -> float:
        return self.schedule(self.life_steps)

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        v_star = self.target_velocity
        self.do_simulation(action, self.frame_skip)
        self.life_steps += 1
        obs = self._get_obs().astype(np.float32)
        v_x, z = float(obs[self.reward_fn.obs_v]), float(obs[self.reward_fn.obs_z])
        reward = self.reward_fn(v_star, v_x, z, float(np.sum(action ** 2)))
        info = {"target_velocity": v_star, "x_velocity": v_x, "z": z, "needs_reset": False}
        return obs, float(reward), False, False, info

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return obs.astype(np.float32), {**info, "target_velocity": self.target_velocity, "needs_reset": False}

    def sync_task(self, other: "LifelongMixin") -> None:
        """Take `other`'s current v* and keep it (an evaluation env follows the exploration env)."""
        self.schedule = VelocitySchedule([other.target_velocity], 0)

    def get_env_state(self) -> Dict[str, Any]:
        state = np.empty(mujoco.mj_stateSize(self.model, self._state_spec))
        mujoco.mj_getState(self.model, self.data, state, self._state_spec)
        return {"mujoco": state, "life_steps": self.life_steps, "targets": list(self.schedule.targets),
                "switch_every": self.schedule.switch_every}

    def set_env_state(self, state: Dict[str, Any]) -> None:
        mujoco.mj_setState(self.model, self.data, np.asarray(state["mujoco"], dtype=np.float64), self._state_spec)
        mujoco.mj_forward(self.model, self.data)
        self.life_steps = int(state["life_steps"])
        self.schedule = VelocitySchedule(state["targets"], state["switch_every"])


class LifelongHopper(LifelongMixin, HopperEnv):
    reward_fn = HOPPER_REWARD

    def __init__(self, target_velocities: Sequence[float] = HOPPER_TARGETS, switch_every: int = DEFAULT_SWITCH_EVERY):
        HopperEnv.__init__(self, terminate_when_unhealthy=False)
        self.observation_space = Box(-np.inf, np.inf, self.observation_space.shape, np.float32)
        self._lifelong_init(VelocitySchedule(target_velocities, switch_every))


class LifelongAnt(LifelongMixin, AntEnv):
    reward_fn = ANT_REWARD

    def __init__(self, target_velocities: Sequence[float] = ANT_TARGETS, switch_every: int = DEFAULT_SWITCH_EVERY):
        AntEnv.__init__(self, terminate_when_unhealthy=False, include_cfrc_ext_in_observation=False)
        self.observation_space = Box(-np.inf, np.inf, self.observation_space.shape, np.float32)
        self._lifelong_init(VelocitySchedule(target_velocities, switch_every))


LIFELONG_ENVS = {"hopper": (LifelongHopper, HOPPER_TARGETS), "ant": (LifelongAnt, ANT_TARGETS)}


class TaskReward:
    """The reward of `lifelong/<name>` from (obs, act, next_obs) tensors, at a fixed v* or, once
    `bind` names an env, at the v* that env has at each call: what a planner scores model rollouts with
    when told the task (LiSP's `lisp_kwargs/planning_reward=task`; the offline benchmark's targets)."""

    def __init__(self, name: str, target_velocity: float = 0.0):
        self.fn, self.target_velocity, self.env = LIFELONG_ENVS[name][0].reward_fn, target_velocity, None

    def bind(self, env) -> None:
        self.env = env.unwrapped

    def __call__(self, obs, act, next_obs):
        fn, v = self.fn, self.target_velocity if self.env is None else self.env.target_velocity
        return fn(v, next_obs[:, fn.obs_v], next_obs[:, fn.obs_z], (act.clamp(-1, 1) ** 2).sum(-1))
