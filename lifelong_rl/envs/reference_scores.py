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
    # 2026-12-02, reach-random-v0 and reach-expert-v0 (50k steps, 100 episodes each), on the goal of
    # run seed 0: a MetaWorld run's goal comes from its seed, so runs of other seeds get no score.
    "metaworld/reach-v3": {"random": 806.97, "expert": 4846.87, "run_seed": 0,
                           "expert_source": "MetaWorld's scripted SawyerReachV3Policy"},
}


def reference(env: str, run_seed: Optional[int] = None) -> Optional[Tuple[float, float]]:
    """(random, expert) return of `env`, or None when it has none (for a run of `run_seed`, when
    the reference holds for another seed's goal only)."""
    ref = REFERENCE_SCORES.get(env)
    if ref is None or (run_seed is not None and ref.get("run_seed", run_seed) != run_seed):
        return None
    return float(ref["random"]), float(ref["expert"])


def normalized_score(env: str, ret: float, run_seed: Optional[int] = None) -> Optional[float]:
    """D4RL's normalised score of return `ret` on `env` (None without a reference)."""
    ref = reference(env, run_seed)
    return None if ref is None else 100.0 * (ret - ref[0]) / (ref[1] - ref[0])
