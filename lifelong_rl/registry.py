"""Algorithm name -> default variant, config builder (networks, policies, trainer) and algorithm
builder (envs, buffer, collectors and the training loop). Builders are imported lazily by path."""
from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Dict

from lifelong_rl.variants import ConfigError


@dataclass(frozen=True)
class AlgorithmSpec:
    default_variant: Callable[[], Dict[str, Any]]
    config_module: str      # module with get_config(variant, obs_dim, action_dim, device)
    algorithm_module: str   # module with build(variant, log_dir) -> (algorithm, close)


def _sac_default_variant() -> Dict[str, Any]:
    # Hyperparameters: Haarnoja et al. 2018 (SAC v2), as in rlkit's defaults.
    return dict(
        algorithm="sac",
        exp_name="sac",
        env="metaworld/reach-v3",
        env_kwargs=dict(new_goal_each_episode=False),
        seed=0,
        device="cpu",
        replay_buffer_size=int(1e6),
        policy_kwargs=dict(hidden_sizes=[256, 256]),
        qf_kwargs=dict(hidden_sizes=[256, 256]),
        trainer_kwargs=dict(
            discount=0.99,
            reward_scale=1.0,
            policy_lr=3e-4,
            qf_lr=3e-4,
            soft_target_tau=5e-3,
            target_update_period=1,
            use_automatic_entropy_tuning=True,
            target_entropy=None,  # None: -|A|
            alpha=1.0,            # initial (or fixed, without tuning) entropy coefficient
        ),
        algorithm_kwargs=dict(
            loop="online",
            num_epochs=100,
            batch_size=256,
            max_path_length=0,    # 0: the env's own episode length (MetaWorld 500)
            num_eval_steps_per_epoch=1000,
            num_expl_steps_per_train_loop=1000,
            num_trains_per_train_loop=1000,
            num_train_loops_per_epoch=1,
            min_num_steps_before_training=5000,
        ),
        logging=dict(
            snapshot_mode="last",
            snapshot_gap=10,
            save_replay_buffer=False,
            log_to_wandb=False,
            log_to_tensorboard=False,
            progress_bar=True,
        ),
        sweep_point={},
    )


ALGORITHMS: Dict[str, AlgorithmSpec] = {
    "sac": AlgorithmSpec(
        _sac_default_variant,
        "experiment_configs.configs.q_learning.sac_config",
        "experiment_configs.algorithms.online",
    ),
}


def get_spec(name: str) -> AlgorithmSpec:
    if name not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm '{name}'; valid: {', '.join(sorted(ALGORITHMS))}")
    return ALGORITHMS[name]


def default_variant(name: str) -> Dict[str, Any]:
    return copy.deepcopy(get_spec(name).default_variant())


def get_config(variant: Dict[str, Any], obs_dim: int, action_dim: int, device) -> Dict[str, Any]:
    module = importlib.import_module(get_spec(variant["algorithm"]).config_module)
    return module.get_config(variant, obs_dim, action_dim, device)


def build(variant: Dict[str, Any], log_dir: str) -> Any:
    """Assemble envs, buffer, networks, trainer, logger and the algorithm: (algorithm, close)."""
    module = importlib.import_module(get_spec(variant["algorithm"]).algorithm_module)
    return module.build(variant, log_dir)
