"""Continual PPO on a MetaWorld task stream: PPO (Schulman et al. 2017) under the continual wrapper,
fine-tuned from task to task (the on-policy method keeps no replay data, so the replay and
regularisation methods do not apply), task identity none or one-hot.

Each task has its own gymnasium.vector env; rollouts never span two tasks (steps per task must be
a multiple of a rollout's env steps), and a task's first steps are the policy's (no random steps).

Files that define its behaviour: lifelong_rl/trainers/policy_gradient.py (the losses),
lifelong_rl/continual/wrapper.py, lifelong_rl/core/schedules.py (OnPolicySchedule),
experiment_configs/algorithms/on_policy.py (build_continual_on_policy).
"""
from __future__ import annotations

from typing import Any, Dict

from experiment_configs.algorithms.continual import check_stream_keys, continual_evaluation, continual_schema
from experiment_configs.algorithms.on_policy import build_continual_on_policy, on_policy_agent
from experiment_configs.common import Run
from experiment_configs.configs.policy_gradient.ppo import schema as ppo_schema
from lifelong_rl.continual.strategies import STRATEGIES
from lifelong_rl.policies.gaussian_policy import NormalizedMeanPolicy
from lifelong_rl.trainers.policy_gradient import PPOTrainer
from lifelong_rl.variants import ConfigError, Param, Schema

NAME = "continual_ppo"
SINGLE_TASK_KEYS = ("num_epochs", "rollouts_per_epoch", "max_path_length", "num_eval_steps_per_epoch")


def schema() -> Schema:
    s = ppo_schema()
    s.update(algorithm=Param(NAME, "registered algorithm name", "str"), exp_name=Param(NAME, s["exp_name"].doc, "str"))
    del s["env"], s["env_kwargs"]
    for k in SINGLE_TASK_KEYS:  # the stream sets epochs, episode length and evaluation
        del s["algorithm_kwargs"][k]
    s["continual"] = {
        **continual_schema(),
        "steps_per_task": Param(102_400, "env steps per task (a multiple of a rollout's: 50 x 2048)", "int", low=1),
        "eval_every": Param(10_240, "env steps between evaluations of every task (one epoch)", "int", low=1),
        "random_steps_per_task": Param(0, "uniformly random actions at each task's start (on-policy: 0)", "int", low=0, high=0),
        "cl_method": Param("finetune", "continual-learning method (on-policy: finetune)", "str", choices=("finetune",)),
        "task_id": Param("one_hot", "task identity: none or one-hot in the observation", "str", choices=("none", "one_hot")),
    }
    return s


QUICK = {"continual/stream": "reach,push", "continual/num_tasks": 2, "continual/steps_per_task": 256,
         "continual/eval_every": 128, "continual/episode_length": 70, "algorithm_kwargs/num_envs": 2,
         "algorithm_kwargs/rollout_steps": 32, "trainer_kwargs/batch_size": 32, "trainer_kwargs/update_epochs": 2,
         "policy_kwargs/hidden_sizes": [32, 32], "vf_kwargs/hidden_sizes": [32, 32], "logging/snapshot_gap": 1}
CONTRACT_CASES = {"finetune": {}}


def check(variant: Dict[str, Any]) -> None:
    c, ak = variant["continual"], variant["algorithm_kwargs"]
    check_stream_keys(variant)
    rollout = ak["rollout_steps"] * ak["num_envs"]
    if c["steps_per_task"] % rollout:
        raise ConfigError(f"continual/steps_per_task ({c['steps_per_task']}) must be a multiple of a rollout's env steps "
                          f"(algorithm_kwargs/rollout_steps x num_envs = {rollout})")
    if c["eval_every"] % ak["num_envs"]:
        raise ConfigError(f"continual/eval_every ({c['eval_every']}) must be a multiple of algorithm_kwargs/num_envs "
                          f"({ak['num_envs']}): a vector step is num_envs env steps")


def make_strategy(run: Run):
    return STRATEGIES["finetune"](0.0, run.seeds.child("strategy"))


def build(run: Run):
    return build_continual_on_policy(run, PPOTrainer, make_strategy(run), "finetune")


def stream_agent(variant, obs_dim, action_dim, device, tasks, strategy) -> Dict[str, Any]:
    trainer, policy = on_policy_agent(variant, obs_dim, action_dim, device, 0, PPOTrainer)
    evaluate = NormalizedMeanPolicy(policy, trainer.normalizer)
    return {"trainer": trainer, "task_policies": [(None, evaluate)] * len(tasks)}


def evaluation_setup(run: Run, env_seed=None):
    return continual_evaluation(run, stream_agent, make_strategy(run), run.variant["continual"]["task_id"] == "one_hot", env_seed)
