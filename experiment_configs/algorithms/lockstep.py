"""Assembly of a seed-vectorized run (--vectorize-seeds): each seed built as its separate run is,
then the seeds' trainers stacked by the algorithm's `vectorize` (its config module) and their
schedules driven as one (lifelong_rl/core/lockstep.py)."""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Tuple

import torch

from experiment_configs import registry
from experiment_configs.common import check_device
from lifelong_rl.continual.wrapper import ContinualSchedule
from lifelong_rl.core.lockstep import LockstepLoop, LockstepOffPolicySchedule
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.torch.pytorch_util import rng_state
from lifelong_rl.trainers.seed_stacking import SeedPolicy


class _ActsInBatch:
    """The exploration policy of one seed of a lockstep run: the batched step gives its actions."""

    def get_action(self, obs):
        raise RuntimeError("a lockstep seed's actions come from the stacked policy")

    def reset(self) -> None:
        pass


def build_lockstep(variants: List[Dict[str, Any]], log_dirs: List[str]) -> Tuple[LockstepLoop, Callable[[], None]]:
    """N seeds of one validated configuration as one LockstepLoop (lifelong_rl/core/lockstep.py):
    each seed is built as its separate run is (same child seeds, envs, initial networks), then the
    seeds' trainers are stacked by the algorithm's `vectorize` and their lanes driven together."""
    loops, closers, generators, rng_states = [], [], [], []

    def close() -> None:
        for c in closers:
            c()

    try:
        for variant, log_dir in zip(variants, log_dirs):
            loop, close_one = registry.build(variant, log_dir)
            loops.append(loop)
            closers.append(close_one)
            # The seed's policy noise: what the global generator would give its separate run from here.
            device = check_device(variant["device"])
            gen = torch.Generator(device=device)
            if device.type == "cuda":
                gen.manual_seed(RunSeeds(variant["seed"]).child("torch"))
            else:
                gen.set_state(torch.get_rng_state())
            generators.append(gen)
            rng_states.append(rng_state())
        stacked, views = registry.get(variants[0]["algorithm"]).vectorize(variants[0], [loop.trainer for loop in loops], generators)
        group = [os.path.basename(os.path.normpath(d)) for d in log_dirs]
        continual = isinstance(loops[0].schedule, ContinualSchedule)
        lanes = [loop.schedule.inner if continual else loop.schedule for loop in loops]
        for i, (loop, lane, view, gen, rng) in enumerate(zip(loops, lanes, views, generators, rng_states)):
            loop.schedule.trainer = lane.trainer = view
            for c in (loop.schedule.eval_collectors if continual else [lane.eval_collector]):
                c.policy = SeedPolicy(stacked.policy, i)
            for c in lane.collectors:
                c.policy = _ActsInBatch()
            loop.get_rng_state, loop.set_rng_state = _seed_rng(gen, rng)
            loop.snapshot_extras["seed_group"] = group
        schedule = LockstepOffPolicySchedule(lanes, stacked, stacked.policy, [loop.schedule for loop in loops] if continual else ())
    except BaseException:
        close()
        raise
    return LockstepLoop(schedule, loops, variants[0]["logging"]["progress_bar"]), close


def _seed_rng(gen: torch.Generator, others: Dict[str, Any]):
    """(get, set) of one lockstep seed's random state, as a separate run's snapshot holds it: its torch
    generator in place of the global one of its device (python's and numpy's are not drawn from in
    training; they stay as they were after the seed's build)."""
    if gen.device.type != "cuda":
        def get() -> Dict[str, Any]:
            return {**others, "torch": gen.get_state()}

        def set_(state: Dict[str, Any]) -> None:
            gen.set_state(state["torch"])
        return get, set_

    index = gen.device.index if gen.device.index is not None else torch.cuda.current_device()

    def get() -> Dict[str, Any]:  # one state per device, as torch.cuda.get_rng_state_all()
        return {**others, "torch_cuda": [gen.get_state() if d == index else s for d, s in enumerate(others["torch_cuda"])]}

    def set_(state: Dict[str, Any]) -> None:
        gen.set_state(state["torch_cuda"][index])

    return get, set_
