"""Continual DDPG on a MetaWorld task stream: DDPG (Lillicrap et al. 2015) under the continual
wrapper, with the same CL methods and task-identity modes as continual TD3.

Files that define its behaviour: lifelong_rl/trainers/td3.py (DDPG's losses), and as for
continual TD3 the wrapper, task schedules and strategies.
"""
from __future__ import annotations

from experiment_configs.configs.continual.continual_sac import (QUICK_STREAM, check as check_sac, continual_off_policy_schema,
                                                                stream_builder)
from experiment_configs.configs.continual.continual_td3 import DETERMINISTIC_METHODS, TASK_IDS, deterministic_stream_agent
from experiment_configs.configs.q_learning.ddpg import ddpg_agent, schema as ddpg_schema
from experiment_configs.configs.q_learning.td3 import exploration_schema
from lifelong_rl.variants import Schema

NAME = "continual_ddpg"


def schema() -> Schema:
    return continual_off_policy_schema(NAME, ddpg_schema()["trainer_kwargs"], DETERMINISTIC_METHODS, TASK_IDS,
                                       exploration_kwargs=exploration_schema("gaussian", 0.1))


QUICK = {**QUICK_STREAM, "continual/stream": "reach,push"}
CONTRACT_CASES = {"finetune": {}, "perfect_memory_ou": {"continual": {"cl_method": "perfect_memory"},
                                                        "exploration_kwargs": {"noise": "ou", "sigma": 0.2}}}
check = check_sac
build, evaluation_setup = stream_builder(deterministic_stream_agent(ddpg_agent))
