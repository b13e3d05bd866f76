"""Continual MBPO (Janner et al. 2019) on a MetaWorld task stream: one dynamics ensemble and one SAC agent for every
task, under the continual wrapper, with the CL methods that only shape the buffer (finetune empties
it at every switch; perfect_memory keeps it; reservoir keeps a uniform sample), task identity none
or one-hot. The model keeps being fitted every `model_kwargs/train_every` env steps (on what the
buffer holds), a task's random steps included.

Files that define its behaviour: experiment_configs/configs/model_based/mbpo.py (the single-task
method and its files), lifelong_rl/continual/wrapper.py, experiment_configs/algorithms/model_based.py
(continual_model_based).
"""
from __future__ import annotations

from experiment_configs.algorithms.model_based import (check_continual_model, continual_model_based,
                                                        continual_model_based_schema, continual_quick)
from experiment_configs.configs.continual.continual_sac import QUICK_STREAM
from experiment_configs.configs.model_based.mbpo import QUICK as SINGLE_QUICK, check_rollout_schedule, mbpo_agent
from experiment_configs.configs.model_based.mbpo import schema as single_task_schema
from lifelong_rl.variants import Schema

NAME = "continual_mbpo"
RESUME_NEEDS_BUFFER = True  # the model is refitted on the buffer


def schema() -> Schema:
    return continual_model_based_schema(NAME, single_task_schema(), updates=True)


QUICK = {**continual_quick(schema(), SINGLE_QUICK, QUICK_STREAM), "continual/stream": "reach,push"}
CONTRACT_CASES = {"finetune": {}, "perfect_memory_no_id": {"continual": {"cl_method": "perfect_memory", "task_id": "none"}}}


def check(variant) -> None:
    check_continual_model(variant)
    check_rollout_schedule(variant)


build, evaluation_setup = continual_model_based(mbpo_agent)
