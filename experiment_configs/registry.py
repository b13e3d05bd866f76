"""The algorithm registry: name -> its config module. Every module under
experiment_configs/configs/<family>/ that defines NAME is an algorithm; it holds

  NAME                  its registered name
  RESUME_NEEDS_BUFFER   (optional, default False) a resume without the buffer in the snapshot is refused
  schema()              every variant key with its type, range or choices and one-line doc
  QUICK                 overrides for a smoke run (--quick)
  CONTRACT_CASES        variant overrides the registry-wide contract test runs (tests/test_contract.py)
  check(variant)        cross-field checks of a complete variant (raise ConfigError)
  build(run)            (TrainingLoop, envs to close)
  evaluation_setup(run, env_seed)   (trainer, [(name, env, deterministic policy)]) for offline evaluation
  vectorize(variant, trainers, generators)   (optional) seeds as one batch (--vectorize-seeds): the
                        seeds' unbatched trainers -> (stacked trainer, [each seed's view of it]);
                        with `check_vectorize(variant)` (optional) refusing variants it cannot stack

so adding an algorithm touches its own module and no shared file.
"""
from __future__ import annotations

import copy
import importlib
import os
import pkgutil
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

import experiment_configs.configs as configs
from experiment_configs.common import Run, check_device, open_run
from lifelong_rl.core.logger import SnapshotError
from lifelong_rl.continual.wrapper import ContinualSchedule
from lifelong_rl.core.lockstep import LockstepLoop, LockstepOffPolicySchedule
from lifelong_rl.core.loop import TrainingLoop
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.torch.pytorch_util import rng_state
from lifelong_rl.trainers.seed_stacking import SeedPolicy
from lifelong_rl.variants import ConfigError, check_variant, defaults, merge_variant

_ALGORITHMS: Dict[str, ModuleType] = {}


def _discover() -> Dict[str, ModuleType]:
    if not _ALGORITHMS:
        for family in pkgutil.iter_modules(configs.__path__):
            package = importlib.import_module(f"{configs.__name__}.{family.name}")
            for m in pkgutil.iter_modules(package.__path__):
                module = importlib.import_module(f"{package.__name__}.{m.name}")
                if hasattr(module, "NAME"):
                    _ALGORITHMS[module.NAME] = module
    return _ALGORITHMS


def names() -> List[str]:
    return sorted(_discover())


def get(name: str) -> ModuleType:
    algorithms = _discover()
    if name not in algorithms:
        raise ConfigError(f"unknown algorithm '{name}'; valid: {', '.join(sorted(algorithms))}")
    return algorithms[name]


def schema(name: str) -> Dict[str, Any]:
    return get(name).schema()


def default_variant(name: str) -> Dict[str, Any]:
    return defaults(schema(name))


def quick_overrides(name: str) -> Dict[str, Any]:
    return copy.deepcopy(get(name).QUICK)


def validate(variant: Dict[str, Any], check_cuda: bool = True) -> Dict[str, Any]:
    """The variant completed from its algorithm's defaults and checked: unknown keys, types,
    ranges, choices, the algorithm's cross-field checks and the device (ConfigError)."""
    if "algorithm" not in variant:
        raise ConfigError("variant has no 'algorithm' key")
    module = get(variant["algorithm"])
    full = merge_variant(defaults(module.schema()), variant)
    check_variant(full, module.schema())
    module.check(full)
    if check_cuda:
        check_device(full["device"])
    return full


def build(variant: Dict[str, Any], log_dir: str) -> Tuple[TrainingLoop, Callable[[], None]]:
    """The loop of a validated variant, untrained, and a function that closes its envs and log files."""
    run = open_run(variant, log_dir)
    loop, envs = get(variant["algorithm"]).build(run)

    def close() -> None:
        run.logger.close()
        for env in envs:
            env.close()

    return loop, close


def vectorizable(name: str) -> bool:
    return hasattr(get(name), "vectorize")


def check_vectorizable(variant: Dict[str, Any]) -> None:
    """ConfigError unless the variant's seeds can be trained as one batch."""
    name = variant["algorithm"]
    if not vectorizable(name):
        able = [n for n in names() if vectorizable(n)]
        raise ConfigError(f"--vectorize-seeds: algorithm '{name}' has no vectorized seeds (those that do: {', '.join(able)})")
    getattr(get(name), "check_vectorize", lambda v: None)(variant)


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
    module = get(variants[0]["algorithm"])
    loops, closers, generators = [], [], []
    for variant, log_dir in zip(variants, log_dirs):
        loop, close = build(variant, log_dir)
        loops.append(loop)
        closers.append(close)
        # The seed's policy noise: what the global generator would give its separate run from here.
        device = check_device(variant["device"])
        gen = torch.Generator(device=device)
        if device.type == "cuda":
            gen.manual_seed(RunSeeds(variant["seed"]).child("torch"))
        else:
            gen.set_state(torch.get_rng_state())
        generators.append(gen)
    stacked, views = module.vectorize(variants[0], [loop.trainer for loop in loops], generators)
    group = [os.path.basename(os.path.normpath(d)) for d in log_dirs]
    continual = isinstance(loops[0].schedule, ContinualSchedule)
    lanes = [loop.schedule.inner if continual else loop.schedule for loop in loops]
    for i, (loop, lane, view, gen) in enumerate(zip(loops, lanes, views, generators)):
        loop.schedule.trainer = lane.trainer = view
        for c in (loop.schedule.eval_collectors if continual else [lane.eval_collector]):
            c.policy = SeedPolicy(stacked.policy, i)
        for c in lane.collectors:
            c.policy = _ActsInBatch()
        loop.get_rng_state, loop.set_rng_state = _seed_rng(gen, rng_state())
        loop.snapshot_extras = {"seed_group": group}
    schedule = LockstepOffPolicySchedule(lanes, stacked, stacked.policy, [loop.schedule for loop in loops] if continual else ())
    lockstep = LockstepLoop(schedule, loops, variants[0]["logging"]["progress_bar"])

    def close() -> None:
        for c in closers:
            c()

    return lockstep, close


def _seed_rng(gen: torch.Generator, others: Dict[str, Any]):
    """(get, set) of one lockstep seed's random state, as a separate run's snapshot holds it: its torch
    generator in place of the global one (python's and numpy's are not drawn from in training)."""
    key = "torch_cuda" if gen.device.type == "cuda" else "torch"

    def get() -> Dict[str, Any]:
        return {**others, key: [gen.get_state()] if key == "torch_cuda" else gen.get_state()}

    def set_(state: Dict[str, Any]) -> None:
        gen.set_state(state[key][0] if key == "torch_cuda" else state[key])

    return get, set_


def evaluation_setup(variant: Dict[str, Any], device: str = "cpu", env_seed: Optional[int] = None):
    """(trainer, [(name, env, deterministic policy)]) of a snapshot's variant: one entry, or one per
    task of a stream. The goals are the run's; `env_seed` replaces the simulators' seeds."""
    try:
        variant = validate(variant, check_cuda=False)
    except ConfigError as e:
        raise SnapshotError(f"the snapshot's variant does not fit this version ({e}); snapshots from before "
                            "the schema change do not load") from None
    seeds = RunSeeds(variant["seed"])
    seeds.seed_globals()
    return get(variant["algorithm"]).evaluation_setup(Run(variant, seeds, check_device(device)), env_seed)
