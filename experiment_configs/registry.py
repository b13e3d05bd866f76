"""The algorithm registry: name -> its config module. Every module under
experiment_configs/configs/<family>/ that defines NAME is an algorithm; it holds

  NAME                  its registered name
  RESUME_NEEDS_BUFFER   (optional, default False) a resume without the buffer in the snapshot is refused
  schema()              every variant key with its type, range or choices and one-line doc
  QUICK                 overrides for a smoke run (--quick)
  PRESETS               (optional) named overrides (--preset NAME), e.g. sizes for a GPU
  CONTRACT_CASES        variant overrides the registry-wide contract test runs (tests/test_contract.py)
  check(variant)        cross-field checks of a complete variant (raise ConfigError)
  check_evaluation(variant)   (optional, default `check`) the checks that still apply when a
                        snapshot's variant is rebuilt for evaluation (an offline method's datasets
                        are not read again)
  build(run)            (TrainingLoop, envs to close)
  evaluation_setup(run, env_seed)   (trainer, [(name, env, deterministic policy)]) for offline evaluation
  vectorize(variant, trainers, generators)   (optional) seeds as one batch (--vectorize-seeds): the
                        seeds' unbatched trainers -> (stacked trainer, [each seed's view of it]);
                        with `check_vectorize(variant)` (optional) refusing variants it cannot stack;
                        experiment_configs/algorithms/lockstep.py assembles the seeds

so adding an algorithm touches its own module and no shared file.
"""
from __future__ import annotations

import copy
import importlib
import pkgutil
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Tuple

import experiment_configs.configs as configs
from experiment_configs.common import Run, check_device, open_run
from lifelong_rl.core.logger import SnapshotError
from lifelong_rl.core.loop import TrainingLoop
from lifelong_rl.core.seeding import RunSeeds
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


def preset_overrides(name: str, preset: str) -> Dict[str, Any]:
    presets = getattr(get(name), "PRESETS", {})
    if preset not in presets:
        raise ConfigError(f"--preset: algorithm '{name}' has no preset '{preset}'; valid: {', '.join(sorted(presets)) or 'none'}")
    return copy.deepcopy(presets[preset])


def validate(variant: Dict[str, Any], check_cuda: bool = True, evaluation: bool = False) -> Dict[str, Any]:
    """The variant completed from its algorithm's defaults and checked: unknown keys, types,
    ranges, choices, the algorithm's cross-field checks (its `check_evaluation` ones for
    `evaluation`) and the device (ConfigError)."""
    if "algorithm" not in variant:
        raise ConfigError("variant has no 'algorithm' key")
    module = get(variant["algorithm"])
    full = merge_variant(defaults(module.schema()), variant)
    check_variant(full, module.schema())
    (getattr(module, "check_evaluation", module.check) if evaluation else module.check)(full)
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


def evaluation_setup(variant: Dict[str, Any], device: str = "cpu", env_seed: Optional[int] = None):
    """(trainer, [(name, env, deterministic policy)]) of a snapshot's variant: one entry, or one per
    task of a stream. The goals are the run's; `env_seed` replaces the simulators' seeds."""
    try:
        variant = validate(variant, check_cuda=False, evaluation=True)
    except ConfigError as e:
        raise SnapshotError(f"the snapshot's variant does not fit this version ({e}); snapshots from before "
                            "the schema change do not load") from None
    seeds = RunSeeds(variant["seed"])
    seeds.seed_globals()
    return get(variant["algorithm"]).evaluation_setup(Run(variant, seeds, check_device(device)), env_seed)
