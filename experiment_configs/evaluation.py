"""Offline evaluation of a snapshot in a fresh process: rebuild env and networks from the
snapshot's variant (no pickled objects), load the weights, return deterministic policies."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from experiment_configs import registry
from experiment_configs.base_experiment import check_format
from lifelong_rl.core.logger import SnapshotError, load_snapshot


def load_policies(path: str, device: str = "cpu", seed: Optional[int] = None) -> Tuple[Dict[str, Any], List[Tuple[str, Any, Any]]]:
    """(variant, [(name, env, deterministic policy)]) from a snapshot: one entry for a single-env
    run, one per task for a continual stream. The envs are the run's evaluation envs (a MetaWorld task
    keeps the goal it was trained on); `seed` replaces their simulators' seeds."""
    snap = load_snapshot(path, map_location=device)
    check_format(snap, path)
    variant = snap["variant"]
    trainer, entries = registry.evaluation_setup(variant, device, seed)
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
