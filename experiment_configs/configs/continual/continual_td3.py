"""Continual TD3 on a MetaWorld task stream: TD3 (Fujimoto et al. 2018) under the continual wrapper
with the CL methods that need no stochastic actor (all but EWC, whose Fisher is the Gaussian
actor's), task identity none or one-hot (no task heads for the deterministic actor).

Files that define its behaviour: lifelong_rl/trainers/td3.py (the losses, with the strategy's
penalties), lifelong_rl/continual/wrapper.py, lifelong_rl/continual/task_schedules.py,
lifelong_rl/continual/strategies/, experiment_configs/algorithms/continual.py.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict

from experiment_configs.configs.continual.continual_sac import (METHODS, QUICK_STREAM, check as check_sac,
                                                                continual_off_policy_schema, stream_builder)
from experiment_configs.configs.q_learning.td3 import exploration_schema, schema as td3_schema, td3_agent
from lifelong_rl.policies.deterministic_policy import NoisyPolicy
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


def deterministic_stream_agent(agent: Callable[..., Dict[str, Any]]):
    """The stream agent of a deterministic-actor agent builder: one actor for every task, each task's
    exploration with a noise process of its own (interleaved tasks never share an OU state)."""
    def stream_agent(variant, obs_dim, action_dim, device, tasks, strategy) -> Dict[str, Any]:
        out = agent(variant, obs_dim, action_dim, device, strategy=strategy)
        explore = out["exploration_policy"]
        out["task_policies"] = [(NoisyPolicy(explore.policy, copy.deepcopy(explore.noise)), out["evaluation_policy"])
                                for _ in tasks]
        return out

    return stream_agent


build, evaluation_setup = stream_builder(deterministic_stream_agent(td3_agent))
