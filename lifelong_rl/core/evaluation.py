"""Deterministic evaluation episodes of a policy in an env (offline evaluation of snapshots:
experiment_configs/evaluation.py rebuilds env and networks from a snapshot's variant)."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from lifelong_rl.envs.make_env import episode_length
from lifelong_rl.samplers.collectors import rollout


def evaluate(env, policy, episodes: int, max_path_length: Optional[int] = None) -> Dict[str, Any]:
    horizon = max_path_length or episode_length(env)
    returns, lengths, successes = [], [], []
    for _ in range(episodes):
        path = rollout(env, policy, horizon)
        returns.append(float(path["rewards"].sum()))
        lengths.append(len(path["rewards"]))
        if path["success"] is not None:
            successes.append(path["success"])
    return {
        "episodes": episodes,
        "mean_return": float(np.mean(returns)),
        "std_return": float(np.std(returns)),
        "mean_length": float(np.mean(lengths)),
        "success_rate": float(np.mean(successes)) if successes else None,
        "returns": returns,
    }
