"""Policies and the episode loop that make offline datasets (scripts/collect_dataset.py): a uniformly
random policy, a policy with Gaussian action noise, MetaWorld's scripted experts."""
from __future__ import annotations

import numpy as np

from lifelong_rl.data_management.datasets import OfflineDataset
from lifelong_rl.samplers.collectors import rollout
from lifelong_rl.variants import ConfigError


class RandomPolicy:
    def __init__(self, env):
        self.space = env.action_space

    def get_action(self, obs):
        return self.space.sample()

    def reset(self):
        pass


class NoisyPolicy:
    """A policy's actions plus N(0, std^2) noise, clipped to the action bounds."""

    def __init__(self, policy, std: float, low, high, seed: int):
        self.policy, self.std, self.low, self.high = policy, std, low, high
        self.rng = np.random.default_rng(seed)

    def get_action(self, obs):
        a = np.asarray(self.policy.get_action(obs), np.float32)
        return np.clip(a + self.std * self.rng.standard_normal(a.shape), self.low, self.high).astype(np.float32)

    def reset(self):
        self.policy.reset()


class ScriptedPolicy:
    def __init__(self, task: str):
        from metaworld.policies import ENV_POLICY_MAP

        if task not in ENV_POLICY_MAP:
            raise ConfigError(f"MetaWorld has no scripted policy for '{task}'")
        self.policy = ENV_POLICY_MAP[task]()

    def get_action(self, obs):
        return np.clip(self.policy.get_action(np.asarray(obs, np.float64)), -1.0, 1.0).astype(np.float32)

    def reset(self):
        pass


def collect(env, policy, steps: int, max_path_length: int) -> OfflineDataset:
    """Whole episodes of `policy` until `steps` transitions (the last one cut to fit)."""
    paths, n = [], 0
    while n < steps:
        path = rollout(env, policy, max_path_length)
        paths.append({k: v[: steps - n] for k, v in path.items() if isinstance(v, np.ndarray)})
        n += len(paths[-1]["rewards"])
    return OfflineDataset({k: np.concatenate([p[k] for p in paths]) for k in paths[0]})
