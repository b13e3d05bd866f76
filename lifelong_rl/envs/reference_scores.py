"""Reference returns per env, measured on this project's machines, and D4RL's normalised score
(Fu et al. 2020, "D4RL: Datasets for Deep Data-Driven Reinforcement Learning"):

    score = 100 * (R - R_random) / (R_expert - R_random)

0 is the uniformly random policy and 100 the expert. `random`: the mean return of a uniform random
policy over whole episodes; `expert`: the mean return of the deterministic policy of the expert
snapshot its `expert_source` names, measured the same way (scripts/collect_dataset.py prints both
when it makes the random and expert datasets; the README has the commands). They are not D4RL's
numbers (D4RL's Hopper: -20.3 and 3234.3, on gym's v2 Hopper), so scores here compare only with
scores here.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

REFERENCE_SCORES: Dict[str, Dict[str, object]] = {
    # 2026-12-02, the hopper-random-v0 (100k steps, 4504 episodes) and hopper-expert-v0 (100k steps,
    # 100 episodes) datasets of the README's commands.
    "gym/Hopper-v5": {"random": 17.38, "expert": 3550.92,
                      "expert_source": "NPG, 307,200 env steps (15 epochs of the model-free benchmark's settings), "
                                       "deterministic"},
}


def reference(env: str) -> Optional[Tuple[float, float]]:
    """(random, expert) return of `env`, or None when it has no reference."""
    ref = REFERENCE_SCORES.get(env)
    return None if ref is None else (float(ref["random"]), float(ref["expert"]))


def normalized_score(env: str, ret: float) -> Optional[float]:
    """D4RL's normalised score of return `ret` on `env` (None without a reference)."""
    ref = reference(env)
    return None if ref is None else 100.0 * (ret - ref[0]) / (ref[1] - ref[0])
