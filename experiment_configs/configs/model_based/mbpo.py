"""MBPO (Janner et al. 2019, "When to Trust Your Model: Model-Based Policy Optimization") on one env.

A probabilistic ensemble is fitted to the real buffer every `model_kwargs/train_every` env steps;
every `mbpo_kwargs/rollout_every` env steps, branched k-step rollouts of the policy from real states
fill a model buffer; SAC updates `num_trains_per_train_loop / num_expl_steps_per_train_loop` times per
env step on batches of a `real_ratio` share of real data and the rest model data.

Defaults: MBPO's Hopper settings (7 members, 5 elites, [200] * 4; a fit and 100k rollouts every 250
steps; k from 1 at 20k steps to 15 at 100k; 20 SAC updates per env step with 5% real data; 5000
random steps), except that the reward and termination are learned (`model_kwargs/termination=given`
uses the hand-written Hopper rule, as MBPO's code does).

With `offline_kwargs/teacher_data_files`, the datasets are in the real buffer from the start, and
`offline_kwargs/num_epochs` epochs of updates (the model fitted to them first, rollouts from their
states) come before the online phase.

Files that define its behaviour: lifelong_rl/trainers/mbpo.py (rollouts, the length schedule, the
data mix), lifelong_rl/trainers/sac.py (the losses), lifelong_rl/models/dynamics.py,
lifelong_rl/trainers/dynamics_trainer.py, lifelong_rl/core/schedules.py (ModelBasedSchedule).
"""
from __future__ import annotations

from functools import partial
from typing import Any, Dict, Optional

import torch

from experiment_configs.algorithms.model_based import check_model, dynamics, model_based, model_schema
from experiment_configs.algorithms.offline import build_phased, check_offline, offline_schema
from experiment_configs.algorithms.off_policy import OFF_POLICY_QUICK, off_policy_schema
from experiment_configs.common import check_buffer_size, sac_trainer_schema
from experiment_configs.configs.model_based.mpc import MODEL_QUICK
from experiment_configs.configs.q_learning.sac import sac_agent
from lifelong_rl.core.schedules import ModelBasedSchedule
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.data_management.fields import transition_fields
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.trainers.mbpo import ModelRollouts
from lifelong_rl.trainers.model_based import ModelBasedTrainer
from lifelong_rl.trainers.offline_model_based import RolloutPenalty
from lifelong_rl.variants import ConfigError, Param, Schema

NAME = "mbpo"


def schema() -> Schema:
    s = off_policy_schema(NAME, sac_trainer_schema(), **model_schema(), mbpo_kwargs={
        "rollout_every": Param(250, "env steps between generations of model rollouts", "int", low=1),
        "rollout_batch_size": Param(100_000, "rollouts (start states from the real buffer) per generation", "int", low=1),
        "rollout_length_schedule": Param([20_000, 100_000, 1, 15], "start step, end step, k at start, k at end "
                                         "(positive ints): the rollout length k, linear in env steps in between", "ints"),
        "retain_generations": Param(4, "SAC's model data: the last N generations of rollouts (MBPO: one epoch, 4 x 250 "
                                    "steps); the model buffer holds N x rollout_batch_size x the largest k", "int", low=1),
        "real_ratio": Param(0.05, "share of real transitions in each SAC batch", "float", low=0.0, high=1.0),
    }, **offline_schema(num_epochs=0))
    s["env"] = Param("gym/Hopper-v5", "gym/<Id> or metaworld/<task>-v3", "str")
    ak = s["algorithm_kwargs"]
    ak["num_trains_per_train_loop"] = Param(20_000, "SAC updates per train loop (MBPO: 20 per env step)", "int", low=0)
    ak["num_eval_steps_per_epoch"] = Param(1000, "evaluation steps per epoch (whole episodes); 0: none", "int", low=0)
    return s


QUICK = {**OFF_POLICY_QUICK, **MODEL_QUICK, "mbpo_kwargs/rollout_every": 50, "mbpo_kwargs/rollout_batch_size": 64,
         "mbpo_kwargs/rollout_length_schedule": [100, 200, 1, 3]}
CONTRACT_CASES = {"inverted_pendulum": {"env": "gym/InvertedPendulum-v5"},
                  "hopper_given_termination": {"env": "gym/Hopper-v5", "model_kwargs": {"termination": "given"}}}


def check(variant: Dict[str, Any]) -> None:
    check_model(variant)
    check_buffer_size(variant)
    check_rollout_schedule(variant)
    check_offline(variant)


def check_evaluation(variant: Dict[str, Any]) -> None:
    check_model(variant)
    check_rollout_schedule(variant)


def check_rollout_schedule(variant: Dict[str, Any]) -> None:
    if len(variant["mbpo_kwargs"]["rollout_length_schedule"]) != 4:
        raise ConfigError(f"mbpo_kwargs/rollout_length_schedule must be 4 ints (start step, end step, k at start, "
                          f"k at end), not {variant['mbpo_kwargs']['rollout_length_schedule']}")


def mbpo_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device,
               seeds: RunSeeds, penalty: Optional[RolloutPenalty] = None) -> Dict[str, Any]:
    """SAC, the ensemble and its rollouts (with an offline method's `penalty`: MOPO, MOReL)."""
    agent = sac_agent(variant, obs_dim, action_dim, device)
    fit, model = dynamics(variant, obs_dim, action_dim, device, seeds)
    mb = variant["mbpo_kwargs"]
    size = mb["retain_generations"] * mb["rollout_batch_size"] * max(mb["rollout_length_schedule"][2:])
    model_buffer = ReplayBuffer(size, transition_fields(obs_dim, action_dim), seed=seeds.child("model_buffer"))
    rollouts = ModelRollouts(model, agent["trainer"].policy, model_buffer, mb["rollout_every"], mb["rollout_batch_size"],
                             mb["rollout_length_schedule"], mb["retain_generations"], mb["real_ratio"], device, penalty)
    return {**agent, "trainer": ModelBasedTrainer(fit, agent["trainer"]),
            "schedule_kwargs": {"model_train_every": variant["model_kwargs"]["train_every"], "rollouts": rollouts}}


online_build, evaluation_setup = model_based(mbpo_agent)


def build(run):
    if run.variant["offline_kwargs"]["teacher_data_files"]:
        return build_phased(run, partial(mbpo_agent, seeds=run.seeds), ModelBasedSchedule)
    return online_build(run)
