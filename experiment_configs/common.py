"""Schema pieces and assembly shared by algorithm configs: run keys, logging, networks, SAC's
trainer keys, and opening a run (child seeds, device, logger)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch

from lifelong_rl.core.logger import SNAPSHOT_MODES, Logger
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.models.networks import ACTIVATIONS
from lifelong_rl.torch.perf import keep_freed_memory
from lifelong_rl.torch.pytorch_util import resolve_device
from lifelong_rl.variants import ConfigError, Param, Schema

DEVICE_PATTERN = r"cpu|cuda(:\d+)?"


def run_schema(name: str) -> Schema:
    """Keys every algorithm has: its name, seed, device, experiment name and logging."""
    return {
        "algorithm": Param(name, "registered algorithm name", "str"),
        "exp_name": Param(name, "runs go to <log-dir>/<exp_name>/<run name>/", "str"),
        "seed": Param(0, "run seed; every env, buffer sampler and network gets a child seed of it", "int", low=0, high=2**31 - 1),
        "device": Param("cpu", "where networks live: cpu, cuda or cuda:N", "str", pattern=DEVICE_PATTERN),
        "logging": {
            "snapshot_mode": Param("last", "which snapshots to keep", "str", choices=SNAPSHOT_MODES),
            "snapshot_gap": Param(10, "epochs between snapshots in the gap modes", "int", low=1),
            "save_replay_buffer": Param(True, "keep the replay buffer in snapshots: exact resume (false: smaller "
                                        "snapshots; a single-task resume refills the buffer, a continual one is refused)", "bool"),
            "log_to_wandb": Param(False, "also log to wandb (online when logged in, else offline)", "bool"),
            "log_to_tensorboard": Param(False, "also log to TensorBoard (<run>/tb)", "bool"),
            "progress_bar": Param(True, "a progress bar; off: a log line per epoch", "bool"),
        },
        "sweep_point": {},  # recorded by the launcher: the sweep values that made this variant
    }


def net_schema(hidden, what: str) -> Schema:
    return {
        "hidden_sizes": Param(list(hidden), f"{what}: hidden layer sizes", "ints"),
        "activation": Param("relu", f"{what}: hidden activation", "str", choices=ACTIVATIONS),
        "layer_norm": Param(False, f"{what}: first hidden layer linear -> LayerNorm -> tanh (Continual World's trunk)", "bool"),
    }


def sac_trainer_schema() -> Schema:
    # Hyperparameters: Haarnoja et al. 2018 (SAC v2), as in rlkit's defaults.
    return {
        "discount": Param(0.99, "discount factor gamma", "float", low=0.0, high=1.0),
        "reward_scale": Param(1.0, "rewards are multiplied by this in the critic target", "float"),
        "policy_lr": Param(3e-4, "actor (and entropy coefficient) learning rate", "float", low=0.0),
        "qf_lr": Param(3e-4, "critic learning rate", "float", low=0.0),
        "soft_target_tau": Param(5e-3, "Polyak rate of the target critics", "float", low=0.0, high=1.0),
        "target_update_period": Param(1, "updates between target critic updates", "int", low=1),
        "use_automatic_entropy_tuning": Param(True, "learn the entropy coefficient alpha", "bool"),
        "target_entropy": Param(None, "target entropy of the alpha loss; None: -|A|", "float?"),
        "alpha": Param(1.0, "initial (or, without tuning, fixed) entropy coefficient", "float", low=1e-8),
        "matmul_dtype": Param("float32", "bfloat16: the update's matmuls in bfloat16 under torch.autocast (weights, "
                              "optimizer state and losses stay float32); about 1.4-2.6x faster updates on CPUs with "
                              "AVX512-BF16 or AMX, approximate", "str", choices=("float32", "bfloat16")),
    }


def check_buffer_size(variant: Dict[str, Any]) -> None:
    if variant["replay_buffer_size"] < variant["algorithm_kwargs"]["batch_size"]:
        raise ConfigError(f"replay_buffer_size ({variant['replay_buffer_size']}) is smaller than "
                          f"algorithm_kwargs/batch_size ({variant['algorithm_kwargs']['batch_size']})")


@dataclass
class Run:
    """What a builder gets: the checked variant, the run's child seeds, the device and the logger."""
    variant: Dict[str, Any]
    seeds: RunSeeds
    device: torch.device
    logger: Optional[Logger] = None


def check_device(name: str) -> torch.device:
    try:
        return resolve_device(name)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def open_run(variant: Dict[str, Any], log_dir: str) -> Run:
    """Child seeds, global RNGs, device and the logger of a new or resumed run."""
    device = check_device(variant["device"])
    keep_freed_memory()
    seeds = RunSeeds(variant["seed"])
    seeds.seed_globals()
    log = variant["logging"]
    logger = Logger(log_dir, variant, log["snapshot_mode"], log["snapshot_gap"], log["log_to_wandb"],
                    log["log_to_tensorboard"], echo=not log["progress_bar"])
    return Run(variant, seeds, device, logger)
