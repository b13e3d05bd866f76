"""Algorithm name -> default variant, config builder (networks, policies, trainer) and algorithm
builder (envs, buffer, collectors and the training loop). Builders are imported lazily by path."""
from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Dict

from lifelong_rl.variants import ConfigError, merge_variant


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
        # activation: relu, leaky_relu, tanh, elu, swish; layer_norm: the first hidden layer is
        # linear -> LayerNorm -> tanh (Continual World's networks: layer_norm with leaky_relu).
        policy_kwargs=dict(hidden_sizes=[256, 256], activation="relu", layer_norm=False),
        qf_kwargs=dict(hidden_sizes=[256, 256], activation="relu", layer_norm=False),
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


def _continual_sac_default_variant() -> Dict[str, Any]:
    base = _sac_default_variant()
    v = {k: base[k] for k in ("seed", "device", "replay_buffer_size", "policy_kwargs", "qf_kwargs", "trainer_kwargs",
                              "logging", "sweep_point")}
    v.update(algorithm="continual_sac", exp_name="continual_sac")
    v["algorithm_kwargs"] = dict(batch_size=256, updates_per_step=1.0)
    v["continual"] = dict(
        stream="cw10",             # cw10, cw20, mt10, legion10, or a comma-separated list of v3 tasks
        num_tasks=0,               # 0: the whole stream, else its first N tasks
        cl_method="finetune",      # finetune, perfect_memory, reservoir, multitask, l2, ewc
        steps_per_task=100_000,
        eval_every=10_000,
        # A MetaWorld task keeps one goal per run and the evaluation policy is deterministic, so
        # repeated evaluation episodes are exact copies (measured: return std 0.0 over 3 episodes on
        # each task of a 3-task run); more only pay off with new_goal_each_episode.
        eval_episodes=1,
        new_goal_each_episode=False,  # draw one of MetaWorld's 50 goals at every reset (train and eval)
        episode_length=0,          # 0: 200 for the CW streams (as CW), else MetaWorld's 500
        task_id="multi_head",      # none, one_hot, multi_head (CW's default)
        hide_task_id=False,        # multi_head: the one-hot picks the head only, the trunk never sees it (CW: True)
        random_steps_per_task=5000,
        reset_buffer="auto",       # auto (the method's choice), reset, keep
        reset_optimizer=True,
        reset_entropy=True,
        reg_coef=0.0,              # 0: the method's default (CW: l2 1e5, ewc 1e4)
        fisher_samples=1024,
        regularize_critic=True,    # l2 / ewc on the critics too; False: the actor alone (CW's default)
        references="",             # JSON of single-task reference curves for forward transfer
    )
    return v


def _legion_default_variant() -> Dict[str, Any]:
    from lifelong_rl.envs.task_descriptions import TASK_DESCRIPTIONS
    from lifelong_rl.models.language import DEFAULT_MODEL

    v = _continual_sac_default_variant()
    v.update(algorithm="legion", exp_name="legion")
    # Actor and critics 3 x 400 (LEGION's / mtrl's sizes).
    v["policy_kwargs"]["hidden_sizes"] = [400, 400, 400]
    v["qf_kwargs"]["hidden_sizes"] = [400, 400, 400]
    c = v["continual"]
    for k in ("cl_method", "task_id", "hide_task_id", "reg_coef", "fisher_samples", "regularize_critic"):  # LEGION's own switches replace these
        del c[k]
    c.update(stream="legion10", reset_entropy=False)  # per-task entropy coefficients: nothing to reset
    v["legion"] = dict(
        mode_cl="continual",       # continual (buffer kept, as the original), expand (tasks 0..k), multitask
        latent_dim=10,
        encoder_hidden=[400, 400],
        decoder_hidden=[400, 400],
        vae_lr=3e-4,
        beta_kl=1e-3,              # weight of the KL term (original: beta_kl_z 0.001)
        state_weight=1.0,          # weight of the next-state reconstruction (mean squared error)
        # Weight of the task-code reconstruction (mean squared error). Unit-norm 384-dim codes make
        # its per-dim error small (~0.004 for a wrong code), so the KL wins at weight 1 and z
        # collapses. Measured on a 3-task toy (tests/test_legion.py): weight 1 -> 1 component,
        # purity 0.37; 10 -> 2, 0.70; 100 -> 3 components, purity 1.00.
        task_weight=100.0,
        prior="dpmm",              # dpmm, or gauss (the N(0, I) ablation)
        language="on",             # on: sentence embeddings; off: one-hot task codes (the ablation)
        language_model=DEFAULT_MODEL,
        task_descriptions=dict(TASK_DESCRIPTIONS),
        per_task_alpha=True,       # one entropy coefficient per task (original: disentangled alpha)
        explore_sample_z=True,     # exploration acts on a sample of q(z|s,e), evaluation on its mean
        eval_sample_z=False,
        dpmm=dict(
            fit_every=10_000,      # env steps between refits of the mixture
            fit_start=3_000,       # first fit once the buffer holds this many samples (original: 3000)
            fit_samples=4096,      # replay samples encoded for a fit
            truncation=20,         # most components the mixture may use
            concentration=5.0,     # Dirichlet-process concentration (original: gamma0 5.0)
            active_threshold=0.02, # a component is active when its weight exceeds this
            max_iter=200,          # variational EM iterations per fit
        ),
    )
    return v


