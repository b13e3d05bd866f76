"""Collective learning, stage 5: a student SAC on one task with the reward shaped by the collective,

    r + w(t) * b(s, a),   b = the collective's Gaussian density of the student's action over its peak,

w(t) 1 until `shaping/constant_until` env steps, then falling linearly to 0 at `shaping/zero_at` (the
original's 8,000 and 50,000). The student sees the plain observations; the collective sees the
student's own window (lifelong_rl/envs/trajectory_window.py `ShapingBonusWrapper`), and b is stored
with each step, w applied at update time. `shaping/start_weight` 0 is SAC from scratch (no
collective read): the baseline.

Files that define its behaviour: lifelong_rl/trainers/collective.py (ShapingWeight, shaping_bonus,
ShapedSACTrainer), lifelong_rl/trainers/sac.py, lifelong_rl/envs/trajectory_window.py,
lifelong_rl/core/schedules.py (OffPolicySchedule).
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.collective import check_inputs, collective_inputs_schema
from experiment_configs.algorithms.off_policy import (OFF_POLICY_QUICK, build_off_policy, check_off_policy,
                                                      off_policy_evaluation, off_policy_schema, replay_buffer)
from experiment_configs.algorithms.offline import env_dims
from experiment_configs.common import Run, sac_trainer_schema
from experiment_configs.configs.q_learning.sac import sac_agent
from lifelong_rl.data_management.fields import Field, transition_fields
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.envs.trajectory_window import ShapingBonusWrapper
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import MakeDeterministic, StochasticPolicy, TanhGaussianPolicy
from lifelong_rl.trainers.collective import ShapedSACTrainer, ShapingWeight
from lifelong_rl.variants import ConfigError, Param, Schema

NAME = "collective_student"
EXAMPLE = "agent_data/examples/collective"


def schema() -> Schema:
    return off_policy_schema(NAME, sac_trainer_schema(), **collective_inputs_schema(), shaping={
        "start_weight": Param(1.0, "w before it falls; 0: no shaping (SAC from scratch, the collective is not read)",
                              "float", low=0.0),
        "constant_until": Param(8000, "env steps with w at start_weight", "int", low=0),
        "zero_at": Param(50000, "env step where w reaches 0 (falling linearly from constant_until)", "int", low=1),
        "min_std": Param(1e-4, "floor of the collective's sigma in b (the original's 1e-4; its scripted-teacher variant "
                         "used sigma = e^0.1 = 1.1): a wider bonus for a sharp collective", "float", low=1e-8),
    })


QUICK = {**OFF_POLICY_QUICK, "collective/transformer": f"{EXAMPLE}/transformer.pt",
         "collective/policy": f"{EXAMPLE}/collective.pt", "shaping/constant_until": 100, "shaping/zero_at": 300}
CONTRACT_CASES = {"shaped": {}, "scratch": {"shaping": {"start_weight": 0.0}}}


def shaped(variant: Dict[str, Any]) -> bool:
    return variant["shaping"]["start_weight"] > 0


def check_settings(variant: Dict[str, Any]) -> None:
    """The checks that read no file (the pipeline runs them before its first stage)."""
    s = variant["shaping"]
    if s["zero_at"] <= s["constant_until"]:
        raise ConfigError(f"shaping/zero_at ({s['zero_at']}) must be after shaping/constant_until ({s['constant_until']})")


def check(variant: Dict[str, Any]) -> None:
    check_off_policy(variant)
    check_settings(variant)
    if shaped(variant):
        check_inputs(variant, env_dims(variant["env"]))


def shaped_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device) -> Dict[str, Any]:
    """SAC's actor and critics with ShapedSACTrainer; the schedule tells it the env steps taken."""
    policy = TanhGaussianPolicy(obs_dim, action_dim, **variant["policy_kwargs"]).to(device)
    qfs = ParallelizedEnsemble(2, obs_dim + action_dim, 1, **variant["qf_kwargs"]).to(device)
    s = variant["shaping"]
    trainer = ShapedSACTrainer(policy, qfs, action_dim, weight=ShapingWeight(s["start_weight"], s["constant_until"], s["zero_at"]),
                               **variant["trainer_kwargs"])

    def count_steps(env_steps: int, buffer) -> None:
        trainer.env_steps = env_steps

    return {"trainer": trainer, "exploration_policy": StochasticPolicy(policy), "evaluation_policy": MakeDeterministic(policy),
            "schedule_kwargs": {"env_step_hook": count_steps}}


def bonus_buffer(variant: Dict[str, Any], env, seed: int) -> ReplayBuffer:
    fields = transition_fields(env.observation_space.shape[0], env.action_space.shape[0], shaping_bonus=Field((1,)))
    return ReplayBuffer(variant["replay_buffer_size"], fields, seed=seed)


def build(run: Run):
    v = run.variant
    if not shaped(v):
        return build_off_policy(run, sac_agent, replay_buffer)
    transformer, collective = check_inputs(v)

    def wrap(env, role):  # the bonus on the exploration steps; evaluation on the task's own reward
        return ShapingBonusWrapper(env, transformer, collective, v["shaping"]["min_std"]) if role == "exploration" else env

    return build_off_policy(run, shaped_agent, bonus_buffer, wrap_env=wrap)


def evaluation_setup(run: Run, env_seed=None):
    return off_policy_evaluation(run, shaped_agent if shaped(run.variant) else sac_agent, env_seed)
