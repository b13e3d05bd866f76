"""Assembly of a single-task on-policy run (PPO, NPG, VPG): a gymnasium.vector env of `num_envs`
copies of the env (each with its own child seed), the normaliser, the Gaussian policy and value
network, the rollout buffer, the OnPolicySchedule and the loop."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from experiment_configs.algorithms.continual import continual_loop, stream_env, stream_tasks_and_length
from experiment_configs.algorithms.off_policy import check_env, env_kwargs_schema, evaluation_episodes, single_env
from experiment_configs.common import Run, net_schema, run_schema
from lifelong_rl.core.loop import TrainingLoop
from lifelong_rl.core.schedules import OnPolicySchedule
from lifelong_rl.data_management.fields import Field
from lifelong_rl.data_management.normalizer import Normalizer
from lifelong_rl.data_management.rollout_buffer import RolloutBuffer, rollout_fields
from lifelong_rl.envs.make_env import episode_length
from lifelong_rl.envs.reference_scores import reference
from lifelong_rl.models.networks import Mlp
from lifelong_rl.policies.gaussian_policy import ActorCritic, GaussianPolicy, NormalizedMeanPolicy, orthogonal_init
from lifelong_rl.samplers.collectors import EpisodeStats, PathCollector
from lifelong_rl.samplers.vector_collector import VECTOR_MODES, VectorCollector, make_vector_env
from lifelong_rl.variants import Param, Schema


def on_policy_schema(name: str, trainer_kwargs: Schema) -> Schema:
    """The keys of an on-policy algorithm; defaults are Stable-Baselines3's PPO / TRPO ones (64-64
    tanh networks, 2048-step rollouts) with the running normalisation RL Zoo uses on MuJoCo."""
    return {
        **run_schema(name),
        "env": Param("gym/Hopper-v5", "metaworld/<task>-v3 or gym/<Id>", "str"),
        "env_kwargs": env_kwargs_schema(),
        "policy_kwargs": {**net_schema([64, 64], "policy mean"), "activation": Param("tanh", "policy mean: hidden activation", "str",
                                                                                  choices=("relu", "tanh", "elu", "swish", "leaky_relu")),
                          "log_std_init": Param(0.0, "initial log std of the Gaussian policy", "float")},
        "vf_kwargs": {**net_schema([64, 64], "value function"), "activation": Param("tanh", "value function: hidden activation",
                                                                                    "str", choices=("relu", "tanh", "elu", "swish", "leaky_relu"))},
        "trainer_kwargs": {
            "discount": Param(0.99, "discount factor gamma", "float", low=0.0, high=1.0),
            "gae_lambda": Param(0.95, "GAE lambda", "float", low=0.0, high=1.0),
            "normalize_advantage": Param(True, "advantages to zero mean, unit std (per minibatch for PPO)", "bool"),
            **trainer_kwargs,
        },
        "algorithm_kwargs": {
            "num_epochs": Param(100, "epochs (one progress.csv row each)", "int", low=1),
            "num_envs": Param(1, "parallel envs of the gymnasium.vector env", "int", low=1),
            "vector_mode": Param("sync", "sync: the envs in this process; async: one process each", "str", choices=VECTOR_MODES),
            "rollout_steps": Param(2048, "vector steps per rollout (env steps: x num_envs)", "int", low=1),
            "rollouts_per_epoch": Param(5, "rollouts (updates) per epoch", "int", low=1),
            "max_path_length": Param(0, "episode length; 0: the env's own (MetaWorld 500)", "int", low=0),
            "num_eval_steps_per_epoch": Param(5000, "evaluation steps per epoch (whole episodes); 0: none", "int", low=0),
            "normalize_obs": Param(True, "running observation normalisation (kept in snapshots, frozen for evaluation)", "bool"),
            "normalize_reward": Param(True, "rewards scaled by a running std of the discounted return", "bool"),
            "clip_obs": Param(10.0, "normalised observations clipped to +-this", "float", low=0.0),
            "clip_reward": Param(10.0, "normalised rewards clipped to +-this", "float", low=0.0),
        },
    }


ON_POLICY_QUICK = {
    "env": "gym/Pendulum-v1",
    "algorithm_kwargs/num_epochs": 2,
    "algorithm_kwargs/num_envs": 2,
    "algorithm_kwargs/rollout_steps": 64,
    "algorithm_kwargs/rollouts_per_epoch": 2,
    "algorithm_kwargs/max_path_length": 70,  # episodes run across rollouts and epochs
    "algorithm_kwargs/num_eval_steps_per_epoch": 70,
    "policy_kwargs/hidden_sizes": [32, 32],
    "vf_kwargs/hidden_sizes": [32, 32],
    "logging/snapshot_gap": 1,
}
ON_POLICY_CASES = {"pendulum": {}, "metaworld_async": {"env": "metaworld/reach-v3", "algorithm_kwargs": {"vector_mode": "async"}}}


check_on_policy = check_env


# (variant, policy, vf, seed) -> trainer
TrainerBuilder = Callable[..., Any]


def on_policy_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device, seed: int,
                    make_trainer: TrainerBuilder) -> Tuple[Any, GaussianPolicy]:
    """The trainer (holding the normaliser, part of the policy's state) and the Gaussian policy."""
    pk, vk = variant["policy_kwargs"], variant["vf_kwargs"]
    policy = GaussianPolicy(obs_dim, action_dim, pk["hidden_sizes"], pk["activation"], pk["layer_norm"],
                            pk["log_std_init"]).to(device)
    vf = orthogonal_init(Mlp(obs_dim, 1, vk["hidden_sizes"], vk["activation"], layer_norm=vk["layer_norm"]), 1.0).to(device)
    tk = {k: v for k, v in variant["trainer_kwargs"].items() if k not in ("discount", "gae_lambda")}
    return make_trainer(policy, vf, seed=seed, normalizer=make_normalizer(variant, obs_dim), **tk), policy


def make_normalizer(variant: Dict[str, Any], obs_dim: int) -> Normalizer:
    ak = variant["algorithm_kwargs"]
    return Normalizer(obs_dim, ak["num_envs"], variant["trainer_kwargs"]["discount"], ak["normalize_obs"],
                      ak["normalize_reward"], ak["clip_obs"], ak["clip_reward"])


def rollout_buffer(variant: Dict[str, Any], obs_dim: int, action_dim: int) -> RolloutBuffer:
    fields = rollout_fields(obs_dim, action_dim, final_values=Field(()), task_ids=Field((), np.int64))
    tk = variant["trainer_kwargs"]
    return RolloutBuffer(variant["algorithm_kwargs"]["rollout_steps"], variant["algorithm_kwargs"]["num_envs"], fields,
                         tk["discount"], tk["gae_lambda"])


def build_on_policy(run: Run, make_trainer: TrainerBuilder) -> Tuple[TrainingLoop, List]:
    v, ak = run.variant, run.variant["algorithm_kwargs"]
    venv = make_vector_env([lambda i=i: single_env(v, run.seeds, f"exploration/{i}") for i in range(ak["num_envs"])],
                           ak["vector_mode"])
    eval_env = single_env(v, run.seeds, "evaluation")
    length = episode_length(eval_env)
    obs_dim, action_dim = eval_env.observation_space.shape[0], eval_env.action_space.shape[0]
    trainer, policy = on_policy_agent(v, obs_dim, action_dim, run.device, run.seeds.child("minibatches"), make_trainer)
    normalizer = trainer.normalizer
    buffer = rollout_buffer(v, obs_dim, action_dim)
    collector = VectorCollector(venv, ActorCritic(policy, trainer.vf), normalizer)
    schedule = OnPolicySchedule(
        trainer, buffer, [collector], PathCollector(eval_env, NormalizedMeanPolicy(policy, normalizer), length),
        run.logger, run.device, steps_per_epoch=ak["rollout_steps"] * ak["num_envs"] * ak["rollouts_per_epoch"],
        eval_episodes=evaluation_episodes(ak, length))
    schedule.reference = reference(v["env"], v["seed"])
    log = v["logging"]
    loop = TrainingLoop(schedule, run.logger, v, ak["num_epochs"], log["save_replay_buffer"], log["progress_bar"])
    return loop, [collector, eval_env]


def on_policy_evaluation(run: Run, make_trainer: TrainerBuilder, env_seed=None):
    """(trainer, [(env name, env, deterministic policy)]) for offline evaluation of a snapshot (the
    trainer's state holds the normaliser's statistics)."""
    env = single_env(run.variant, run.seeds, "evaluation", env_seed)
    obs_dim, action_dim = env.observation_space.shape[0], env.action_space.shape[0]
    trainer, policy = on_policy_agent(run.variant, obs_dim, action_dim, run.device, 0, make_trainer)
    return trainer, [(run.variant["env"], env, NormalizedMeanPolicy(policy, trainer.normalizer))]


def build_continual_on_policy(run: Run, make_trainer: TrainerBuilder, strategy, method_name: str) -> Tuple[TrainingLoop, List]:
    """An on-policy method on a task stream: one vector env per task (`num_envs` copies, each with
    its own child seed), one normaliser and policy for all tasks, the OnPolicySchedule inside the
    continual wrapper."""
    v, ak, c = run.variant, run.variant["algorithm_kwargs"], run.variant["continual"]
    tasks, length = stream_tasks_and_length(v)
    one_hot = c["task_id"] == "one_hot"
    eval_envs = [stream_env(v, run.seeds, "evaluation", one_hot, i) for i in range(len(tasks))]
    obs_dim, action_dim = eval_envs[0].observation_space.shape[0], eval_envs[0].action_space.shape[0]
    trainer, policy = on_policy_agent(v, obs_dim, action_dim, run.device, run.seeds.child("minibatches"), make_trainer)
    agent, stats = ActorCritic(policy, trainer.vf), EpisodeStats()
    collectors = [VectorCollector(make_vector_env([lambda i=i, j=j: stream_env(v, run.seeds, f"exploration/{j}", one_hot, i)
                                                   for j in range(ak["num_envs"])], ak["vector_mode"]),
                                  agent, trainer.normalizer, task_id=i, stats=stats) for i in range(len(tasks))]
    inner = OnPolicySchedule(trainer, rollout_buffer(v, obs_dim, action_dim), collectors, None, run.logger, run.device,
                             steps_per_epoch=c["eval_every"])
    eval_collectors = [PathCollector(e, NormalizedMeanPolicy(policy, trainer.normalizer), length) for e in eval_envs]
    return continual_loop(run, inner, tasks, eval_collectors, strategy, "sequential", method_name), collectors + eval_envs
