"""Run one variant: seed, open the log dir, build envs and buffer, assemble, train."""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, Optional, Tuple

import gymnasium as gym

from experiment_configs.configs.q_learning.sac_config import net_kwargs
from lifelong_rl import registry
from lifelong_rl.core.logger import SNAPSHOT_MODES, CsvTable, Logger, latest_snapshot, load_snapshot
from lifelong_rl.envs.make_env import episode_length, make_env
from lifelong_rl.torch.perf import keep_freed_memory
from lifelong_rl.torch.pytorch_util import resolve_device, seed_everything
from lifelong_rl.variants import ConfigError, merge_variant


def validate(variant: Dict[str, Any]) -> Dict[str, Any]:
    """The variant completed from its algorithm's defaults; unknown keys raise ConfigError."""
    if "algorithm" not in variant:
        raise ConfigError("variant has no 'algorithm' key")
    full = merge_variant(registry.default_variant(variant["algorithm"]), variant)
    log = full["logging"]
    if log["snapshot_mode"] not in SNAPSHOT_MODES:
        raise ConfigError(f"unknown snapshot mode '{log['snapshot_mode']}'; valid: {', '.join(SNAPSHOT_MODES)}")
    if log["snapshot_gap"] < 1:
        raise ConfigError(f"logging/snapshot_gap must be >= 1, got {log['snapshot_gap']}")
    for k in ("policy_kwargs", "qf_kwargs"):
        if k in full:
            net_kwargs(full[k])  # an unknown activation fails here, before the run dir is touched
    registry.check(full)
    return full


def build_envs(variant: Dict[str, Any]) -> Tuple[gym.Env, gym.Env, int]:
    """Exploration and evaluation envs with the same seed (so a MetaWorld goal is shared)."""
    kw = dict(max_path_length=variant["algorithm_kwargs"]["max_path_length"], **variant["env_kwargs"])
    expl_env = make_env(variant["env"], variant["seed"], **kw)
    eval_env = make_env(variant["env"], variant["seed"], **kw)
    return expl_env, eval_env, episode_length(expl_env)


def open_run(variant: Dict[str, Any], log_dir: str):
    """Process settings, seeds and the logger shared by every algorithm. Returns (device, logger)."""
    device = resolve_device(variant["device"])
    keep_freed_memory()
    seed_everything(variant["seed"])
    log = variant["logging"]
    logger = Logger(log_dir, variant, log["snapshot_mode"], log["snapshot_gap"], log["log_to_wandb"], log["log_to_tensorboard"],
                    echo=not log["progress_bar"])
    return device, logger


def closer(logger: Logger, envs) -> Callable[[], None]:
    """A function that closes a run's log files and envs (what a builder returns beside the algorithm)."""

    def close() -> None:
        logger.close()
        for env in envs:
            env.close()

    return close


def build_algorithm(variant: Dict[str, Any], log_dir: str):
    """The algorithm object of a validated variant, untrained: (algorithm, close), where close()
    frees the run's envs and log files. Each registry entry assembles its own."""
    return registry.build(variant, log_dir)


def check_fresh_dir(log_dir: str) -> None:
    """A new run may not write into a directory that already holds a run: its logged epochs would be
    duplicated and its snapshot overwritten. Raises ConfigError naming what is there."""
    if not os.path.isdir(log_dir):
        return
    held = [name for name in ("metrics.json",) if os.path.isfile(os.path.join(log_dir, name))]
    if latest_snapshot(log_dir):
        held.append(os.path.basename(latest_snapshot(log_dir)))
    rows = len(CsvTable(os.path.join(log_dir, "progress.csv")).rows())
    if rows:
        held.append(f"progress.csv with {rows} epochs")
    if held:
        raise ConfigError(f"{log_dir} already holds a run ({', '.join(held)}): resume it with --resume {log_dir} "
                          "or choose another log dir")


def experiment(variant: Dict[str, Any], log_dir: str, resume_from: Optional[str] = None):
    """Train one variant into `log_dir` (resuming from a snapshot path if given); returns the algorithm.
    Without a snapshot, `log_dir` must not already hold a run (ConfigError)."""
    variant = validate(variant)
    if resume_from is None:
        check_fresh_dir(log_dir)
    snap = load_snapshot(resume_from) if resume_from else None
    algorithm, close = build_algorithm(variant, log_dir)
    try:
        if snap is not None:
            algorithm.restore(snap)
        where = variant["env"] if "env" in variant else variant["continual"]["stream"]
        algorithm.logger.log(f"training {variant['algorithm']} on {where} (seed {variant['seed']}) in {log_dir}")
        algorithm.train()
        algorithm.logger.log("done")
        return algorithm
    finally:
        close()
