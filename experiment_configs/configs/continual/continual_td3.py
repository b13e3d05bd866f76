"""Continual TD3 on a MetaWorld task stream: TD3 (Fujimoto et al. 2018) under the continual wrapper
with the CL methods that need no stochastic actor (all but EWC, whose Fisher is the Gaussian
actor's), task identity none or one-hot (no task heads for the deterministic actor).

Files that define its behaviour: lifelong_rl/trainers/td3.py (the losses, with the strategy's
penalties), lifelong_rl/continual/wrapper.py, lifelong_rl/continual/task_schedules.py,
lifelong_rl/continual/strategies/, experiment_configs/algorithms/continual.py.
"""
from __future__ import annotations

from typing import Any, Callable, Dict

from experiment_configs.algorithms.continual import build_continual, continual_evaluation
from experiment_configs.common import Run
from experiment_configs.configs.continual.continual_sac import (METHODS, QUICK_STREAM, SCHEDULES, check as check_sac,
                                                                continual_off_policy_schema, make_strategy)
from experiment_configs.configs.q_learning.td3 import exploration_schema, schema as td3_schema, td3_agent
from lifelong_rl.variants import Schema

NAME = "continual_td3"
DETERMINISTIC_METHODS = tuple(m for m in METHODS if m != "ewc")
TASK_IDS = ("none", "one_hot")


def schema() -> Schema:
    return continual_off_policy_schema(NAME, td3_schema()["trainer_kwargs"], DETERMINISTIC_METHODS, TASK_IDS,
                                       exploration_kwargs=exploration_schema("gaussian", 0.1))


QUICK = {**QUICK_STREAM, "continual/stream": "reach,push"}
CONTRACT_CASES = {m: {"continual": {"cl_method": m}} for m in ("l2", "multitask")}
check = check_sac


def stream_builder(agent: Callable[..., Dict[str, Any]]):
    """(build, evaluation_setup) of a continual run of a deterministic-actor method."""
    def stream_agent(variant, obs_dim, action_dim, device, tasks, strategy) -> Dict[str, Any]:
        out = agent(variant, obs_dim, action_dim, device, strategy=strategy)
        out["task_policies"] = [(out["exploration_policy"], out["evaluation_policy"])] * len(tasks)
        return out

    def build(run: Run):
        c = run.variant["continual"]
        task_schedule = SCHEDULES.get(c["cl_method"], ("sequential",))[0]
        return build_continual(run, stream_agent, make_strategy(run), task_schedule, c["task_id"] != "none", c["cl_method"])

    def evaluation_setup(run: Run, env_seed=None):
        return continual_evaluation(run, stream_agent, make_strategy(run), run.variant["continual"]["task_id"] != "none",
                                    env_seed)

    return build, evaluation_setup


build, evaluation_setup = stream_builder(td3_agent)
