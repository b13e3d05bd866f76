"""Offline evaluation of a snapshot in a fresh process: rebuild env and networks from the
snapshot's variant (no pickled objects), load the weights, run deterministic episodes."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from lifelong_rl import registry
from lifelong_rl.core.logger import SnapshotError, load_snapshot
from lifelong_rl.envs.make_env import episode_length, make_env
from lifelong_rl.samplers.collectors import rollout
from lifelong_rl.torch.pytorch_util import resolve_device, seed_everything


def load_policy(path: str, device: str = "cpu", seed: Optional[int] = None) -> Tuple[Dict[str, Any], Any, Any]:
    """(variant, deterministic policy, env) from a snapshot. `seed` defaults to the run's seed, so a
    MetaWorld task keeps the goal it was trained on."""
    snap = load_snapshot(path, map_location=device)
    variant = snap["variant"]
    seed = variant["seed"] if seed is None else seed
    seed_everything(seed)
    env = make_env(variant["env"], seed, max_path_length=variant["algorithm_kwargs"]["max_path_length"], **variant["env_kwargs"])
    obs_dim, action_dim = env.observation_space.shape[0], env.action_space.shape[0]
    config = registry.get_config(variant, obs_dim, action_dim, resolve_device(device))
    try:
        config["trainer"].load_state_dict(snap["trainer"])
    except (KeyError, RuntimeError, ValueError) as e:
        raise SnapshotError(f"snapshot {path} does not match its variant's networks ({type(e).__name__})") from None
    return variant, config["evaluation_policy"], env


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
