"""Collective learning, stage 6: the collective policy finetuned with SAC on a (new) task. The
actor and twin critics start from the distill stage's collective.pt and act on [e, s], e the frozen
transformer's embedding of the agent's own window (lifelong_rl/envs/trajectory_window.py
`TaskEmbeddingWrapper`); the next observation carries the next window's embedding. The pipeline
(run_scripts/collective.py) then measures the finetuned collective's success on the old tasks.

Files that define its behaviour: lifelong_rl/trainers/sac.py (the losses), lifelong_rl/envs/
trajectory_window.py, experiment_configs/algorithms/collective.py (loading the collective).
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.collective import check_inputs, collective_inputs_schema, load_collective, load_transformer
from experiment_configs.algorithms.off_policy import (OFF_POLICY_QUICK, build_off_policy, check_off_policy,
                                                      off_policy_evaluation, off_policy_schema)
from experiment_configs.algorithms.offline import env_dims
from experiment_configs.common import Run, sac_trainer_schema
from lifelong_rl.envs.trajectory_window import TaskEmbeddingWrapper
from lifelong_rl.policies.tanh_gaussian_policy import MakeDeterministic, StochasticPolicy
from lifelong_rl.trainers.sac import SACTrainer
from lifelong_rl.variants import Param, Schema

NAME = "collective_finetune"
EXAMPLE = "agent_data/examples/collective"


def schema() -> Schema:
    s = off_policy_schema(NAME, sac_trainer_schema(), **collective_inputs_schema())
    del s["policy_kwargs"], s["qf_kwargs"]  # the collective's own sizes
    # The original finetunes from step 0 with the collective acting, and an initial temperature of 0.1.
    s["algorithm_kwargs"]["min_num_steps_before_training"] = Param(
        0, "uniformly random warm-up steps (0: the collective acts from the first step)", "int", low=0)
    s["trainer_kwargs"]["alpha"] = Param(0.1, "initial (or, without tuning, fixed) entropy coefficient", "float", low=1e-8)
    return s


QUICK = {k: v for k, v in OFF_POLICY_QUICK.items() if not k.startswith(("policy_kwargs", "qf_kwargs"))}
QUICK.update({"collective/transformer": f"{EXAMPLE}/transformer.pt", "collective/policy": f"{EXAMPLE}/collective.pt"})
CONTRACT_CASES = {"metaworld": {}}


def check(variant: Dict[str, Any]) -> None:
    check_off_policy(variant)
    check_inputs(variant, env_dims(variant["env"]))


def finetune_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device) -> Dict[str, Any]:
    policy, qfs, _ = load_collective(variant["collective"]["policy"])
    policy, qfs = policy.train().to(device), qfs.to(device)
    trainer = SACTrainer(policy, qfs, action_dim, **variant["trainer_kwargs"])
    return {"trainer": trainer, "exploration_policy": StochasticPolicy(policy), "evaluation_policy": MakeDeterministic(policy)}


def embedding_wrapper(variant: Dict[str, Any]):
    transformer = load_transformer(variant["collective"]["transformer"])
    return lambda env, role: TaskEmbeddingWrapper(env, transformer)


def build(run: Run):
    return build_off_policy(run, finetune_agent, wrap_env=embedding_wrapper(run.variant))


def evaluation_setup(run: Run, env_seed=None):
    return off_policy_evaluation(run, finetune_agent, env_seed, embedding_wrapper(run.variant))
