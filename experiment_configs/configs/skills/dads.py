"""DADS (Sharma et al. 2019, "Dynamics-Aware Unsupervised Discovery of Skills"): a skill-conditioned
policy pi(a | s, z) trained by SAC on the contrastive intrinsic reward of a skill-dynamics model
q(s' - s | s, z), with a skill z ~ U(-1, 1)^d held through each episode. No env reward is used.

Defaults: Lu et al.'s `run_scripts/dads.py` (gridworld/blank, 2-D skills, [256, 256] policy and
critics, [512, 512] skill dynamics, 2000 env steps then 128 SAC updates per epoch, episodes of 100
steps, L = 512 alternatives, reward scale 5 within (-30, 30)). Their 32 skill-dynamics steps per
epoch on the epoch's data are here one step every `dads_kwargs/discriminator_every` = 4 updates on
batches of the replay buffer, which holds only the last `replay_buffer_size` = 10,000 steps (their
on-policy skill buffer's size): the recent data.

Files that define its behaviour: lifelong_rl/trainers/skills.py (the reward and losses),
lifelong_rl/trainers/sac.py, lifelong_rl/policies/skill_policy.py (the held skill),
lifelong_rl/core/schedules.py (OffPolicySchedule with loop=batch).
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.off_policy import OFF_POLICY_QUICK, build_off_policy, check_off_policy, off_policy_evaluation, off_policy_schema
from experiment_configs.common import Run, sac_trainer_schema
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.data_management.fields import Field, transition_fields
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.skill_policy import SkillPolicy
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.trainers.sac import SACTrainer
from lifelong_rl.trainers.skills import DADSTrainer, SkillDynamics
from lifelong_rl.variants import ConfigError, Param, Schema

NAME = "dads"


def skill_schema(latent_dim: int, num_prior_samples: int, reward_scale: float) -> Schema:
    """The keys DADS and LiSP share: the skill space, the skill dynamics and the intrinsic reward."""
    return {
        "latent_dim": Param(latent_dim, "skill dimension d (skills in [-1, 1]^d)", "int", low=1),
        "discriminator_hidden_sizes": Param([512, 512], "skill dynamics q(ds | s, z): hidden layer sizes", "ints"),
        "discriminator_lr": Param(3e-4, "skill dynamics: Adam learning rate (betas 0, 0.9)", "float", low=0.0),
        "num_prior_samples": Param(num_prior_samples, "L: alternative skills per transition in the intrinsic reward",
                                   "int", low=1),
        "reward_bounds": Param([-30.0, 30.0], "the intrinsic reward is clipped to [low, high] before and after scaling",
                               "floats"),
        "reward_scale": Param(reward_scale, "the intrinsic reward's scale", "float", low=0.0),
    }


def check_skill_keys(variant: Dict[str, Any], group: str) -> None:
    lo_hi = variant[group]["reward_bounds"]
    if len(lo_hi) != 2 or not lo_hi[0] < lo_hi[1]:
        raise ConfigError(f"{group}/reward_bounds must be two floats [low, high] with low < high, not {lo_hi}")


def schema() -> Schema:
    s = off_policy_schema(NAME, sac_trainer_schema(), dads_kwargs={
        **skill_schema(2, 512, 5.0),
        "discriminator_every": Param(4, "a skill-dynamics step before every N-th SAC update", "int", low=1),
        "eval_resample_every": Param(0, "evaluation: a new skill every N steps; 0: one per episode", "int", low=0),
    })
    s["env"] = Param("gridworld/blank", "the env skills are learned in (its reward is not used)", "str")
    s["replay_buffer_size"] = Param(10_000, "the recent steps the skill dynamics and SAC learn from", "int", low=1)
    ak = s["algorithm_kwargs"]
    ak["loop"] = Param("batch", ak["loop"].doc, "str", choices=("online", "batch"))
    ak["max_path_length"] = Param(100, "episode length (one skill each)", "int", low=1)
    ak["num_expl_steps_per_train_loop"] = Param(2000, "env steps per train loop", "int", low=1)
    ak["num_trains_per_train_loop"] = Param(128, "SAC updates per train loop", "int", low=0)
    ak["num_eval_steps_per_epoch"] = Param(500, "evaluation steps per epoch (whole episodes, a skill each); 0: none",
                                           "int", low=0)
    ak["min_num_steps_before_training"] = Param(0, "must be 0: every step acts with a skill", "int", low=0, high=0)
    return s


QUICK = {**OFF_POLICY_QUICK, "algorithm_kwargs/min_num_steps_before_training": 0, "algorithm_kwargs/max_path_length": 30,
         "algorithm_kwargs/num_eval_steps_per_epoch": 30, "dads_kwargs/discriminator_hidden_sizes": [32, 32],
         "dads_kwargs/num_prior_samples": 16}
CONTRACT_CASES = {"blank": {}, "volcano_online": {"env": "gridworld/volcano", "algorithm_kwargs": {"loop": "online"}}}


def check(variant: Dict[str, Any]) -> None:
    check_off_policy(variant)
    check_skill_keys(variant, "dads_kwargs")
    if variant["algorithm_kwargs"]["reset_free"]:
        raise ConfigError("DADS holds a skill per episode: algorithm_kwargs/reset_free must be false")


def skill_sac(variant: Dict[str, Any], obs_dim: int, action_dim: int, latent_dim: int, device: torch.device) -> SACTrainer:
    """SAC of the skill policy pi(a | s, z): actor and twin critics on [s, z]."""
    pi, q = variant["policy_kwargs"], variant["qf_kwargs"]
    policy = TanhGaussianPolicy(obs_dim + latent_dim, action_dim, **pi).to(device)
    qfs = ParallelizedEnsemble(2, obs_dim + latent_dim + action_dim, 1, **q).to(device)
    return SACTrainer(policy, qfs, action_dim, **variant["trainer_kwargs"])


def dads_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device,
               seeds: RunSeeds) -> Dict[str, Any]:
    d = variant["dads_kwargs"]
    sac = skill_sac(variant, obs_dim, action_dim, d["latent_dim"], device)
    q = SkillDynamics(obs_dim, d["latent_dim"], d["discriminator_hidden_sizes"]).to(device)
    trainer = DADSTrainer(sac, q, d["latent_dim"], d["discriminator_lr"], d["num_prior_samples"], d["reward_bounds"],
                          d["reward_scale"], d["discriminator_every"])
    return {"trainer": trainer,
            "exploration_policy": SkillPolicy(sac.policy, d["latent_dim"], seed=seeds.child("skills/exploration")),
            "evaluation_policy": SkillPolicy(sac.policy, d["latent_dim"], deterministic=True,
                                             resample_every=d["eval_resample_every"], seed=seeds.child("skills/evaluation"))}


def skill_buffer(variant: Dict[str, Any], env, seed: int) -> ReplayBuffer:
    """The replay buffer with each step's skill."""
    fields = transition_fields(env.observation_space.shape[0], env.action_space.shape[0],
                               skills=Field((variant["dads_kwargs"]["latent_dim"],)))
    return ReplayBuffer(variant["replay_buffer_size"], fields, seed=seed)


def build(run: Run):
    return build_off_policy(run, lambda *a: dads_agent(*a, seeds=run.seeds), make_buffer=skill_buffer)


def evaluation_setup(run: Run, env_seed=None):
    return off_policy_evaluation(run, lambda *a: dads_agent(*a, seeds=run.seeds), env_seed)
