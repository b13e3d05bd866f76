"""PETS-style MPC (Chua et al. 2018, "Deep Reinforcement Learning in a Handful of Trials using
Probabilistic Dynamics Models"): a probabilistic ensemble fitted to every real transition every
`model_kwargs/train_every` env steps, and a planner that optimises an action sequence against it at
every env step (random shooting, CEM or MPPI: `planner_kwargs/planner`), with trajectory sampling
(TS1 or TS-inf). No policy is learned: exploration and evaluation both plan (evaluation without
exploration noise is the same controller).

The defaults are sized for a 2-core CPU (about 30 ms of planning per env step: 5 members of
[128] * 3, MPPI with H 25, 64 candidates, 2 iterations; a horizon of 25 is what keeps the
cart off InvertedPendulum's rail with its flat reward); the preset `gpu`
(`--preset gpu`) has the sizes of Lu et al.'s lifelong_rl MPC config for InvertedPendulum
(H 25, 400 candidates, 5 MPPI iterations, 5 particles per member, 4 members of [256] * 4).

Files that define its behaviour: lifelong_rl/models/dynamics.py (the ensemble),
lifelong_rl/trainers/dynamics_trainer.py (its fit), lifelong_rl/planners/planners.py,
lifelong_rl/policies/mpc_policy.py (trajectory sampling, warm start), lifelong_rl/core/schedules.py
(ModelBasedSchedule).
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.model_based import check_model, dynamics, model_based, model_schema, mpc_policy, planner_schema
from experiment_configs.algorithms.off_policy import off_policy_schema
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.trainers.model_based import ModelBasedTrainer
from lifelong_rl.variants import Param, Schema

NAME = "mpc"
POLICY_KEYS = ("policy_kwargs", "qf_kwargs", "trainer_kwargs")
UPDATE_KEYS = ("loop", "batch_size", "num_trains_per_train_loop")


def schema() -> Schema:
    s = off_policy_schema(NAME, {}, **model_schema(train_every=200, ensemble_size=5, num_elites=5,
                                                   hidden_sizes=(128, 128, 128)),
                          **planner_schema(horizon=25, population=64, iterations=2))
    for k in POLICY_KEYS:  # no policy is learned
        del s[k]
    for k in UPDATE_KEYS:
        del s["algorithm_kwargs"][k]
    s["env"] = Param("gym/InvertedPendulum-v5", "gym/<Id> or metaworld/<task>-v3", "str")
    ak = s["algorithm_kwargs"]
    ak["num_epochs"] = Param(10, "epochs (one progress.csv row each)", "int", low=1)
    ak["min_num_steps_before_training"] = Param(200, "uniformly random warm-up steps before the first fit", "int", low=0)
    return s


MODEL_QUICK = {
    "model_kwargs/ensemble_size": 3, "model_kwargs/num_elites": 2, "model_kwargs/hidden_sizes": [16, 16],
    "model_kwargs/max_epochs": 3, "model_kwargs/train_every": 50, "model_kwargs/batch_size": 32,
    "algorithm_kwargs/num_epochs": 2, "algorithm_kwargs/max_path_length": 70,
    "algorithm_kwargs/num_eval_steps_per_epoch": 70, "algorithm_kwargs/num_expl_steps_per_train_loop": 100,
    "algorithm_kwargs/min_num_steps_before_training": 50, "replay_buffer_size": 10_000, "logging/snapshot_gap": 1,
}
PLANNER_QUICK = {"planner_kwargs/horizon": 4, "planner_kwargs/population": 16, "planner_kwargs/iterations": 2}
QUICK = {**MODEL_QUICK, **PLANNER_QUICK}
PRESETS = {"gpu": {"planner_kwargs/planner": "mppi", "planner_kwargs/horizon": 25, "planner_kwargs/population": 400,
                   "planner_kwargs/iterations": 5, "planner_kwargs/num_particles": 5, "planner_kwargs/temperature": 0.01,
                   "model_kwargs/ensemble_size": 4, "model_kwargs/num_elites": 4,
                   "model_kwargs/hidden_sizes": [256, 256, 256, 256], "device": "cuda"}}
CONTRACT_CASES = {
    "inverted_pendulum_mppi": {},
    "pendulum_cem_given_ts1": {"env": "gym/Pendulum-v1", "model_kwargs": {"reward": "given", "termination": "given"},
                               "planner_kwargs": {"planner": "cem", "propagation": "ts1"}},
    "pendulum_rs_learned": {"env": "gym/Pendulum-v1", "planner_kwargs": {"planner": "rs"}},  # MetaWorld: continual_mpc
}
check = check_model


def mpc_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device,
              seeds: RunSeeds) -> Dict[str, Any]:
    fit, model = dynamics(variant, obs_dim, action_dim, device, seeds)
    explore, evaluate = (mpc_policy(variant, model, action_dim, device) for _ in range(2))  # a warm start each
    return {"trainer": ModelBasedTrainer(fit), "exploration_policy": explore, "evaluation_policy": evaluate,
            "schedule_kwargs": {"model_train_every": variant["model_kwargs"]["train_every"], "planners": [explore]}}


build, evaluation_setup = model_based(mpc_agent)
