"""HER (Andrychowicz et al. 2017, "Hindsight Experience Replay") on top of SAC, TD3 or DDPG, on a
goal env: goal/metaworld/reach-v3, push-v3, pick-place-v3 (lifelong_rl/envs/goal_env.py), or a
gymnasium-robotics Fetch task (gym/FetchReach-v4, ...) where that package is installed.

The agent sees [observation, desired goal]; HER's buffer relabels sampled transitions with the
`future` strategy, k relabels per transition (default 4, the paper's), and recomputes their
rewards with the env's compute_reward. `her_kwargs/base` picks the off-policy method; its
trainer keys are those below (the ones marked for the other methods must keep their defaults).

Files that define its behaviour: lifelong_rl/data_management/her_buffer.py (the relabelling),
lifelong_rl/envs/goal_env.py, and the base method's trainer (lifelong_rl/trainers/sac.py or td3.py).
"""
from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any, Dict

from experiment_configs.algorithms.off_policy import (OFF_POLICY_QUICK, build_off_policy, check_env, off_policy_evaluation,
                                                      off_policy_schema)
from experiment_configs.common import Run, check_buffer_size, sac_trainer_schema
from experiment_configs.configs.q_learning.ddpg import ddpg_agent
from experiment_configs.configs.q_learning.sac import sac_agent
from experiment_configs.configs.q_learning.td3 import exploration_schema, schema as td3_schema, td3_agent
from lifelong_rl.data_management.fields import Field, transition_fields
from lifelong_rl.data_management.her_buffer import HERReplayBuffer
from lifelong_rl.envs.goal_env import FlatGoalEnv, not_a_goal_env
from lifelong_rl.variants import ConfigError, Param, Schema, defaults

NAME = "her"
BASES = {"sac": sac_agent, "td3": td3_agent, "ddpg": ddpg_agent}
SAC_ONLY = set(sac_trainer_schema()) - set(td3_schema()["trainer_kwargs"])
TD3_ONLY = {"policy_delay", "target_noise", "target_noise_clip"}
UNUSED_BY = {"sac": TD3_ONLY, "td3": SAC_ONLY, "ddpg": SAC_ONLY | TD3_ONLY}  # trainer keys a base does not take


def schema() -> Schema:
    td3_keys = td3_schema()["trainer_kwargs"]
    trainer = {**sac_trainer_schema(), **{k: td3_keys[k] for k in TD3_ONLY}}
    for keys, base in ((SAC_ONLY, "sac"), (TD3_ONLY, "td3")):
        for k in keys:
            trainer[k] = dataclasses.replace(trainer[k], doc=f"({base} only) {trainer[k].doc}")
    s = off_policy_schema(NAME, trainer, exploration_kwargs=exploration_schema("gaussian", 0.1), her_kwargs={
        "base": Param("sac", "the off-policy method under HER", "str", choices=tuple(BASES)),
        "relabels_per_transition": Param(4, "k: relabelled samples per original one (a share k/(k+1) of each batch)",
                                         "int", low=0),
    })
    s["env"] = Param("goal/metaworld/reach-v3", "a goal env: goal/metaworld/<reach|push|pick-place>-v3 or gym/Fetch<Task>-v4", "str")
    s["trainer_kwargs"]["discount"] = dataclasses.replace(s["trainer_kwargs"]["discount"], default=0.98,
                                                          doc="discount factor gamma (0.98: the HER paper's)")
    return s


QUICK = OFF_POLICY_QUICK
CONTRACT_CASES = {"sac_reach": {}, "td3_push": {"env": "goal/metaworld/push-v3", "her_kwargs": {"base": "td3"}}}
if importlib.util.find_spec("gymnasium_robotics"):  # the robotics extra
    CONTRACT_CASES["ddpg_fetch"] = {"env": "gym/FetchReach-v4", "her_kwargs": {"base": "ddpg"}}


def check(variant: Dict[str, Any]) -> None:
    env = check_env(variant)  # a goal/ env is a goal env by its name; a gym one is built to see
    check_buffer_size(variant)
    if env is not None and not isinstance(env, FlatGoalEnv) or variant["env"].startswith("metaworld/"):
        raise ConfigError(not_a_goal_env(variant["env"]))
    base, d = variant["her_kwargs"]["base"], defaults(schema())
    unused = [f"trainer_kwargs/{k}" for k in sorted(UNUSED_BY[base]) if variant["trainer_kwargs"][k] != d["trainer_kwargs"][k]]
    if base == "sac":
        unused += [f"exploration_kwargs/{k}" for k, x in variant["exploration_kwargs"].items() if x != d["exploration_kwargs"][k]]
    if unused:
        raise ConfigError(f"her_kwargs/base={base} does not use {', '.join(unused)}")


def her_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device) -> Dict[str, Any]:
    base = variant["her_kwargs"]["base"]
    v = {**variant, "trainer_kwargs": {k: x for k, x in variant["trainer_kwargs"].items() if k not in UNUSED_BY[base]}}
    return BASES[base](v, obs_dim, action_dim, device)


def her_buffer(variant: Dict[str, Any], env, seed: int) -> HERReplayBuffer:
    fields = transition_fields(env.observation_space.shape[0], env.action_space.shape[0],
                               achieved_goals=Field((env.goal_dim,)))
    return HERReplayBuffer(variant["replay_buffer_size"], fields, env.goal_dim, env.compute_reward,
                           variant["her_kwargs"]["relabels_per_transition"], seed=seed)


def build(run: Run):
    return build_off_policy(run, her_agent, her_buffer)


def evaluation_setup(run: Run, env_seed=None):
    return off_policy_evaluation(run, her_agent, env_seed)
