"""Single-task online / batch RL (the loop kind is algorithm_kwargs/loop): envs, buffer, collectors."""
from __future__ import annotations

from typing import Any, Dict

from lifelong_rl import registry
from lifelong_rl.core.rl_algorithm import LOOPS, RLAlgorithm
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.envs.make_env import make_env, validate_env_name
from lifelong_rl.samplers.collectors import PathCollector, StepCollector
from lifelong_rl.variants import ConfigError


def check(variant: Dict[str, Any]) -> None:
    ak = variant["algorithm_kwargs"]
    for k in ("num_epochs", "batch_size", "num_expl_steps_per_train_loop", "num_train_loops_per_epoch"):
        if ak[k] < 1:
            raise ConfigError(f"algorithm_kwargs/{k} must be >= 1, got {ak[k]}")
    if ak["loop"] not in LOOPS:
        raise ConfigError(f"unknown loop '{ak['loop']}' in algorithm_kwargs/loop; valid: {', '.join(LOOPS)}")
    if variant["replay_buffer_size"] < ak["batch_size"]:
        raise ConfigError(f"replay_buffer_size ({variant['replay_buffer_size']}) is smaller than batch_size ({ak['batch_size']})")
    validate_env_name(variant["env"])


def build(variant: Dict[str, Any], log_dir: str):
    from experiment_configs.base_experiment import build_envs, closer, open_run

    device, logger = open_run(variant, log_dir)
    expl_env, eval_env, max_path_length = build_envs(variant)
    obs_dim, action_dim = expl_env.observation_space.shape[0], expl_env.action_space.shape[0]
    replay_buffer = ReplayBuffer(variant["replay_buffer_size"], obs_dim, action_dim, seed=variant["seed"])
    config = registry.get_config(variant, obs_dim, action_dim, device)
    kwargs = dict(variant["algorithm_kwargs"])
    loop = kwargs.pop("loop")  # checked by check()
    kwargs.pop("max_path_length")
    log = variant["logging"]
    algorithm: RLAlgorithm = LOOPS[loop](
        trainer=config["trainer"],
        exploration_collector=StepCollector(expl_env, config["exploration_policy"], max_path_length),
        evaluation_collector=PathCollector(eval_env, config["evaluation_policy"], max_path_length),
        replay_buffer=replay_buffer,
        logger=logger,
        variant=variant,
        device=device,
        save_replay_buffer=log["save_replay_buffer"],
        progress_bar=log["progress_bar"],
        **kwargs,
    )

    return algorithm, closer(logger, [expl_env, eval_env])


def evaluation_setup(variant: Dict[str, Any], device, seed: int):
    """(trainer, [(name, env, deterministic policy)]) for offline evaluation of a snapshot."""
    env = make_env(variant["env"], seed, max_path_length=variant["algorithm_kwargs"]["max_path_length"], **variant["env_kwargs"])
    config = registry.get_config(variant, env.observation_space.shape[0], env.action_space.shape[0], device)
    return config["trainer"], [(variant["env"], env, config["evaluation_policy"])]
