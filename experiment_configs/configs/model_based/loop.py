"""LOOP (Sikchi et al. 2020, "Learning Off-Policy with Online Planning") on one env.

Acting plans: short-horizon MPPI in a probabilistic ensemble, each particle's return closed by SAC's
value at the horizon, V(s_H) = min_j Q_j(s_H, a), a ~ pi(.|s_H), and `loop_kwargs/prior_samples`
candidate sequences per iteration drawn by rolling SAC's policy through the model (the policy as
the sampling prior). Learning is SAC's, off-policy from the real buffer (1 update per env step);
the model is fitted every `model_kwargs/train_every` env steps. Evaluation plans too
(`loop_kwargs/evaluation_policy=mpc`), or acts with SAC's deterministic policy (`sac`).
LOOP's safeguards against the actor-planner divergence (its actor regularisation) are not here.

Defaults: H 5 (LOOP's), MPPI sized for a 2-core CPU (100 candidates, 3 iterations), 5 members of
[200] * 3; SAC as the `sac` algorithm.

Files that define its behaviour: lifelong_rl/policies/mpc_policy.py (value, prior, trajectory
sampling), lifelong_rl/planners/planners.py (MPPI), lifelong_rl/trainers/sac.py,
lifelong_rl/models/dynamics.py, lifelong_rl/trainers/dynamics_trainer.py, lifelong_rl/core/schedules.py.
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.model_based import check_model, dynamics, model_based, model_schema, mpc_policy, planner_schema
from experiment_configs.algorithms.off_policy import OFF_POLICY_QUICK, off_policy_schema
from experiment_configs.common import check_buffer_size, sac_trainer_schema
from experiment_configs.configs.model_based.mpc import MODEL_QUICK, PLANNER_QUICK
from experiment_configs.configs.q_learning.sac import sac_agent
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.trainers.model_based import ModelBasedTrainer
from lifelong_rl.variants import Param, Schema

NAME = "loop"


def schema() -> Schema:
    s = off_policy_schema(NAME, sac_trainer_schema(), **model_schema(ensemble_size=5, num_elites=5,
                                                                     hidden_sizes=(200, 200, 200)),
                          **planner_schema(horizon=5), loop_kwargs={
                              "prior_samples": Param(10, "candidate sequences from SAC's policy per planning iteration",
                                                     "int", low=0),
                              "evaluation_policy": Param("mpc", "evaluation acts by planning (mpc) or with SAC's "
                                                         "deterministic policy (sac)", "str", choices=("mpc", "sac")),
                          })
    s["env"] = Param("gym/Hopper-v5", "gym/<Id> or metaworld/<task>-v3", "str")
    return s


QUICK = {**OFF_POLICY_QUICK, **MODEL_QUICK, **PLANNER_QUICK, "loop_kwargs/prior_samples": 4}
CONTRACT_CASES = {"inverted_pendulum": {"env": "gym/InvertedPendulum-v5"},
                  "pendulum_sac_eval": {"env": "gym/Pendulum-v1", "loop_kwargs": {"evaluation_policy": "sac"}}}


def check(variant: Dict[str, Any]) -> None:
    check_model(variant)
    check_buffer_size(variant)


def loop_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device,
               seeds: RunSeeds) -> Dict[str, Any]:
    agent = sac_agent(variant, obs_dim, action_dim, device)
    sac = agent["trainer"]
    fit, model = dynamics(variant, obs_dim, action_dim, device, seeds)

    def sample(states: torch.Tensor) -> torch.Tensor:
        return sac.policy.sample(states)[0]

    def value(states: torch.Tensor) -> torch.Tensor:
        return sac.qfs(torch.cat([states, sample(states)], -1)).min(0).values.squeeze(-1)

    def planner() -> Any:
        return mpc_policy(variant, model, action_dim, device, value_fn=value, prior_policy=sample,
                          prior_samples=variant["loop_kwargs"]["prior_samples"])

    explore = planner()
    evaluate = planner() if variant["loop_kwargs"]["evaluation_policy"] == "mpc" else agent["evaluation_policy"]
    return {"trainer": ModelBasedTrainer(fit, sac), "exploration_policy": explore, "evaluation_policy": evaluate,
            "schedule_kwargs": {"model_train_every": variant["model_kwargs"]["train_every"], "planners": [explore]}}


build, evaluation_setup = model_based(loop_agent)
