"""Rewards and terminations of gym MuJoCo envs written on batches of (s, a, s'), for a dynamics
model that is given them instead of learning them (`model_kwargs/reward` or `termination` =
given). Each follows the env's own step() in gymnasium 1.x (v5, default arguments):

- InvertedPendulum-v5: done when s' is not finite or |pole angle| = |s'[1]| > 0.2; reward 1 - done.
- Hopper-v5: done unless every s'[1:] is in (-100, 100), the height s'[0] > 0.7 and the torso angle
  |s'[1]| < 0.2 (MBPO's hand-written Hopper termination is the same rule).
- Walker2d-v5: done unless 0.8 < height s'[0] < 2.0 and |s'[1]| < 1.
- Pendulum-v1: reward -(theta^2 + 0.1 thetadot^2 + 0.001 u^2) from s = (cos, sin, thetadot), never done.
  (The library's policies act in [-1, 1], which Pendulum takes as the torque unscaled.)
"""
from __future__ import annotations

from typing import Dict

import torch

from lifelong_rl.models.dynamics import ModelFunction


def _not_finite(x: torch.Tensor) -> torch.Tensor:
    return ~torch.isfinite(x).all(-1)


def inverted_pendulum_done(obs, act, next_obs):
    return _not_finite(next_obs) | (next_obs[:, 1].abs() > 0.2)


def inverted_pendulum_reward(obs, act, next_obs):
    return 1.0 - inverted_pendulum_done(obs, act, next_obs).float()


def hopper_done(obs, act, next_obs):
    healthy = ((next_obs[:, 1:].abs() < 100).all(-1) & (next_obs[:, 0] > 0.7) & (next_obs[:, 1].abs() < 0.2))
    return ~healthy | _not_finite(next_obs)


def walker_done(obs, act, next_obs):
    healthy = (next_obs[:, 0] > 0.8) & (next_obs[:, 0] < 2.0) & (next_obs[:, 1].abs() < 1.0)
    return ~healthy | _not_finite(next_obs)


def pendulum_reward(obs, act, next_obs):
    theta = torch.atan2(obs[:, 1], obs[:, 0])
    return -(theta ** 2 + 0.1 * obs[:, 2] ** 2 + 0.001 * act[:, 0] ** 2)


def never_done(obs, act, next_obs):
    return torch.zeros(len(obs), dtype=torch.bool, device=obs.device)


REWARDS: Dict[str, ModelFunction] = {"gym/InvertedPendulum-v5": inverted_pendulum_reward,
                                     "gym/Pendulum-v1": pendulum_reward}
TERMINATIONS: Dict[str, ModelFunction] = {"gym/InvertedPendulum-v5": inverted_pendulum_done, "gym/Hopper-v5": hopper_done,
                                          "gym/Walker2d-v5": walker_done, "gym/Pendulum-v1": never_done}