ALGORITHMS: Dict[str, AlgorithmSpec] = {
    "sac": AlgorithmSpec(
        _sac_default_variant,
        "experiment_configs.configs.q_learning.sac_config",
        "experiment_configs.algorithms.online",
    ),
    "continual_sac": AlgorithmSpec(
        _continual_sac_default_variant,
        "experiment_configs.configs.q_learning.sac_config",
        "experiment_configs.algorithms.continual",
    ),
    "legion": AlgorithmSpec(
        _legion_default_variant,
        "experiment_configs.configs.legion.legion_config",
        "experiment_configs.algorithms.legion",
    ),
}

# Tiny sizes for smoke runs (--quick), per algorithm.
QUICK_STREAM = {  # every continual algorithm: 2 short tasks
    "algorithm_kwargs/batch_size": 32,
    "continual/num_tasks": 2,
    "continual/steps_per_task": 200,
    "continual/eval_every": 100,
    "continual/eval_episodes": 1,
    "continual/episode_length": 50,
    "continual/random_steps_per_task": 50,
}
QUICK: Dict[str, Dict[str, Any]] = {
    "sac": {
        "algorithm_kwargs/num_epochs": 2,
        "algorithm_kwargs/batch_size": 32,
        "algorithm_kwargs/max_path_length": 50,
        "algorithm_kwargs/num_eval_steps_per_epoch": 50,
        "algorithm_kwargs/num_expl_steps_per_train_loop": 100,
        "algorithm_kwargs/num_trains_per_train_loop": 20,
        "algorithm_kwargs/min_num_steps_before_training": 100,
    },
    "continual_sac": {
        **QUICK_STREAM,
        "continual/fisher_samples": 64,
    },
    "legion": {
        **QUICK_STREAM,
        "legion/encoder_hidden": [32, 32],
        "legion/decoder_hidden": [32, 32],
        "legion/dpmm/fit_every": 100,
        "legion/dpmm/fit_start": 50,
        "legion/dpmm/fit_samples": 256,
    },
}
QUICK_COMMON = {
    "policy_kwargs/hidden_sizes": [32, 32],
    "qf_kwargs/hidden_sizes": [32, 32],
    "replay_buffer_size": 10_000,
    "logging/snapshot_gap": 1,
}


def quick_overrides(name: str) -> Dict[str, Any]:
    return {**QUICK_COMMON, **QUICK.get(name, {})}


def get_spec(name: str) -> AlgorithmSpec:
    if name not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm '{name}'; valid: {', '.join(sorted(ALGORITHMS))}")
    return ALGORITHMS[name]


def default_variant(name: str) -> Dict[str, Any]:
    return copy.deepcopy(get_spec(name).default_variant())


def get_config(variant: Dict[str, Any], obs_dim: int, action_dim: int, device, **options: Any) -> Dict[str, Any]:
    """Networks, policies and trainer; `options` go to the config builder (e.g. num_heads)."""
    module = importlib.import_module(get_spec(variant["algorithm"]).config_module)
    return module.get_config(variant, obs_dim, action_dim, device, **options)


def check(variant: Dict[str, Any]) -> None:
    """Algorithm-specific checks of a complete variant (raise ConfigError)."""
    module = importlib.import_module(get_spec(variant["algorithm"]).algorithm_module)
    module.check(variant)


def evaluation_setup(variant: Dict[str, Any], device, seed: int) -> Any:
    """(trainer, [(name, env, deterministic policy)]) to evaluate a snapshot offline: one entry, or
    one per task of a continual stream. The snapshot's variant is completed from today's defaults,
    as on resume, so a snapshot written before an option existed gets its default."""
    module = importlib.import_module(get_spec(variant["algorithm"]).algorithm_module)
    return module.evaluation_setup(merge_variant(default_variant(variant["algorithm"]), variant), device, seed)


def build(variant: Dict[str, Any], log_dir: str) -> Any:
    """Assemble envs, buffer, networks, trainer, logger and the algorithm: (algorithm, close)."""
    module = importlib.import_module(get_spec(variant["algorithm"]).algorithm_module)
    return module.build(variant, log_dir)
