"""Running normalisation of observations and rewards for on-policy methods, as Stable-Baselines3's
VecNormalize does it (the usual PPO / TRPO MuJoCo setting):

    obs    <- clip((obs - mean) / sqrt(var + eps), -clip_obs, clip_obs),   mean, var over every observation seen
    reward <- clip(r / sqrt(var(R) + eps), -clip_reward, clip_reward),    R <- gamma * R + r per env, 0 at episode ends

The statistics are part of the run's state (snapshots) and are frozen for evaluation.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np


class RunningMeanStd:
    """Mean and variance of a stream of batches (Chan et al.'s parallel update)."""

    def __init__(self, shape: Tuple[int, ...] = ()):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = 1e-4

    def update(self, batch: np.ndarray) -> None:
        b_mean, b_var, b_count = batch.mean(axis=0), batch.var(axis=0), batch.shape[0]
        delta, total = b_mean - self.mean, self.count + b_count
        m2 = self.var * self.count + b_var * b_count + delta ** 2 * self.count * b_count / total
        self.mean, self.var, self.count = self.mean + delta * b_count / total, m2 / total, total

    def state_dict(self) -> Dict[str, Any]:
        # arrays even for shape () (a numpy scalar is not among the types a snapshot may hold)
        return {"mean": np.array(self.mean), "var": np.array(self.var), "count": float(self.count)}

    def load_state_dict(self, s: Dict[str, Any]) -> None:
        self.mean, self.var, self.count = np.array(s["mean"]), np.array(s["var"]), float(s["count"])


class Normalizer:
    """Observation and reward normalisation for `num_envs` parallel envs (either may be off)."""

    def __init__(self, obs_dim: int, num_envs: int, gamma: float, obs: bool = True, reward: bool = True,
                 clip_obs: float = 10.0, clip_reward: float = 10.0, eps: float = 1e-8):
        self.normalize_obs, self.normalize_reward = obs, reward
        self.obs_rms, self.ret_rms = RunningMeanStd((obs_dim,)), RunningMeanStd(())
        self.returns = np.zeros(num_envs)
        self.gamma, self.clip_obs, self.clip_reward, self.eps = gamma, clip_obs, clip_reward, eps

    def observations(self, obs: np.ndarray, update: bool = False) -> np.ndarray:
        """Normalised observations [n, obs_dim]; `update` first adds them to the statistics."""
        if not self.normalize_obs:
            return obs.astype(np.float32)
        if update:
            self.obs_rms.update(obs)
        out = (obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + self.eps)
        return np.clip(out, -self.clip_obs, self.clip_obs).astype(np.float32)

    def rewards(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """Scaled rewards of one vector step (updating the return statistics); `dones` end the returns."""
        if not self.normalize_reward:
            return rewards.astype(np.float32)
        self.returns = self.returns * self.gamma + rewards
        self.ret_rms.update(self.returns)
        out = np.clip(rewards / np.sqrt(self.ret_rms.var + self.eps), -self.clip_reward, self.clip_reward)
        self.returns[dones] = 0.0
        return out.astype(np.float32)

    def state_dict(self) -> Dict[str, Any]:
        return {"obs": self.obs_rms.state_dict(), "ret": self.ret_rms.state_dict(), "returns": self.returns.copy()}

    def load_state_dict(self, s: Dict[str, Any]) -> None:
        self.obs_rms.load_state_dict(s["obs"])
        self.ret_rms.load_state_dict(s["ret"])
        self.returns = np.array(s["returns"])
