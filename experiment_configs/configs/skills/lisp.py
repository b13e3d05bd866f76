"""LiSP (Lu, Grover, Abbeel, Mordatch 2021, "Reset-Free Lifelong Learning with Skill-Space Planning"):
skills learned on 1-step rollouts of a learned dynamics ensemble, and MPPI over sequences of skills
to act, reset-free.

Per env step (ModelBasedSchedule, reset-free collector): maybe refit the ensemble on the real
buffer; plan over skills and act (once per held skill: lifelong_rl/policies/skill_policy.py
SkillMPCPolicy); store the step; every 1 / (num_trains_per_train_loop / num_expl_steps_per_train_loop)
env steps one skill iteration (lifelong_rl/trainers/skills.py LiSPTrainer: model rollouts from
`algorithm_kwargs/batch_size` real states with skills from the practice distribution p(z | s), the
skill-dynamics steps, the intrinsic reward with the disagreement penalty, SAC steps of pi(a | s, z) and
of p(z | s)). With `offline_kwargs/teacher_data_files`, an offline phase first: the model fitted to
the datasets and skill iterations from their states, no env steps (Lu et al.'s offline pretraining).

The planner's reward (`lisp_kwargs/planning_reward`): the ensemble's learned reward head, or (lifelong/
envs) the task's reward at the env's current v*, as a planner that is told its task. Where the
ensemble's elites disagree beyond `disagreement_threshold` the planned reward is -`planning_penalty`
(Lu et al.'s script sets -20 beyond 0.1 and never reads it).

Defaults: Lu et al.'s LiSP settings (`run_scripts/lisp.py`: 4-D skills, each held 3 steps; 400 start
states, 4 skill-dynamics, 8 policy and 4 practice updates per skill iteration, one iteration per 10
env steps; a skill buffer of 5000; L = 32; reward scale 10 within (-30, 30); kappa 30 beyond a
disagreement of 0.1; 5 members), except the planner, sized for a 2-core CPU: 5 skills x 3 steps
(a 15-step horizon), 32 candidates, 2 MPPI iterations, one particle per elite, planning once per
held skill (about 30 ms per env step on one core; a skill iteration takes about 0.5 s). `--preset gpu`
has their sizes: 60 skills x 3 steps, 400 candidates, 5 particles per member, 10 iterations,
temperature 0.01. Their ensemble is [256] * 4; here [200] * 4 (MBPO's), with a fit capped at 2000
gradient steps every 250 env steps where theirs runs about 1000 steps every 10.

Files that define its behaviour: lifelong_rl/trainers/skills.py, lifelong_rl/policies/skill_policy.py,
lifelong_rl/models/dynamics.py, lifelong_rl/trainers/dynamics_trainer.py, lifelong_rl/planners/planners.py,
lifelong_rl/core/schedules.py (ModelBasedSchedule), lifelong_rl/samplers/collectors.py
(ResetFreeCollector), experiment_configs/algorithms/offline.py (the offline phase).
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.model_based import check_model, dynamics, make_planner, model_schema, planner_schema
from experiment_configs.algorithms.off_policy import OFF_POLICY_QUICK, off_policy_evaluation, off_policy_schema
from experiment_configs.algorithms.offline import build_phased, check_offline, offline_schema
from experiment_configs.common import Run, check_buffer_size, sac_trainer_schema
from experiment_configs.configs.model_based.mpc import MODEL_QUICK
from experiment_configs.configs.skills.dads import check_skill_keys, skill_sac, skill_schema
from lifelong_rl.core.schedules import ModelBasedSchedule
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.envs.lifelong import TaskReward
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.skill_policy import SkillMPCPolicy, SkillPolicy
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.trainers.model_based import ModelBasedTrainer
from lifelong_rl.trainers.sac import SACTrainer
from lifelong_rl.trainers.skills import LiSPTrainer, SkillDynamics
from lifelong_rl.variants import ConfigError, Param, Schema

NAME = "lisp"


def schema() -> Schema:
    s = off_policy_schema(
        NAME, sac_trainer_schema(),
        **model_schema(train_every=250, ensemble_size=5, num_elites=5),
        **planner_schema(planner="mppi", horizon=5, population=32, iterations=2, num_particles=1),
        **offline_schema(num_epochs=0, trains_per_epoch=100),
        lisp_kwargs={
            **skill_schema(4, 32, 10.0),
            "repeat": Param(3, "env steps each planned skill is held (the planner replans once per held skill)", "int", low=1),
            "skill_buffer_size": Param(5000, "generated skill transitions kept (the last N)", "int", low=1),
            "discriminator_updates": Param(4, "skill-dynamics steps per skill iteration, on its fresh rollouts", "int", low=0),
            "policy_updates": Param(8, "SAC steps of the skill policy per skill iteration", "int", low=0),
            "practice_updates": Param(4, "SAC steps of the skill-practice distribution per skill iteration", "int", low=0),
            "skill_batch_size": Param(256, "batch of the skill-dynamics and SAC steps", "int", low=1),
            "practice_hidden_sizes": Param([256, 256], "skill-practice distribution p(z | s) and its critics: hidden sizes",
                                           "ints"),
            "disagreement_threshold": Param(0.1, "alpha_thres: the ensemble disagreement beyond which model data get "
                                            "-kappa and planned steps -planning_penalty", "float", low=0.0),
            "planning_penalty": Param(20.0, "the planner's reward where the ensemble disagrees", "float", low=0.0),
            "planning_reward": Param("learned", "learned: the ensemble's reward head; task: the lifelong/ env's reward "
                                     "at its current v* (the planner is told the task)", "str", choices=("learned", "task")),
            "evaluation": Param("planner", "the evaluation policy: planner (its own warm start), or uniform (a skill "
                                "from U(-1, 1)^d per episode, the skill policy's mode)", "str", choices=("planner", "uniform")),
        })
    s["env"] = Param("gridworld/volcano", "lifelong/<hopper|ant>, gridworld/<world>, gym/<Id> or metaworld/<task>-v3", "str")
    p = s["planner_kwargs"]
    p["horizon"] = Param(5, "planning horizon H in skills, each held lisp_kwargs/repeat env steps", "int", low=1)
    p["iterations"] = Param(2, "optimiser iterations per plan (one plan per held skill)", "int", low=1)
    p["propagation"] = Param("ts_inf", "ts_inf only: a particle keeps its elite", "str", choices=("ts_inf",))
    s["model_kwargs"]["max_grad_steps"] = Param(2000, "at most this many gradient steps per fit; 0: no cap", "int", low=0)
    ak = s["algorithm_kwargs"]
    ak["reset_free"] = Param(True, ak["reset_free"].doc, "bool")
    ak["num_epochs"] = Param(20, "epochs of the online phase (one progress.csv row each)", "int", low=0)
    ak["batch_size"] = Param(400, "M: real states each skill iteration starts its model rollouts from", "int", low=1)
    ak["max_path_length"] = Param(200, "evaluation episode length; reset-free: the returns' bookkeeping segment", "int", low=0)
    ak["num_trains_per_train_loop"] = Param(100, "skill iterations per train loop (one per 10 env steps)", "int", low=0)
    ak["num_eval_steps_per_epoch"] = Param(200, "evaluation steps per epoch (whole episodes); 0: none", "int", low=0)
    ak["min_num_steps_before_training"] = Param(1000, "uniformly random steps before the first fit, counting the "
                                                "datasets' transitions already in the buffer", "int", low=0)
    return s


QUICK = {**OFF_POLICY_QUICK, **MODEL_QUICK, "algorithm_kwargs/batch_size": 32, "lisp_kwargs/skill_batch_size": 32,
         "lisp_kwargs/discriminator_hidden_sizes": [32, 32], "lisp_kwargs/practice_hidden_sizes": [32, 32],
         "lisp_kwargs/num_prior_samples": 8, "lisp_kwargs/skill_buffer_size": 500, "algorithm_kwargs/num_trains_per_train_loop": 10,
         "planner_kwargs/horizon": 3, "planner_kwargs/population": 8, "planner_kwargs/iterations": 2,
         "offline_kwargs/num_trains_per_epoch": 5, "offline_kwargs/num_epochs": 0}
PRESETS = {"gpu": {"planner_kwargs/horizon": 60, "planner_kwargs/population": 400, "planner_kwargs/iterations": 10,
                   "planner_kwargs/num_particles": 5, "planner_kwargs/temperature": 0.01, "planner_kwargs/init_std": 1.0,
                   "model_kwargs/hidden_sizes": [256, 256, 256, 256], "device": "cuda"}}
CONTRACT_CASES = {
    "volcano_reset_free": {},
    "hopper_task_reward": {"env": "lifelong/hopper", "env_kwargs": {"switch_every": 90},
                           "lisp_kwargs": {"planning_reward": "task", "evaluation": "uniform"}},
    "offline_then_online": {"env": "gym/Pendulum-v1", "offline_kwargs": {
        "teacher_data_files": ["examples/pendulum-random-v0"], "num_epochs": 2}, "algorithm_kwargs": {"reset_free": False}},
}


def check(variant: Dict[str, Any]) -> None:
    check_model(variant)
    check_buffer_size(variant)
    check_skill_keys(variant, "lisp_kwargs")
    if variant["lisp_kwargs"]["planning_reward"] == "task" and not variant["env"].startswith("lifelong/"):
        raise ConfigError(f"lisp_kwargs/planning_reward=task needs a lifelong/ env (its reward at the current v*), "
                          f"not '{variant['env']}'; use learned")
    check_offline(variant)


def check_evaluation(variant: Dict[str, Any]) -> None:
    check_model(variant)


def lisp_agent(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device,
               seeds: RunSeeds) -> Dict[str, Any]:
    """The ensemble and its fit, the skill policy's and the practice distribution's SAC, the skill
    dynamics, the LiSP trainer, and the planners (their task reward, if any, is bound to an env by
    the caller: `bind_task_rewards`)."""
    lk, d = variant["lisp_kwargs"], variant["lisp_kwargs"]["latent_dim"]
    fit, model = dynamics(variant, obs_dim, action_dim, device, seeds)
    skill = skill_sac(variant, obs_dim, action_dim, d, device)
    practice_policy = TanhGaussianPolicy(obs_dim, d, lk["practice_hidden_sizes"]).to(device)
    practice_qfs = ParallelizedEnsemble(2, obs_dim + d, 1, lk["practice_hidden_sizes"]).to(device)
    practice = SACTrainer(practice_policy, practice_qfs, d, **variant["trainer_kwargs"])
    q = SkillDynamics(obs_dim, d, lk["discriminator_hidden_sizes"]).to(device)
    lisp = LiSPTrainer(skill, practice, q, model, d, lk["skill_buffer_size"], lk["discriminator_updates"],
                       lk["policy_updates"], lk["practice_updates"], lk["skill_batch_size"], lk["discriminator_lr"],
                       lk["num_prior_samples"], lk["reward_bounds"], lk["reward_scale"], lk["disagreement_threshold"],
                       seed=seeds.child("skill_buffer"))

    def planner() -> SkillMPCPolicy:
        task = TaskReward(variant["env"].split("/", 1)[1]) if lk["planning_reward"] == "task" else None
        return SkillMPCPolicy(model, skill.policy, make_planner(variant, d), lk["repeat"],
                              variant["planner_kwargs"]["num_particles"], variant["planner_kwargs"]["discount"], task,
                              lk["disagreement_threshold"], lk["planning_penalty"], str(device))

    explore = planner()
    evaluate = planner() if lk["evaluation"] == "planner" else \
        SkillPolicy(skill.policy, d, deterministic=True, seed=seeds.child("skills/evaluation"))
    return {"trainer": ModelBasedTrainer(fit, lisp), "exploration_policy": explore, "evaluation_policy": evaluate,
            "schedule_kwargs": {"model_train_every": variant["model_kwargs"]["train_every"], "planners": [explore]}}


def bind_task_rewards(policy, env) -> None:
    """A planner told the task scores with `env`'s reward at its current v*."""
    if isinstance(policy, SkillMPCPolicy) and isinstance(policy.reward_fn, TaskReward):
        policy.reward_fn.bind(env)


def build(run: Run):
    agents = []

    def agent(*args):
        agents.append(lisp_agent(*args, seeds=run.seeds))
        return agents[-1]

    loop, envs = build_phased(run, agent, ModelBasedSchedule)
    expl_env, eval_env = envs
    bind_task_rewards(agents[0]["exploration_policy"], expl_env)
    bind_task_rewards(agents[0]["evaluation_policy"], eval_env)
    return loop, envs


def evaluation_setup(run: Run, env_seed=None):
    trainer, entries = off_policy_evaluation(run, lambda *a: lisp_agent(*a, seeds=run.seeds), env_seed)
    for _, env, policy in entries:
        bind_task_rewards(policy, env)
    return trainer, entries
