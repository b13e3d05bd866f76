"""Continual SAC on a MetaWorld task stream (the Continual World protocol, Wolczyk et al. 2021).

Files that define its behaviour: lifelong_rl/trainers/sac.py (the losses, with the strategy's
penalties), lifelong_rl/continual/wrapper.py (task switches, evaluation, success matrix, metrics),
lifelong_rl/continual/task_schedules.py, lifelong_rl/continual/strategies/ (one file per CL method),
lifelong_rl/models/multi_head.py (CW's task heads), experiment_configs/algorithms/continual.py.
"""
from __future__ import annotations

from typing import Any, Dict

from experiment_configs.algorithms.continual import (StreamAgentBuilder, build_continual, check_stream, continual_evaluation,
                                                     continual_schema)
from experiment_configs.common import Run, net_schema, run_schema, sac_trainer_schema
from experiment_configs.configs.q_learning import sac as single_task
from experiment_configs.configs.q_learning.sac import sac_agent
from lifelong_rl.continual.strategies import STRATEGIES, CLStrategy
from lifelong_rl.variants import ConfigError, Param, Schema

NAME = "continual_sac"
RESUME_NEEDS_BUFFER = True  # every CL method's data, Fisher and schedule depend on the buffer
TASK_ID_MODES = ("none", "one_hot", "multi_head")
# cl_method -> (task schedule, strategy). multitask and expand are schedules with the buffer kept.
SCHEDULES = {"multitask": ("multitask", "perfect_memory"), "expand": ("expand", "perfect_memory")}
METHODS = tuple(sorted(STRATEGIES)) + tuple(SCHEDULES)


def continual_off_policy_schema(name: str, trainer_kwargs: Schema, methods=METHODS, task_ids=TASK_ID_MODES,
                                **extra: Schema) -> Schema:
    """The keys of a continual off-policy algorithm: networks, `trainer_kwargs`, any `extra` groups,
    the update rate and the `continual` group with the CL methods and task-id modes it offers."""
    return {
        **run_schema(name),
        "replay_buffer_size": Param(int(1e6), "replay buffer capacity (transitions)", "int", low=1),
        "policy_kwargs": net_schema([256, 256], "actor"),
        "qf_kwargs": net_schema([256, 256], "critics"),
        "trainer_kwargs": trainer_kwargs,
        **extra,
        "algorithm_kwargs": {
            "batch_size": Param(256, "transitions per update", "int", low=1),
            "updates_per_step": Param(1.0, "updates per env step after a task's random steps", "float", low=0.0),
        },
        "continual": {
            **continual_schema(),
            "cl_method": Param("finetune", "continual-learning method", "str", choices=methods),
            "task_id": Param(task_ids[-1], "task identity: none, one-hot in the observation"
                             + (", or one output head per task (CW)" if "multi_head" in task_ids else ""),
                             "str", choices=task_ids),
            "hide_task_id": Param(False, "multi_head: the one-hot picks the head only, the trunk never sees it (CW: true)", "bool"),
            "reg_coef": Param(0.0, "l2 / ewc penalty coefficient; 0: the method's default (CW: l2 1e5, ewc 1e4)", "float", low=0.0),
            "fisher_samples": Param(1024, "ewc: transitions of a finished task for its Fisher", "int", low=1),
            "regularize_critic": Param(True, "l2 / ewc on the critics too; false: the actor alone (CW's default)", "bool"),
        },
    }


def schema() -> Schema:
    return continual_off_policy_schema(NAME, sac_trainer_schema())


QUICK_STREAM = {  # every continual algorithm: 2 short tasks
    "algorithm_kwargs/batch_size": 32,
    "continual/num_tasks": 2,
    "continual/steps_per_task": 200,
    "continual/eval_every": 100,
    "continual/eval_episodes": 1,
    "continual/episode_length": 70,  # epochs of 100 steps end mid-episode
    "continual/random_steps_per_task": 50,
    "policy_kwargs/hidden_sizes": [32, 32],
    "qf_kwargs/hidden_sizes": [32, 32],
    "replay_buffer_size": 10_000,
    "logging/snapshot_gap": 1,
}
QUICK = {**QUICK_STREAM, "continual/stream": "reach,push", "continual/fisher_samples": 64}

CONTRACT_CASES = {
    **{m: {"continual": {"cl_method": m}} for m in METHODS},
    **{f"ewc_{t}": {"continual": {"cl_method": "ewc", "task_id": t}} for t in ("none", "one_hot")},  # multi_head: above
}


def check(variant: Dict[str, Any]) -> None:
    c = variant["continual"]
    if c["hide_task_id"] and c["task_id"] != "multi_head":
        raise ConfigError(f"continual/hide_task_id needs continual/task_id=multi_head, not '{c['task_id']}'")
    check_stream(variant)


# Seeds as one batch: SAC's stacking, with a plain actor and critics (no task heads) and no parameter penalties.
vectorize = single_task.vectorize
VECTORIZED_METHODS = ("finetune", "perfect_memory", "reservoir", *SCHEDULES)


def check_vectorize(variant: Dict[str, Any]) -> None:
    c = variant["continual"]
    if c["task_id"] == "multi_head" or c["cl_method"] not in VECTORIZED_METHODS:
        raise ConfigError(f"--vectorize-seeds: continual_sac stacks seeds with continual/task_id none or one_hot (not "
                          f"'{c['task_id']}') and continual/cl_method in {', '.join(VECTORIZED_METHODS)} (not '{c['cl_method']}')")


def make_strategy(run: Run) -> CLStrategy:
    c = run.variant["continual"]
    cls = STRATEGIES[SCHEDULES.get(c["cl_method"], (None, c["cl_method"]))[1]]
    return cls(c["reg_coef"], run.seeds.child("strategy"), **{k: c[k] for k in cls.options})


def stream_agent(variant, obs_dim, action_dim, device, tasks, strategy) -> Dict[str, Any]:
    c = variant["continual"]
    multi = c["task_id"] == "multi_head"
    agent = sac_agent(variant, obs_dim, action_dim, device, num_heads=len(tasks) if multi else 0,
                      hide_task_id=c["hide_task_id"], strategy=strategy)
    agent["task_policies"] = [(agent["exploration_policy"], agent["evaluation_policy"])] * len(tasks)
    return agent


def stream_builder(stream_agent: StreamAgentBuilder):
    """(build, evaluation_setup) of a continual off-policy method from its stream agent."""
    def build(run: Run):
        c = run.variant["continual"]
        task_schedule = SCHEDULES.get(c["cl_method"], ("sequential",))[0]
        return build_continual(run, stream_agent, make_strategy(run), task_schedule, c["task_id"] != "none", c["cl_method"])

    def evaluation_setup(run: Run, env_seed=None):
        return continual_evaluation(run, stream_agent, make_strategy(run), run.variant["continual"]["task_id"] != "none",
                                    env_seed)

    return build, evaluation_setup


build, evaluation_setup = stream_builder(stream_agent)
