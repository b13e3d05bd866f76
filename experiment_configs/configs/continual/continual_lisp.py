"""Continual LiSP (Lu et al. 2021, "Reset-Free Lifelong Learning with Skill-Space Planning") on a
MetaWorld task stream: one dynamics ensemble, one skill policy, skill-practice distribution and skill
dynamics for every task, acting by MPPI over skills against the model's learned reward, under the
continual wrapper with the CL methods that only shape the buffer (finetune empties it at every switch;
perfect_memory keeps it; reservoir keeps a uniform sample), task identity none or one-hot. The skills
are learned from model rollouts of whatever the buffer holds, so what the buffer keeps is what the
skills and the model remember.

Files that define its behaviour: experiment_configs/configs/skills/lisp.py (the single-task method and
its files), lifelong_rl/continual/wrapper.py, experiment_configs/algorithms/model_based.py
(continual_model_based).
"""
from __future__ import annotations

from experiment_configs.algorithms.model_based import (check_continual_model, continual_model_based,
                                                        continual_model_based_schema, continual_quick)
from experiment_configs.configs.continual.continual_sac import QUICK_STREAM
from experiment_configs.configs.skills.dads import check_skill_keys
from experiment_configs.configs.skills.lisp import QUICK as SINGLE_QUICK, lisp_agent
from experiment_configs.configs.skills.lisp import schema as single_task_schema
from lifelong_rl.variants import Param, Schema

NAME = "continual_lisp"
RESUME_NEEDS_BUFFER = True  # the model is refitted on the buffer and the skills learn from its states


def schema() -> Schema:
    s = continual_model_based_schema(NAME, single_task_schema(), updates=True)
    s["lisp_kwargs"]["planning_reward"] = Param("learned", "on a stream: the ensemble's learned reward head", "str",
                                                choices=("learned",))
    s["algorithm_kwargs"]["updates_per_step"] = Param(0.1, "skill iterations per env step after a task's random steps "
                                                      "(Lu et al.: one per 10)", "float", low=0.0)
    return s


QUICK = {**continual_quick(schema(), SINGLE_QUICK, QUICK_STREAM), "continual/stream": "reach,push",
         "lisp_kwargs/evaluation": "uniform", "planner_kwargs/population": 4}
# One case: the stream's buffer-shaping methods are continual_mbpo's cases, on the same builder.
CONTRACT_CASES = {"perfect_memory_no_id": {"continual": {"cl_method": "perfect_memory", "task_id": "none"}}}


def check(variant) -> None:
    check_continual_model(variant)
    check_skill_keys(variant, "lisp_kwargs")


build, evaluation_setup = continual_model_based(lisp_agent)
