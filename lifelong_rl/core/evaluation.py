"""Offline evaluation of a snapshot in a fresh process: rebuild env and networks from the
snapshot's variant (no pickled objects), load the weights, run deterministic episodes."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from lifelong_rl import registry
from lifelong_rl.core.logger import SnapshotError, load_snapshot
from lifelong_rl.envs.make_env import episode_length
from lifelong_rl.samplers.collectors import rollout
from lifelong_rl.torch.pytorch_util import resolve_device, seed_everything


def load_policies(path: str, device: str = "cpu", seed: Optional[int] = None) -> Tuple[Dict[str, Any], List[Tuple[str, Any, Any]]]:
    """(variant, [(name, env, deterministic policy)]) from a snapshot: one entry for a single-env
    run, one per task for a continual stream. `seed` defaults to the run's, so a MetaWorld task
    keeps the goal it was trained on."""
    snap = load_snapshot(path, map_location=device)
    variant = snap["variant"]
    seed = variant["seed"] if seed is None else seed
    seed_everything(seed)
    trainer, entries = registry.evaluation_setup(variant, resolve_device(device), seed)
    try:
        trainer.load_state_dict(snap["trainer"])
    except (KeyError, RuntimeError, ValueError) as e:
        raise SnapshotError(f"snapshot {path} does not match its variant's networks ({type(e).__name__})") from None
    return variant, entries


def load_policy(path: str, device: str = "cpu", seed: Optional[int] = None) -> Tuple[Dict[str, Any], Any, Any]:
    """(variant, deterministic policy, env) from a single-env snapshot."""
    variant, entries = load_policies(path, device, seed)
    if len(entries) != 1:
        raise SnapshotError(f"snapshot {path} holds a {len(entries)}-task stream: use load_policies")
    _, env, policy = entries[0]
    return variant, policy, env


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
